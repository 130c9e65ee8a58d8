// SQLite: a run of messages from linked chats written in one IMMEDIATE transaction of prepared
// statements, run synchronously on the connection. SQLite is in-process, so what costs here is
// not round trips but the way to the database: Kysely's executor and a promise per statement.
// The SQL is still Kysely's (compiled once per column list); only the execution is direct.
//
// Per row, in (plugin, update_id) order, the same checks as PostgreSQL's statement: the plugin
// still exists and (for a message) is still linked to that chat; the mark is new (or taken over
// from another message); the task is new (one per message); the reply goes with a new mark, a
// confirmation only with its new task; a new task gets its `task.created` event.
import type Sqlite from "better-sqlite3";
import { sql, type Compilable } from "kysely";
import type { Db, LinkedRunOutcome, LinkedRunRow, LinkedRunWriter } from "../dialect.ts";

type Row = Record<string, unknown>;

export function sqliteLinkedRun(native: Sqlite.Database): LinkedRunWriter {
  const statements = new Map<string, Sqlite.Statement>();
  /**
   * The statement Kysely compiles, prepared once per key (for an insert: its column list). Later
   * rows are bound in their key order, so check once that Kysely bound the first row's values so.
   */
  const prepared = (key: string, compile: () => Compilable<unknown>, first?: unknown[]): Sqlite.Statement => {
    let stmt = statements.get(key);
    if (!stmt) {
      const q = compile().compile();
      if (first && (q.parameters.length !== first.length || q.parameters.some((p, i) => p !== first[i]))) {
        throw new Error(`sqlite linked run: ${key} is not bound in key order`);
      }
      stmt = native.prepare(q.sql);
      statements.set(key, stmt);
    }
    return stmt;
  };
  const values = (row: Row) => Object.values(row).map((v) => (v === undefined ? null : v));

  const run = (db: Db, taskCount: number, build: (ids: number[]) => LinkedRunRow[], now: number) => {
    const maxId = prepared("max_task_id", () => db.selectFrom("tasks").select(sql<number>`coalesce(max(id), 0)`.as("m")));
    // One writer (this connection holds the write lock): nobody can take these ids before us.
    const first = Number((maxId.get() as { m: number }).m) + 1;
    const rows = build(Array.from({ length: taskCount }, (_, i) => first + i));
    const plugin = prepared("plugin_link", () => db.selectFrom("plugin_configs").select(["verificado", "chat_id_verificado"]).where("id", "=", 0));
    const links = new Map<number, { verificado: number; chat_id_verificado: number | null } | undefined>();
    const outcomes: LinkedRunOutcome[] = rows.map((r) => {
      if (!links.has(r.pluginId)) links.set(r.pluginId, plugin.get(r.pluginId) as never);
      const link = links.get(r.pluginId);
      const held = link !== undefined && (r.chatId === null || (Boolean(link.verificado) && link.chat_id_verificado !== null && Number(link.chat_id_verificado) === r.chatId));
      if (!held) return { stateHeld: false, marked: false, taskInserted: false };
      const mark = { plugin_id: r.pluginId, update_id: r.updateId, chat_id: r.chatId, message_id: r.messageId, outcome: r.outcome, received_at: now };
      const markValues = values(mark);
      // An existing mark for the same message is a duplicate; one naming another message (a
      // reused update_id) is taken over, as on PostgreSQL.
      const markStmt = prepared(`mark:${Object.keys(mark)}`, () => db.insertInto("processed_updates").values(mark)
        .onConflict((oc) => oc.columns(["plugin_id", "update_id"]).doUpdateSet((eb) => ({
          chat_id: eb.ref("excluded.chat_id"), message_id: eb.ref("excluded.message_id"),
          outcome: eb.ref("excluded.outcome"), received_at: eb.ref("excluded.received_at"),
        })).where((eb) => eb.or([
          eb("processed_updates.chat_id", "is distinct from", eb.ref("excluded.chat_id")),
          eb("processed_updates.message_id", "is distinct from", eb.ref("excluded.message_id")),
        ]))), markValues);
      if (markStmt.run(markValues).changes === 0) return { stateHeld: true, marked: false, taskInserted: false };
      let taskInserted = false;
      if (r.task) {
        const task = r.task;
        const taskValues = values(task);
        const taskStmt = prepared(`task:${Object.keys(task)}`, () => db.insertInto("tasks").values(task)
          .onConflict((oc) => oc.columns(["plugin_id", "chat_id", "message_id"]).doNothing()), taskValues);
        taskInserted = taskStmt.run(taskValues).changes > 0;
        if (taskInserted) {
          // Its `task.created` event, in the same transaction (events/append.ts).
          const event = { type: "task.created", usuario_id: task.usuario_id, plugin_id: task.plugin_id, task_id: task.id, at: now };
          const eventValues = values(event);
          prepared("event", () => db.insertInto("events").values(event), eventValues).run(eventValues);
        }
      }
      if (r.reply && (!r.task || taskInserted)) {
        const reply = r.reply;
        const replyValues = values(reply);
        prepared(`reply:${Object.keys(reply)}`, () => db.insertInto("outgoing_messages").values(reply), replyValues).run(replyValues);
      }
      return { stateHeld: true, marked: true, taskInserted };
    });
    return { rows, outcomes };
  };
  const transaction = native.transaction(run);

  return {
    async write(db, taskCount, build, now) {
      // Hold Kysely's connection (its mutex): no other transaction is open on it meanwhile.
      return db.connection().execute(async () => {
        // Inside an open transaction better-sqlite3 would make this a savepoint, whose "commit"
        // commits nothing: refuse rather than answer 200 for what is not on disk.
        if (native.inTransaction) throw new Error("sqlite linked run: a transaction is already open on the connection");
        return transaction.immediate(db, taskCount, build, now);
      });
    },
  };
}
