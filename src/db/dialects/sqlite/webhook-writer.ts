// SQLite's webhook writer: a whole batch of plans in ONE IMMEDIATE transaction, run synchronously
// on the connection with prepared statements (webhook/write-plans.ts's steps, answered in place).
// SQLite is in-process, so what costs is not round trips but the way to the database: Kysely's
// executor and a promise per statement. The SQL is still Kysely's, compiled once per shape.
// One writer holds the database, so whatever a plan finds changed is decided again inside the
// same transaction: a batch is all or nothing.
import type Sqlite from "better-sqlite3";
import type { Db, WebhookWriter, WriteOutcome } from "../../dialect.ts";
import { writePlans } from "../../../webhook/write-plans.ts";
import type { Step, WriteContext } from "../../../webhook/steps.ts";
import type { Plan, PlanJob } from "../../../webhook/plan.ts";
import { maxTaskId } from "../../../webhook/sql/max-task-id.ts";

import { locks } from "./locks.ts";

export function sqliteWebhookWriter(native: Sqlite.Database): WebhookWriter {
  const statements = new Map<string, Sqlite.Statement>();

  const transaction = native.transaction((db: Db, jobs: readonly PlanJob[], plans: readonly Plan[], ctx: WriteContext) => {
    let nextId: number | null = null;
    const answer = (step: Step): unknown => {
      if (step.kind === "task_id") {
        // Safe: this connection holds the write lock, nobody can take these ids before the commit.
        nextId ??= Number((answer({ kind: "op", op: maxTaskId as never, args: {} }) as { m: number } | undefined)?.m ?? 0) + 1;
        return nextId++;
      }
      const { sql, parameters, key } = step.op.compile(db, "sqlite", locks, step.args);
      let stmt = statements.get(key);
      if (!stmt) {
        stmt = native.prepare(sql);
        statements.set(key, stmt);
      }
      switch (step.op.spec.mode) {
        case "run":
          return stmt.run(parameters).changes;
        case "get":
          return stmt.get(parameters);
        case "all":
          return stmt.all(parameters);
      }
    };
    const steps = writePlans(jobs, plans, ctx);
    let next = steps.next();
    while (!next.done) next = steps.next(answer(next.value));
    return next.value;
  });

  return {
    async write(db, jobs, plans, ctx) {
      // Hold Kysely's connection (its mutex): no other transaction is open on it meanwhile.
      return db.connection().execute(async () => {
        // Inside an open transaction better-sqlite3 would make this a savepoint, whose "commit"
        // commits nothing: refuse rather than answer 200 for what is not on disk.
        if (native.inTransaction) throw new Error("sqlite webhook writer: a transaction is already open on the connection");
        return transaction.immediate(db, jobs, plans, ctx) as Map<number, WriteOutcome>;
      });
    },
  };
}
