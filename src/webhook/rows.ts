// The rows one update writes, built in one place: its processed-update mark, its task, the task's
// event and the reply. Every writer (both dialects, and PostgreSQL's one-statement run) takes its
// columns from these builders, so a column added here reaches every way an update is written.
import type { Outcome, Reply } from "./decide.ts";
import type { TaskPlan } from "./plan.ts";
import { taskCodigo } from "../tasks/codigo.ts";
import type { EventType } from "../events/append.ts";

/** A task's state when the webhook writes it (the lifecycle: tasks/lifecycle.ts). */
export const TASK_ESTADO_INICIAL = "queued";

export function markRow(pluginId: number, updateId: number, chatId: number | null, messageId: number | null, outcome: Outcome, now: number) {
  return { plugin_id: pluginId, update_id: updateId, chat_id: chatId, message_id: messageId, outcome, received_at: now };
}
export type MarkRow = ReturnType<typeof markRow>;

export function taskRow(id: number, task: TaskPlan, now: number) {
  return {
    id,
    codigo: taskCodigo(id),
    usuario_id: task.usuarioId,
    plugin_id: task.pluginId,
    tipo: task.tipo,
    titulo: task.titulo,
    estado: TASK_ESTADO_INICIAL,
    chat_id: task.chatId,
    message_id: task.messageId,
    metadatos_extra: JSON.stringify(task.metadatos_extra),
    created_at: new Date(now).toISOString(),
  };
}
export type TaskInsert = ReturnType<typeof taskRow>;

export function outgoingRow(pluginId: number, chatId: number, reply: Reply, task: { id: number; codigo: string } | null, now: number) {
  return {
    plugin_id: pluginId,
    chat_id: chatId,
    kind: reply.kind as string,
    text: typeof reply.text === "function" ? reply.text(task?.codigo ?? "") : reply.text,
    reply_to_message_id: reply.replyTo ?? null,
    task_id: task?.id ?? null,
    status: "pending",
    next_attempt_at: now,
    created_at: now,
  };
}
export type OutgoingInsert = ReturnType<typeof outgoingRow>;

export function eventRow(type: EventType, usuarioId: number, pluginId: number, taskId: number | null, now: number) {
  return { type: type as string, usuario_id: usuarioId, plugin_id: pluginId, task_id: taskId, at: now };
}
export type EventInsert = ReturnType<typeof eventRow>;
