// Benchmark 1d: what a user would write with grammY. `webhookCallback(bot, "fastify")` on
// Fastify, a `message:text` handler that writes the task and the confirmation (as a row for a
// sender to pick up later, like Joe: no sendMessage inside the request) in ONE transaction per
// update, with better-sqlite3 directly, WAL + synchronous=FULL like Joe (so a 200 also means
// "committed"). Tables shaped roughly like Joe's. grammY gets `botInfo` so it never calls getMe.
//
// Env: PORT, DB_FILE, BOT_TOKEN, WEBHOOK_SECRET, LINKED_CHAT_ID, PLUGIN_ID, TELEGRAM_API_ROOT.
import Fastify from "fastify";
import Database from "better-sqlite3";
import { Bot, webhookCallback } from "grammy";

const env = (k: string): string => {
  const v = process.env[k];
  if (!v) throw new Error(`grammy-naive: ${k} is required`);
  return v;
};
const token = env("BOT_TOKEN");
const linkedChat = Number(env("LINKED_CHAT_ID"));
const pluginId = Number(env("PLUGIN_ID"));

const db = new Database(env("DB_FILE"));
db.pragma("journal_mode = WAL");
db.pragma("synchronous = FULL");
db.pragma("busy_timeout = 5000");
db.exec(`
  create table if not exists tasks (
    id integer primary key, codigo text not null unique, usuario_id integer not null,
    plugin_id integer not null, tipo text not null, titulo text not null, estado text not null,
    chat_id integer not null, message_id integer not null, metadatos_extra text not null,
    created_at text not null, unique (plugin_id, chat_id, message_id));
  create table if not exists outgoing_messages (
    id integer primary key, plugin_id integer not null, chat_id integer not null, kind text not null,
    text text not null, reply_to_message_id integer, task_id integer, status text not null,
    attempts integer not null default 0, next_attempt_at integer not null, created_at integer not null);
  create index if not exists outgoing_due_idx on outgoing_messages (status, next_attempt_at);
`);

const insertTask = db.prepare(`insert into tasks
  (codigo, usuario_id, plugin_id, tipo, titulo, estado, chat_id, message_id, metadatos_extra, created_at)
  values (?, 1, ?, 'telegram', ?, 'queued', ?, ?, ?, ?)`);
const insertOutgoing = db.prepare(`insert into outgoing_messages
  (plugin_id, chat_id, kind, text, reply_to_message_id, task_id, status, next_attempt_at, created_at)
  values (?, ?, 'confirmation', ?, ?, ?, 'pending', ?, ?)`);

// Task codes from a counter (this process is the only writer).
let seq = Number((db.prepare("select coalesce(max(id), 0) as m from tasks").get() as { m: number }).m);
const saveTask = db.transaction((chatId: number, messageId: number, text: string) => {
  const now = Date.now();
  const codigo = `T-${(++seq).toString(36).toUpperCase().padStart(4, "0")}`;
  const titulo = text.length > 200 ? text.slice(0, 199) + "…" : text;
  const meta = JSON.stringify({ chat_id: chatId, message_id: messageId, plugin_id: pluginId, owner_id: 1, texto_original: text });
  const r = insertTask.run(codigo, pluginId, titulo, chatId, messageId, meta, new Date(now).toISOString());
  insertOutgoing.run(pluginId, chatId, `✅ Recibido. Encolando... [${codigo}]`, messageId, Number(r.lastInsertRowid), now, now);
});

const bot = new Bot(token, {
  botInfo: {
    id: Number(token.split(":")[0]),
    is_bot: true,
    first_name: "Bench Bot",
    username: "bench_naive_bot",
    can_join_groups: true,
    can_read_all_group_messages: false,
    supports_inline_queries: false,
    can_connect_to_business: false,
    has_main_web_app: false,
  } as never,
  client: { apiRoot: process.env.TELEGRAM_API_ROOT ?? "https://api.telegram.org" },
});
bot.on("message:text", (ctx) => {
  if (ctx.chat.id !== linkedChat) return; // one linked chat, as in Joe
  saveTask(ctx.chat.id, ctx.message.message_id, ctx.message.text);
});

const app = Fastify({ logger: false, routerOptions: { ignoreTrailingSlash: true } });
app.get("/healthz", async () => ({ ok: true }));
app.post("/plugins/telegram/webhook/:pluginId/", webhookCallback(bot, "fastify", { secretToken: env("WEBHOOK_SECRET") }));

await app.listen({ port: Number(process.env.PORT ?? 0), host: "127.0.0.1" });
process.stdout.write("ready\n");
const stop = () =>
  void app.close().then(() => {
    db.close();
    process.exit(0);
  });
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
