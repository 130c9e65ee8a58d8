// What a chat command or an edit changes of a task (each with its event, written by the caller).
import { defineOp } from "../../db/prepared-op.ts";

/** /deshacer: only a task still queued is cancelled (0 rows: it moved on meanwhile). */
export const cancelQueuedTask = defineOp<{ id: number }, number>({
  name: "cancel_queued_task",
  mode: "run",
  build: (db, a) => db.updateTable("tasks").set({ estado: "cancelled" }).where("id", "=", a.id).where("estado", "=", "queued"),
  params: (a) => ["cancelled", a.id, "queued"],
});

/** An edit applied: the new title and metadatos (with the earlier text in `versiones`). */
export const setTaskText = defineOp<{ id: number; titulo: string; metadatos: string }, number>({
  name: "set_task_text",
  mode: "run",
  build: (db, a) => db.updateTable("tasks").set({ titulo: a.titulo, metadatos_extra: a.metadatos }).where("id", "=", a.id),
  params: (a) => [a.titulo, a.metadatos, a.id],
});

/** An edit noted, not applied (the task left the queue): only the metadatos change. */
export const setTaskMetadatos = defineOp<{ id: number; metadatos: string }, number>({
  name: "set_task_metadatos",
  mode: "run",
  build: (db, a) => db.updateTable("tasks").set({ metadatos_extra: a.metadatos }).where("id", "=", a.id),
  params: (a) => [a.metadatos, a.id],
});
