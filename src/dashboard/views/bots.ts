// The bots list with the "add a bot" form, and one bot's page: linking (QR + deep link, turning
// to "linked" by itself), delivery mode and health, failed messages, unlink and delete.
import type { OutgoingRow, PluginRow } from "../../db/schema.ts";
import { html, raw, type SafeHtml } from "../html.ts";
import { csrfField, layout, when, type Viewer } from "./layout.ts";
import type { BotHealth } from "../bot-actions.ts";

export function botsPage(viewer: Viewer, bots: PluginRow[], opts: { error?: string; status?: string } = {}): SafeHtml {
  return layout(
    "Bots",
    viewer,
    html`
${bots.length ? html`<ul class="bots">${bots.map((b) => html`<li><a href="/bots/${Number(b.id)}">${b.identificador}</a> <small>${b.verificado ? "linked" : "not linked yet"}</small></li>`)}</ul>` : html`<p>No bots yet.</p>`}
<h2>Add a bot</h2>
<form method="post" action="/bots" class="add-bot">
${csrfField(viewer.csrf)}
<label for="token">Bot token</label>
<input id="token" name="token" type="password" autocomplete="off" required placeholder="123456789:AAH…" spellcheck="false">
<small>In Telegram, talk to <a href="https://t.me/BotFather">@BotFather</a>: <code>/newbot</code> creates a bot and shows its token (<code>/mybots</code> → API Token shows it again).</small>
${opts.error ? html`<p class="error" role="alert">${opts.error}</p>` : ""}
<button type="submit" id="add-bot">Add bot</button>
</form>`,
    { status: opts.status },
  );
}

export interface BotPageData {
  bot: PluginRow;
  deepLink: string;
  qrSvg: string;
  health: BotHealth;
  failed: OutgoingRow[];
  taskCount: number;
}

function linking(d: BotPageData): SafeHtml {
  const id = Number(d.bot.id);
  if (d.bot.verificado) {
    return html`<p id="link-state" class="linked">✓ Linked to chat ${String(d.bot.chat_id_verificado)}. Send the bot a message: it becomes a task.</p>`;
  }
  return html`<section id="link-state" data-link-status="/bots/${id}/status.json">
<p><strong>Not linked yet.</strong> Open this link on the phone where you use Telegram, or scan the code, and press <em>Start</em>:</p>
<p><a id="deep-link" href="${d.deepLink}">${d.deepLink}</a></p>
<div class="qr">${raw(d.qrSvg)}</div>
<p><small>Waiting for your /start… this page updates by itself.${d.bot.bloqueado_en !== null ? " (Linking is locked after too many wrong codes: unlink to get a new code.)" : ""}</small></p>
</section>`;
}

function health(h: BotHealth): SafeHtml {
  const rows: SafeHtml[] = [html`<dt>Delivery</dt><dd id="delivery-mode">${h.mode}</dd>`];
  if (h.webhook && h.mode === "webhook") {
    rows.push(html`<dt>Webhook URL</dt><dd>${h.webhook.url}</dd>`);
    rows.push(html`<dt>Points here</dt><dd>${h.webhook.ours ? "yes" : "no — another server or plugin receives this bot's updates"}</dd>`);
    rows.push(html`<dt>Pending updates</dt><dd>${h.webhook.pending}</dd>`);
    rows.push(html`<dt>Last error</dt><dd>${h.webhook.lastError ?? "none"}</dd>`);
  }
  if (h.mode === "polling") {
    if (h.polling.length) for (const [k, v] of h.polling) rows.push(html`<dt>${k}</dt><dd>${v}</dd>`);
    else rows.push(html`<dt>Polling</dt><dd>no poll recorded yet</dd>`);
  }
  if (h.error) rows.push(html`<dt>Telegram</dt><dd class="error">${h.error}</dd>`);
  return html`<dl class="kv">${rows}</dl>`;
}

export function botPage(viewer: Viewer, d: BotPageData, status?: string): SafeHtml {
  const id = Number(d.bot.id);
  const form = (action: string, label: string, extra: SafeHtml | string = "") =>
    html`<form method="post" action="/bots/${id}/${action}" class="inline" ${extra}>${csrfField(viewer.csrf)}<button type="submit" id="bot-${action}">${label}</button></form>`;
  return layout(
    d.bot.identificador,
    viewer,
    html`
${linking(d)}
<h2>Health</h2>
${health(d.health)}
<h2>Messages that failed</h2>
${
  d.failed.length
    ? html`<ul class="messages">${d.failed.map(
        (
          m,
        ) => html`<li>${m.text}<br><small>to chat ${String(m.chat_id)} · ${when(Number(m.created_at))} · <span class="error">${m.last_error ?? "unknown error"}</span></small>
<form method="post" action="/bots/${id}/messages/${Number(m.id)}/retry" class="inline">${csrfField(viewer.csrf)}<button type="submit">Retry</button></form></li>`,
      )}</ul>`
    : html`<p>None.</p>`
}
<h2>Manage</h2>
<p><a href="/?bot=${id}">This bot's tasks</a> (${d.taskCount})</p>
<p>${form("unlink", "Unlink (new code)", raw(`data-confirm="Unlink this bot from its chat? Messages will create no tasks until you link it again."`))}
${form("delete", "Delete bot", raw(`data-confirm="Delete this bot and its ${d.taskCount} task(s)? This cannot be undone."`))}</p>
`,
    { status },
  );
}
