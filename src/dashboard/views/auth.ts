// Sign-in pages: how to get a link, the button that redeems one, and error pages.
import { html } from "../html.ts";
import { csrfField, layout } from "./layout.ts";

export function signInPage(message?: string) {
  return layout(
    "Sign in",
    null,
    html`
${message ? html`<p class="error" role="alert">${message}</p>` : ""}
<p>The dashboard signs you in with a one-time link. On the machine that runs Joe, type:</p>
<pre><code>npx joe-telegram user login-link &lt;username&gt;</code></pre>
<p>and open the link it prints (it works once, for 15 minutes).</p>
<p>On the very first start, <code>npm start</code> creates the user <code>admin</code> and prints its link.</p>`,
  );
}

/** Shown for GET /login/:token; the link is used up only by the POST (link previews do not sign anyone in). */
export function confirmSignInPage(token: string, csrf: string) {
  return layout(
    "Sign in",
    null,
    html`
<form method="post" action="/login/${token}">
${csrfField(csrf)}
<p>This link signs this browser in to Joe's dashboard.</p>
<button type="submit" id="sign-in">Sign in</button>
</form>`,
  );
}

export function errorPage(title: string, message: string, viewer: Parameters<typeof layout>[1] = null) {
  return layout(title, viewer, html`<p class="error" role="alert">${message}</p><p><a href="/">Back to the dashboard</a></p>`);
}
