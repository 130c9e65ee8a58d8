// A/B of what the feed adds to the webhook's write (issue 12): the same batches of linked-chat
// text updates written by the base tree's writeBatch (before task.created events) and by this
// tree's, alternating in one process, each on its own fresh database, so the machine's noise
// falls on both alike. Measures the write only (linked-chat messages planned on the cached state:
// one statement on PostgreSQL, one synchronous transaction on SQLite), which is all the change touched.
//
//   git archive <base-commit> | tar -x -C /tmp/base && ln -s "$PWD/node_modules" /tmp/base/node_modules
//   BENCH_BASE_TREE=/tmp/base node --import tsx bench/event-cost-ab.ts
//
// Knobs: BENCH_AB_ROUNDS (30), BENCH_AB_BATCH (64 updates per batch), BENCH_AB_DB (sqlite,postgres).
import path from "node:path";
import { fileURLToPath } from "node:url";
import { sqliteDb, postgresDb, type BenchDb } from "./lib/joe.ts";

const HERE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const BASE = process.env.BENCH_BASE_TREE;
if (!BASE) throw new Error("set BENCH_BASE_TREE to a checkout of the base commit (see the header of this file)");
const ROUNDS = Number(process.env.BENCH_AB_ROUNDS ?? 30);
const BATCH = Number(process.env.BENCH_AB_BATCH ?? 64);
const DBS = (process.env.BENCH_AB_DB ?? "sqlite,postgres").split(",");

interface Side {
  name: string;
  write(n: number): Promise<number>;
  close(): Promise<void>;
}

async function side(name: string, root: string, db: BenchDb): Promise<Side> {
  const m = (p: string) => import(path.join(root, "src", p));
  const { openStore } = await m("db/connect.ts");
  const { migrate } = await m("db/migrations.ts");
  const { writeBatch } = await m("webhook/write-batch.ts");
  const { createUser } = await m("users/store.ts");
  const { createPlugin } = await m("plugins/store.ts");
  const { pluginState } = await m("plugins/state.ts");
  const { parseUpdate } = await m("telegram/update.ts");
  const { MultiFernet, generateKey } = await m("crypto/fernet.ts");
  const store = await openStore(db.url);
  await migrate(store.db, store.seam);
  if (process.env.BENCH_AB_NOSYNC === "1" && store.seam.name === "sqlite") {
    const { sql } = await import("kysely");
    await sql`pragma synchronous = OFF`.execute(store.db);
  }
  const user = await createUser(store.db, store.seam, `ab_${name}`);
  const { plugin } = await createPlugin(store.db, store.seam, new MultiFernet([generateKey()]), {
    usuarioId: user.id,
    identificador: "@ab_bench_bot",
    token: "123456:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
  });
  const CHAT = 4242;
  await store.db.updateTable("plugin_configs").set({ verificado: 1, chat_id_verificado: CHAT }).where("id", "=", plugin.id).execute();
  const state = pluginState(await store.db.selectFrom("plugin_configs").selectAll().where("id", "=", plugin.id).executeTakeFirstOrThrow(), store.seam);
  let seq = 1;
  return {
    name,
    async write(n) {
      const jobs = Array.from({ length: n }, () => {
        const i = seq++;
        const p = parseUpdate({
          update_id: i,
          message: {
            message_id: i,
            date: 1764560000,
            chat: { id: CHAT, type: "private", first_name: "A" },
            from: { id: CHAT, is_bot: false, first_name: "A" },
            text: `a message of a typical length, number ${i}, for the A/B`,
          },
        });
        if (!p.ok) throw new Error(p.error);
        return { pluginId: plugin.id, update: p.update, cached: state };
      });
      const t = performance.now();
      const r = await writeBatch(store.db, store.seam, jobs, Date.now());
      const dt = performance.now() - t;
      if (r.some((x: { taskCodigo?: string }) => !x.taskCodigo)) throw new Error("a task was not written");
      return dt;
    },
    close: () => store.close(),
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

for (const kind of DBS) {
  const dbs: BenchDb[] = [];
  const mk = async () => {
    const d = kind === "postgres" ? await postgresDb() : sqliteDb();
    if ("unavailable" in d) throw new Error(d.unavailable);
    dbs.push(d);
    return d;
  };
  const a = await side("base", BASE, await mk());
  const b = await side("feed", HERE, await mk());
  const times: Record<string, number[]> = { base: [], feed: [] };
  for (const s of [a, b]) for (let i = 0; i < 3; i++) await s.write(BATCH); // warm-up
  for (let r = 0; r < ROUNDS; r++) {
    for (const s of r % 2 === 0 ? [a, b] : [b, a]) times[s.name]!.push(await s.write(BATCH));
  }
  const per = (xs: number[]) => (median(xs) * 1000) / BATCH;
  console.log(
    `${kind}: ${ROUNDS} rounds of ${BATCH} updates, alternating; median write time per update: base ${per(times.base!).toFixed(1)} µs, with events ${per(times.feed!).toFixed(1)} µs (${((per(times.feed!) / per(times.base!) - 1) * 100).toFixed(1)} %)`,
  );
  await a.close();
  await b.close();
  for (const d of dbs) await d.drop();
}
