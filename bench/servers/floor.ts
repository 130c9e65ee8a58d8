// Benchmark 1e, the floor: the least any server can do that keeps Joe's promise ("a 200 means
// the update is committed, on disk, exactly once"). Fastify, the raw body, JSON.parse, a check of
// the few fields it writes, then group commit — the updates read in one turn of the event loop
// written in ONE better-sqlite3 transaction of prepared statements (the dedupe mark, the task,
// the confirmation row; the same tables and indexes as Joe's), WAL + synchronous=FULL — and 200
// after the commit. No validation of the rest of the update, no plugin lookup, no query builder,
// no link/lockout logic. What this server reaches on the machine bounds what Joe can reach.
//
// Env: PORT, DB_FILE, WEBHOOK_SECRET, LINKED_CHAT_ID, PLUGIN_ID.
import Fastify from "fastify";
import Database from "better-sqlite3";

const env = (k: string): string => {
  const v = process.env[k];
  if (!v) throw new Error(`floor: ${k} is required`);
  return v;
};
const secret = env("WEBHOOK_SECRET");
const linkedChat = Number(env("LINKED_CHAT_ID"));
const pluginId = Number(env("PLUGIN_ID"));

const db = new Database(env("DB_FILE"));
db.pragma("journal_mode = WAL");
db.pragma("synchronous = FULL");
db.exec(`
  create table if not exists processed_updates (
    plugin_id integer not null, update_id integer not null, chat_id integer, message_id integer,
    outcome text not null, received_at integer not null, primary key (plugin_id, update_id)) without rowid;
  create table if not exists tasks (
    id integer primary key, codigo text not null, usuario_id integer not null,
    plugin_id integer not null, tipo text not null, titulo text not null, estado text not null,
    chat_id integer not null, message_id integer not null, metadatos_extra text not null,
    created_at text not null, unique (plugin_id, chat_id, message_id));
  create table if not exists outgoing_messages (
    id integer primary key, plugin_id integer not null, chat_id integer not null, kind text not null,
    text text not null, reply_to_message_id integer, task_id integer, status text not null,
    attempts integer not null default 0, next_attempt_at integer not null, claimed_until integer,
    last_error text, telegram_message_id integer, created_at integer not null, sent_at integer);
  create index if not exists outgoing_open_idx on outgoing_messages (id) where status in ('pending', 'sending');
  create index if not exists outgoing_open_chat_idx on outgoing_messages (plugin_id, chat_id, id) where status in ('pending', 'sending');
`);

const mark = db.prepare(`insert into processed_updates (plugin_id, update_id, chat_id, message_id, outcome, received_at)
  values (?, ?, ?, ?, 'task', ?) on conflict do nothing`);
const insertTask = db.prepare(`insert into tasks
  (id, codigo, usuario_id, plugin_id, tipo, titulo, estado, chat_id, message_id, metadatos_extra, created_at)
  values (?, ?, 1, ?, 'telegram', ?, 'queued', ?, ?, ?, ?) on conflict do nothing`);
const insertOutgoing = db.prepare(`insert into outgoing_messages
  (plugin_id, chat_id, kind, text, reply_to_message_id, task_id, status, next_attempt_at, created_at)
  values (?, ?, 'confirmation', ?, ?, ?, 'pending', ?, ?)`);

interface Item {
  updateId: number;
  chatId: number;
  messageId: number;
  text: string;
  done: () => void;
}
let seq = Number((db.prepare("select coalesce(max(id), 0) as m from tasks").get() as { m: number }).m);
const writeBatch = db.transaction((items: Item[]) => {
  const now = Date.now();
  const created = new Date(now).toISOString();
  for (const it of items) {
    if (mark.run(pluginId, it.updateId, it.chatId, it.messageId, now).changes === 0) continue;
    const id = ++seq;
    const codigo = `T-${id.toString(36).toUpperCase().padStart(4, "0")}`;
    const titulo = it.text.length > 200 ? it.text.slice(0, 199) + "…" : it.text;
    const meta = JSON.stringify({ chat_id: it.chatId, message_id: it.messageId, plugin_id: pluginId, owner_id: 1, texto_original: it.text });
    if (insertTask.run(id, codigo, pluginId, titulo, it.chatId, it.messageId, meta, created).changes === 0) continue;
    insertOutgoing.run(pluginId, it.chatId, `✅ Recibido. Encolando... [${codigo}]`, it.messageId, id, now, now);
  }
});

let queue: Item[] = [];
let scheduled = false;
function flush(): void {
  scheduled = false;
  const batch = queue;
  queue = [];
  writeBatch(batch); // synchronous: committed (and fsynced) when it returns
  for (const it of batch) it.done();
}

const app = Fastify({ logger: false, routerOptions: { ignoreTrailingSlash: true }, bodyLimit: 256 * 1024 });
app.addContentTypeParser("application/json", { parseAs: "buffer" }, (_req, body, done) => done(null, body));
app.get("/healthz", async () => ({ ok: true }));
app.post("/plugins/telegram/webhook/:pluginId/", (req, reply) => {
  if (req.headers["x-telegram-bot-api-secret-token"] !== secret) return void reply.code(401).send();
  const u = JSON.parse((req.body as Buffer).toString("utf8"));
  const m = u?.message;
  if (typeof u?.update_id !== "number" || typeof m?.message_id !== "number" || m?.chat?.id !== linkedChat || typeof m?.text !== "string") {
    return void reply.code(200).send({ ok: true });
  }
  queue.push({
    updateId: u.update_id,
    chatId: m.chat.id,
    messageId: m.message_id,
    text: m.text,
    done: () => void reply.type("application/json").send('{"ok":true}'),
  });
  if (!scheduled) {
    scheduled = true;
    setImmediate(flush);
  }
});

await app.listen({ port: Number(process.env.PORT ?? 0), host: "127.0.0.1" });
process.stdout.write("ready\n");
const stop = () =>
  void app.close().then(() => {
    db.close();
    process.exit(0);
  });
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
