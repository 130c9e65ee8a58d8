// Event delivery latency (issue 12): a message posted to the webhook → its task.created event
// at (1) an SSE client of /api/v1/events/stream and (2) a subscriber's URL (outgoing webhook).
// Joe runs as a child process (`serve`, workers on) on a fresh SQLite file, then on a fresh
// PostgreSQL database (skipped when BENCH_DATABASE_URL's server cannot be reached). Messages are
// sent one at a time with a gap, so this measures latency, not throughput. Not part of npm test.
//
//   node --import tsx bench/feed-latency.ts            (BENCH_FEED_N=200, BENCH_FEED_GAP_MS=50)
//
// Times are taken in this process: t0 = the webhook POST is sent; the 200 comes back after the
// commit, so "commit → X" lies between (X − 200 received) and (X − t0). Both are reported.
import { startFakeBotApi } from "../test/support/fake-bot-api.ts";
import { createBots, openTestRuntime, startServerProcess, type ServerEnv } from "../test/support/server-process.ts";
import { openSse, startSubscriber } from "../test/support/feed.ts";
import { until } from "../test/support/wait.ts";
import { sqliteDb, postgresDb, PG_URL, type BenchDb } from "./lib/joe.ts";
import { generateKey } from "../src/crypto/fernet.ts";
import { createApiToken } from "../src/api/tokens.ts";
import { getPluginRow } from "../src/plugins/store.ts";

const N = Number(process.env.BENCH_FEED_N ?? 200);
const GAP_MS = Number(process.env.BENCH_FEED_GAP_MS ?? 50);

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}
const fmt = (xs: number[]) => `p50 ${pct(xs, 50).toFixed(1)} ms, p99 ${pct(xs, 99).toFixed(1)} ms, max ${Math.max(...xs).toFixed(1)} ms (n=${xs.length})`;

async function run(db: BenchDb): Promise<void> {
  const fake = await startFakeBotApi();
  const env: ServerEnv = { DATABASE_URL: db.url, DATA_DIR: db.dataDir, FERNET_KEYS: generateKey(), TELEGRAM_API_ROOT: fake.url };
  const rt = await openTestRuntime(env);
  const server = await startServerProcess({ env, logLevel: "warn", startTimeoutMs: 120_000 });
  const sub = await startSubscriber(200);
  try {
    const [bot] = await createBots(rt, fake, server.url, 1);
    const b = bot!;
    await fake.deliverUpdate(b.token, fake.makeTextUpdate(b.token, { chatId: b.chatId, text: `/start ${b.codigo}` }));
    const usuarioId = Number((await getPluginRow(rt.store.db, b.pluginId)).usuario_id);
    const { token } = await createApiToken(rt.store.db, usuarioId, "bench");
    const r = await fetch(`${server.url}/api/v1/subscriptions`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ url: sub.url, events: ["task.created"] }),
    });
    if (r.status !== 201) throw new Error(`subscription: ${r.status}`);
    const head = ((await (await fetch(`${server.url}/api/v1/events`, { headers: { authorization: `Bearer ${token}` } })).json()) as { next_cursor: string })
      .next_cursor;
    const sse = openSse(`${server.url}/api/v1/events/stream?after=${head}&types=task.created`, token);
    await sse.status;
    const sent = new Map<string, { t0: number; t200: number }>();
    const sseAt = new Map<string, number>();
    const subAt = new Map<string, number>();
    let sseSeen = 0;
    let subSeen = 0;
    const collect = () => {
      for (; sseSeen < sse.messages.length; sseSeen++) sseAt.set(JSON.parse(sse.messages[sseSeen]!.data).task.titulo, performance.now());
      for (; subSeen < sub.deliveries.length; subSeen++) subAt.set(JSON.parse(sub.deliveries[subSeen]!.body).task.titulo, performance.now());
    };
    const poller = setInterval(collect, 0.5);
    for (let i = 0; i < N; i++) {
      const text = `lat-${i}`;
      const t0 = performance.now();
      const res = await fake.deliverUpdate(b.token, fake.makeTextUpdate(b.token, { chatId: b.chatId, text }));
      if (res.status !== 200) throw new Error(`webhook answered ${res.status}`);
      sent.set(text, { t0, t200: performance.now() });
      await new Promise((r) => setTimeout(r, GAP_MS));
    }
    await until(
      () => {
        collect();
        return sseAt.size >= N && subAt.size >= N;
      },
      () => `sse ${sseAt.size}, subscriber ${subAt.size} of ${N}`,
      120_000,
    );
    clearInterval(poller);
    sse.close();
    const lat = (at: Map<string, number>, from: "t0" | "t200") => [...sent].map(([k, v]) => at.get(k)! - v[from]);
    console.log(`\n${db.kind}: ${N} messages, ${GAP_MS} ms apart`);
    console.log(`  webhook round trip (send → 200):      ${fmt([...sent.values()].map((v) => v.t200 - v.t0))}`);
    console.log(`  send → SSE client:                    ${fmt(lat(sseAt, "t0"))}`);
    console.log(`  200 received → SSE client:            ${fmt(lat(sseAt, "t200"))}`);
    console.log(`  send → subscriber:                    ${fmt(lat(subAt, "t0"))}`);
    console.log(`  200 received → subscriber:            ${fmt(lat(subAt, "t200"))}`);
  } finally {
    await sub.close();
    await server.stop();
    await rt.close();
    await fake.close();
    await db.drop();
  }
}

await run(sqliteDb());
const p = await postgresDb();
if ("unavailable" in p) console.log(`PostgreSQL skipped: ${p.unavailable} (${PG_URL})`);
else await run(p);
