// The page frame: phone-first (viewport meta, one column), a classless stylesheet from npm
// (water.css), a few lines of our own CSS, and one small script for the live parts. Pages work
// without the script; it only adds live updates and confirmations.
import { html, type SafeHtml } from "../html.ts";

export interface Viewer {
  username: string;
  csrf: string;
}

export function csrfField(csrf: string): SafeHtml {
  return html`<input type="hidden" name="_csrf" value="${csrf}">`;
}

export function layout(title: string, viewer: Viewer | null, body: SafeHtml, opts: { status?: string } = {}): SafeHtml {
  const nav = viewer
    ? html`<nav><a href="/">Tasks</a> <a href="/bots">Bots</a>
        <form method="post" action="/logout" class="inline">${csrfField(viewer.csrf)}<button class="link" type="submit">Sign out (${viewer.username})</button></form></nav>`
    : html``;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Joe</title>
<link rel="stylesheet" href="/assets/water.min.css">
<link rel="stylesheet" href="/assets/dashboard.css">
<script src="/assets/dashboard.js" defer></script>
</head>
<body>
<header><strong>Joe</strong> ${nav}</header>
${opts.status ? html`<p class="notice" role="status">${opts.status}</p>` : ""}
<main>
<h1>${title}</h1>
${body}
</main>
</body>
</html>`;
}

/** "3 min ago" is not needed: an ISO-ish local time is short and unambiguous. */
export function when(iso: string | number): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toISOString().replace("T", " ").slice(0, 16) + " UTC";
}
