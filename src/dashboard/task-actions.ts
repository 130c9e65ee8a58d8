// The task actions the dashboard offers its owner: cancel and mark done. Each is one conditional
// UPDATE (only from the states that allow it, only the user's own task) and its
// `task.state_changed` event, in one transaction: a task already moved on by a worker is left
// alone and the user is told why.
import type { Db } from "../db/dialect.ts";
import { appendEvent } from "../events/append.ts";
import { JoeError } from "../errors.ts";

export type TaskAction = "cancel" | "done";

/**
 * The lifecycle (SPEC "Task lifecycle"): queued | in_progress → cancelled; in_progress → done
 * (a task nobody has claimed is cancelled, not done).
 */
export const ALLOWED_FROM: Record<TaskAction, readonly string[]> = {
  cancel: ["queued", "in_progress"],
  done: ["in_progress"],
};
const TARGET: Record<TaskAction, string> = { cancel: "cancelled", done: "done" };

export function actionsFor(estado: string): TaskAction[] {
  return (Object.keys(ALLOWED_FROM) as TaskAction[]).filter((a) => ALLOWED_FROM[a].includes(estado));
}

/** Returns false when the task is not the user's (→ 404); throws TASK_TRANSITION_REFUSED when its state forbids it. */
export async function applyTaskAction(db: Db, usuarioId: number, taskId: number, action: TaskAction, now = Date.now()): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const task = await trx
      .selectFrom("tasks")
      .select(["id", "plugin_id", "estado"])
      .where("id", "=", taskId)
      .where("usuario_id", "=", usuarioId)
      .executeTakeFirst();
    if (!task) return false;
    const changed = await trx
      .updateTable("tasks")
      .set({ estado: TARGET[action], lease_until: null, updated_at: now })
      .where("id", "=", taskId)
      .where("estado", "in", [...ALLOWED_FROM[action]])
      .executeTakeFirst();
    if (Number(changed.numUpdatedRows) !== 1) {
      throw new JoeError("TASK_TRANSITION_REFUSED", `it is ${task.estado}`);
    }
    await appendEvent(trx, { type: "task.state_changed", usuario_id: usuarioId, plugin_id: Number(task.plugin_id), task_id: taskId, at: now });
    return true;
  });
}
