// `tasks list`, and the inspection commands `updates unparsed` and `messages list`.
import type { Command } from "commander";
import { listTasks } from "../../tasks/store.ts";
import { withRuntime, parseId } from "../context.ts";
import { print } from "../output.ts";

export function registerTasks(program: Command): void {
  const tasks = program.command("tasks").description("shell tasks created from Telegram");
  tasks
    .command("list")
    .description("newest first")
    .option("--plugin <id>", "only this plugin's tasks")
    .option("--pending-stt", "only voice notes waiting for transcription")
    .option("--limit <n>", "at most n tasks (default 100)")
    .option("--json", "print JSON")
    .action((o: { plugin?: string; pendingStt?: boolean; limit?: string; json?: boolean }) =>
      withRuntime(o, async (rt) => {
        const list = await listTasks(rt.store.db, rt.store.seam, {
          pluginId: o.plugin !== undefined ? parseId(o.plugin, "--plugin") : undefined,
          pendingStt: o.pendingStt === true,
          limit: o.limit !== undefined ? parseId(o.limit, "--limit") : undefined,
        });
        print(o, list, () =>
          list.length === 0 ? "No tasks." : list.map((t) => `  ${t.codigo}\t${t.tipo}\t${t.estado}\t${t.created_at}\t${t.titulo}`).join("\n"),
        );
      }),
    );

  const updates = program.command("updates").description("inspect what Telegram sent");
  updates
    .command("unparsed")
    .description("authenticated updates Joe could not understand (kept for inspection)")
    .option("--plugin <id>", "only this plugin's")
    .option("--json", "print JSON")
    .action((o: { plugin?: string; json?: boolean }) =>
      withRuntime(o, async (rt) => {
        let q = rt.store.db.selectFrom("unparsed_updates").selectAll().orderBy("id", "desc").limit(100);
        if (o.plugin !== undefined) q = q.where("plugin_id", "=", parseId(o.plugin, "--plugin"));
        const rows = (await q.execute()).map((r) => ({
          ...r,
          id: Number(r.id),
          plugin_id: Number(r.plugin_id),
          received_at: new Date(Number(r.received_at)).toISOString(),
        }));
        print(o, rows, () =>
          rows.length === 0
            ? "None."
            : rows.map((r) => `  #${r.id} plugin ${r.plugin_id} ${r.received_at}: ${r.error}\n    ${r.body.slice(0, 200)}`).join("\n"),
        );
      }),
    );

  const messages = program.command("messages").description("the bot's outgoing messages (confirmations, warnings)");
  messages
    .command("list")
    .description("newest first")
    .option("--status <status>", "pending | sending | sent | failed | unknown")
    .option("--plugin <id>", "only this plugin's")
    .option("--json", "print JSON")
    .action((o: { status?: string; plugin?: string; json?: boolean }) =>
      withRuntime(o, async (rt) => {
        let q = rt.store.db.selectFrom("outgoing_messages").selectAll().orderBy("id", "desc").limit(100);
        if (o.status) q = q.where("status", "=", o.status);
        if (o.plugin !== undefined) q = q.where("plugin_id", "=", parseId(o.plugin, "--plugin"));
        const rows = (await q.execute()).map((r) => ({
          id: Number(r.id),
          plugin_id: Number(r.plugin_id),
          chat_id: Number(r.chat_id),
          kind: r.kind,
          text: r.text,
          status: r.status,
          attempts: Number(r.attempts),
          last_error: r.last_error,
          created_at: new Date(Number(r.created_at)).toISOString(),
          sent_at: r.sent_at === null ? null : new Date(Number(r.sent_at)).toISOString(),
        }));
        print(o, rows, () =>
          rows.length === 0
            ? "None."
            : rows
                .map((r) => `  #${r.id}\t${r.status}\tchat ${r.chat_id}\t${r.kind}\t${r.text.slice(0, 60)}${r.last_error ? `\t(${r.last_error})` : ""}`)
                .join("\n"),
        );
      }),
    );
}
