// Carrying out a chat intent (/tareas, /deshacer, an edit) inside the webhook's transaction: read
// the tasks it is about, ask decide-chat.ts (pure) what to do, write the change with its event,
// and hand back the reply for write-plans.ts to queue like every other reply.
import type { PluginState } from "../plugins/state.ts";
import type { Outcome, Reply } from "./decide.ts";
import { decideEdit, decideUndo, taskListText, TASK_LIST_SIZE, type ChatIntent, type TaskSnapshot } from "./decide-chat.ts";
import { eventRow } from "./rows.ts";
import { run, type Steps, type WriteContext } from "./steps.ts";
import { lastTask, recentTasks, taskById, taskOfConfirmation, taskOfMessage, type TaskSnapshotRow } from "./sql/chat-tasks.ts";
import { cancelQueuedTask, setTaskMetadatos, setTaskText } from "./sql/change-task.ts";
import { insertEvent } from "./sql/insert-event.ts";

export interface IntentResult {
  outcome: Outcome;
  reply?: Reply;
}

export function* writeIntent(plugin: PluginState, chatId: number, intent: ChatIntent, ctx: WriteContext): Steps<IntentResult> {
  const pluginId = plugin.id;
  const snapshot = (r: TaskSnapshotRow | undefined) => (r ? toSnapshot(r, ctx) : null);
  switch (intent.kind) {
    case "list_tasks": {
      const rows = yield* run(recentTasks, { pluginId, chatId, limit: TASK_LIST_SIZE });
      return { outcome: "command:list_tasks", reply: { kind: "task_list", text: taskListText(rows, intent.lang), replyTo: intent.replyTo } };
    }
    case "undo": {
      let task: TaskSnapshot | null;
      if (intent.target.kind === "reply") {
        // The bot's confirmation that was replied to, else the person's own message that made the task.
        const confirmation = yield* run(taskOfConfirmation, { pluginId, chatId, telegramMessageId: intent.target.messageId });
        task = confirmation?.task_id != null ? snapshot(yield* run(taskById, { id: Number(confirmation.task_id) })) : null;
        task ??= snapshot(yield* run(taskOfMessage, { pluginId, chatId, messageId: intent.target.messageId }));
      } else {
        task = snapshot(yield* run(lastTask, { pluginId, chatId }));
      }
      let d = decideUndo(task, intent.target.kind, intent.lang);
      if (d.cancel && task) {
        if ((yield* run(cancelQueuedTask, { id: task.id })) === 1) {
          yield* run(insertEvent, eventRow("task.state_changed", plugin.usuarioId, pluginId, task.id, ctx.now));
        } else {
          // The row is locked (PostgreSQL) or the writer is alone (SQLite), so this is only a
          // guard: answer on what the task is now.
          d = decideUndo(snapshot(yield* run(taskById, { id: task.id })), intent.target.kind, intent.lang);
        }
      }
      return { outcome: d.outcome, reply: { kind: "undo", text: d.text, replyTo: intent.replyTo } };
    }
    case "edit": {
      const task = snapshot(yield* run(taskOfMessage, { pluginId, chatId, messageId: intent.messageId }));
      const d = decideEdit(task, intent);
      if (!task || (d.outcome !== "edit:applied" && d.outcome !== "edit:noted")) return { outcome: d.outcome };
      const metadatos = JSON.stringify(d.metadatos_extra);
      if (d.outcome === "edit:applied") yield* run(setTaskText, { id: task.id, titulo: d.titulo, metadatos });
      else yield* run(setTaskMetadatos, { id: task.id, metadatos });
      yield* run(insertEvent, eventRow("task.updated", plugin.usuarioId, pluginId, task.id, ctx.now));
      return { outcome: d.outcome, reply: { kind: d.outcome === "edit:applied" ? "edit_applied" : "edit_noted", text: d.text, replyTo: intent.messageId } };
    }
  }
}

function toSnapshot(r: TaskSnapshotRow, ctx: WriteContext): TaskSnapshot {
  const meta = ctx.seam.json.parse(r.metadatos_extra);
  return {
    id: Number(r.id),
    codigo: r.codigo,
    estado: r.estado,
    titulo: r.titulo,
    tipo: r.tipo,
    metadatos_extra: meta && typeof meta === "object" ? (meta as Record<string, unknown>) : {},
  };
}
