// GET /api/v1/tasks on 1,000,000 tasks: first page, filters, cursor pages, and search, timed over
// real HTTP (sequential requests, one client) against the server in this process.
// Run: node --import tsx bench/api-list.ts [sqlite|postgres] [rows]
import { bulkTasks, percentile, startApiBench } from "./lib/api.ts";

const kind = process.argv[2] ?? "sqlite";
const rows = Number(process.argv[3] ?? 1_000_000);
const t0 = Date.now();
const b = await startApiBench(kind, (db) => bulkTasks(db, rows));
console.log(`# ${kind}: ${rows} tasks written and indexed in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
const headers = { authorization: `Bearer ${b.token}` };

async function get(path: string): Promise<{ ms: number; body: { items: unknown[]; next_cursor: string | null } }> {
  const s = performance.now();
  const r = await fetch(`${b.baseUrl}/api/v1${path}`, { headers });
  const body = (await r.json()) as { items: unknown[]; next_cursor: string | null };
  if (r.status !== 200) throw new Error(`${path}: ${r.status} ${JSON.stringify(body)}`);
  return { ms: performance.now() - s, body };
}

async function scenario(name: string, reps: number, next: (i: number, prev: string | null) => string): Promise<void> {
  await get(next(0, null)); // warm-up
  const times: number[] = [];
  let cursor: string | null = null;
  let items = 0;
  for (let i = 0; i < reps; i++) {
    const r = await get(next(i, cursor));
    times.push(r.ms);
    cursor = r.body.next_cursor;
    items += r.body.items.length;
  }
  times.sort((a, c) => a - c);
  console.log(`| ${name} | ${reps} | ${(items / reps).toFixed(0)} | ${percentile(times, 50).toFixed(1)} | ${percentile(times, 99).toFixed(1)} |`);
}

console.log("| request (user with 900,000 tasks) | requests | items/page | p50 ms | p99 ms |");
console.log("|---|---|---|---|---|");
try {
  await scenario("first page, limit=50", 200, () => "/tasks?limit=50");
  await scenario("cursor walk: 200 consecutive pages of 50", 200, (_i, c) => (c ? `/tasks?limit=50&cursor=${c}` : "/tasks?limit=50"));
  await scenario("estado=queued (5 %), limit=50", 200, () => "/tasks?estado=queued&limit=50");
  await scenario("tipo=telegram_voice&plugin_id=1, limit=50", 200, () => "/tasks?tipo=telegram_voice&plugin_id=1&limit=50");
  await scenario("estado=failed cursor walk (2 %), 100 pages", 100, (_i, c) =>
    c ? `/tasks?estado=failed&limit=50&cursor=${c}` : "/tasks?estado=failed&limit=50",
  );
  await scenario("q=pan (matches almost all), limit=50", 200, () => "/tasks?q=pan&limit=50");
  await scenario("q=texto completo (full text), limit=50", 200, () => "/tasks?q=texto%20completo&limit=50");
  await scenario("q=zanahoria (90 matches: scans the user's rows)", 10, () => "/tasks?q=zanahoria&limit=50");
} finally {
  await b.stop();
}
