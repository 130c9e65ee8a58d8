// Claim → complete throughput: 5 worker processes (test/support/claim-worker.ts: claim 10,
// complete each, no work, no chat message) against the server in this process, until every task
// is done. Run: node --import tsx bench/api-claim.ts [sqlite|postgres] [tasks]
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { sql } from "kysely";
import { bulkTasks, startApiBench } from "./lib/api.ts";
import { withStore } from "./lib/joe.ts";

const kind = process.argv[2] ?? "sqlite";
const n = Number(process.argv[3] ?? 3000);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
// Only queued tasks, all the user's: every 20th row of bulkTasks is queued, so write 20× and mark the rest done.
const b = await startApiBench(kind, async (db) => {
  await bulkTasks(db, n);
  await withStore(db, async ({ db: k }) => {
    await sql`update tasks set estado = 'queued', usuario_id = 1, plugin_id = 1`.execute(k);
  });
});
const workers: Array<ReturnType<typeof spawn>> = [];
let first = 0;
try {
  for (let i = 0; i < 5; i++) {
    const c = spawn(process.execPath, ["--import", "tsx", "test/support/claim-worker.ts"], {
      cwd: root,
      env: { ...process.env, JOE_URL: b.baseUrl, JOE_TOKEN: b.token },
      stdio: ["ignore", "pipe", "inherit"],
    });
    c.stdout!.on("data", () => {
      if (!first) first = performance.now();
    });
    workers.push(c);
  }
  const countDone = () =>
    withStore(b.db, async ({ db: k }) =>
      Number(
        (
          await k
            .selectFrom("tasks")
            .select((eb) => eb.fn.countAll().as("n"))
            .where("estado", "=", "done")
            .executeTakeFirstOrThrow()
        ).n,
      ),
    );
  const until = Date.now() + 600_000;
  let done = await countDone();
  while (done < n && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 200));
    done = await countDone();
  }
  const secs = (performance.now() - first) / 1000;
  console.log(`| ${kind} | 5 worker processes, claim limit 10 | ${done} tasks | ${secs.toFixed(1)} s | ${(done / secs).toFixed(0)} tasks/s |`);
} finally {
  for (const w of workers) w.kill("SIGTERM");
  await b.stop();
}
