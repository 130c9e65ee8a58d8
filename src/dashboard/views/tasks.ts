// The task list (with its filters and the live hook) and a task's detail page.
import type { PublicTask } from "../../tasks/store.ts";
import type { OutgoingRow } from "../../db/schema.ts";
import { html, type SafeHtml } from "../html.ts";
import { csrfField, layout, when, type Viewer } from "./layout.ts";
import { ESTADOS, TIPOS, type TaskFilters } from "../queries.ts";
import type { TaskAction } from "../task-actions.ts";

export interface BotName {
  id: number;
  identificador: string;
}

const ESTADO_LABEL: Record<string, string> = {
  queued: "queued",
  in_progress: "in progress",
  done: "done",
  failed: "failed",
  cancelled: "cancelled",
};

function estadoBadge(estado: string): SafeHtml {
  return html`<span class="estado estado-${estado}">${ESTADO_LABEL[estado] ?? estado}</span>`;
}

/** One task in the list; also what the live endpoint sends for a new or changed task. */
export function taskItem(t: PublicTask, botName: string | undefined): SafeHtml {
  const voice = t.tipo === "telegram_voice";
  return html`<li id="task-${t.id}" data-id="${t.id}" class="task">
<a href="/tasks/${t.codigo}"><span class="codigo">${t.codigo}</span> ${voice ? "(voice) " : ""}${t.titulo}</a>
<small>${estadoBadge(t.estado)} ${botName ?? ""} · ${when(t.created_at)}</small>
</li>`;
}

function select(name: string, label: string, options: Array<[string, string]>, current: string | undefined): SafeHtml {
  return html`<label>${label}<select name="${name}"><option value="">all</option>${options.map(
    ([v, l]) => html`<option value="${v}"${v === current ? html` selected` : ""}>${l}</option>`,
  )}</select></label>`;
}

export function filtersQuery(f: TaskFilters): string {
  const p = new URLSearchParams();
  if (f.estado) p.set("estado", f.estado);
  if (f.tipo) p.set("tipo", f.tipo);
  if (f.pluginId !== undefined) p.set("bot", String(f.pluginId));
  if (f.q) p.set("q", f.q);
  return p.toString();
}

export function tasksPage(viewer: Viewer, tasks: PublicTask[], bots: BotName[], f: TaskFilters, live: { lastEventId: number }, status?: string): SafeHtml {
  const names = new Map(bots.map((b) => [b.id, b.identificador]));
  const after = tasks.length ? Math.max(...tasks.map((t) => t.id)) : 0;
  const filtered = !!(f.estado || f.tipo || f.pluginId !== undefined || f.q);
  const empty =
    bots.length === 0
      ? html`<p class="empty">No bots yet. <a href="/bots">Add your bot</a> (you need its token from @BotFather), then send it a message.</p>`
      : html`<p class="empty">${filtered ? "No task matches these filters." : "No tasks yet: send your bot a message and it appears here."}</p>`;
  return layout(
    "Tasks",
    viewer,
    html`
<form method="get" action="/" class="filters">
<label>Search<input type="search" name="q" value="${f.q ?? ""}" placeholder="text…"></label>
${select(
  "estado",
  "State",
  ESTADOS.map((e) => [e, ESTADO_LABEL[e]!]),
  f.estado,
)}
${select(
  "tipo",
  "Type",
  TIPOS.map((t) => [t, t === "telegram" ? "text" : "voice"]),
  f.tipo,
)}
${select(
  "bot",
  "Bot",
  bots.map((b) => [String(b.id), b.identificador]),
  f.pluginId === undefined ? undefined : String(f.pluginId),
)}
<button type="submit">Filter</button>
</form>
<ul id="tasks" class="tasks" data-live="/live.json" data-query="${filtersQuery(f)}" data-after="${after}" data-ev="${live.lastEventId}">
${tasks.map((t) => taskItem(t, names.get(t.plugin_id)))}
</ul>
${tasks.length ? "" : empty}`,
    { status },
  );
}

function kv(rows: Array<[string, unknown]>): SafeHtml {
  return html`<dl class="kv">${rows
    .filter(([, v]) => v !== undefined && v !== null && v !== "")
    .map(
      ([k, v]) => html`<dt>${k}</dt><dd>${typeof v === "string" || typeof v === "number" || typeof v === "boolean" ? String(v) : JSON.stringify(v)}</dd>`,
    )}</dl>`;
}

export function taskPage(viewer: Viewer, t: PublicTask, bot: string | undefined, messages: OutgoingRow[], actions: TaskAction[], status?: string): SafeHtml {
  const m = t.metadatos_extra;
  const texto = typeof m.texto_original === "string" ? m.texto_original : t.titulo;
  const transcript = typeof m.transcripcion === "string" ? m.transcripcion : null;
  const { texto_original: _t, transcripcion: _tr, ...rest } = m;
  const actionButtons = actions.map(
    (a) =>
      html`<form method="post" action="/tasks/${t.codigo}/${a}" class="inline">${csrfField(viewer.csrf)}<button type="submit" id="action-${a}">${a === "cancel" ? "Cancel task" : "Mark done"}</button></form>`,
  );
  return layout(
    `Task ${t.codigo}`,
    viewer,
    html`
<p>${estadoBadge(t.estado)} ${t.tipo === "telegram_voice" ? "voice note" : "text"} · ${bot ?? ""} · ${when(t.created_at)}</p>
${actionButtons.length ? html`<p class="actions">${actionButtons}</p>` : ""}
<h2>Text</h2>
<blockquote class="texto">${texto}</blockquote>
${transcript !== null ? html`<h2>Transcript</h2><blockquote>${transcript}</blockquote>` : m.pendiente_stt === true ? html`<p><em>Transcription pending.</em></p>` : ""}
<h2>Chat messages</h2>
${messages.length ? html`<ul class="messages">${messages.map((o) => html`<li>${o.text}<br><small>${o.kind} · <span class="delivery delivery-${o.status}">${o.status}</span>${o.attempts ? ` · ${o.attempts} attempt(s)` : ""}${o.last_error ? html` · <span class="error">${o.last_error}</span>` : ""}${o.sent_at ? ` · sent ${when(Number(o.sent_at))}` : ""}</small></li>`)}</ul>` : html`<p>None.</p>`}
<details><summary>Metadata</summary>${kv(Object.entries(rest))}</details>
<p><a href="/">← All tasks</a></p>`,
    { status },
  );
}
