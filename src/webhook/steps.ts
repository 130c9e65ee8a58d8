// The steps the webhook's write procedure asks of a database (write-plans.ts): run a prepared
// SQL operation, hand out a task id. Each dialect's writer answers them its own way.
import type { PreparedOp } from "../db/prepared-op.ts";
import type { DialectSeam } from "../db/dialect.ts";

/** One thing the procedure needs the database to do. */
export type Step =
  | { kind: "op"; op: PreparedOp<unknown, unknown>; args: unknown }
  /** The next task id (task codes are derived from ids; each dialect hands them out its own way). */
  | { kind: "task_id" };

export type Steps<R> = Generator<Step, R, unknown>;

export function* run<A, R>(op: PreparedOp<A, R>, args: A): Steps<R> {
  return (yield { kind: "op", op: op as PreparedOp<unknown, unknown>, args }) as R;
}

export function* nextTaskId(): Steps<number> {
  return (yield { kind: "task_id" }) as number;
}

export interface WriteContext {
  now: number;
  seam: DialectSeam;
  /** For tests and benchmarks: the update ids decided again inside the transaction. */
  stats?: { replanned: number[] };
}
