// Database queries spent on refused webhook requests (issue 10, item 4). Runs the real webhook app
// on 127.0.0.1 over a fresh SQLite file (or, with DATABASE_URL=postgres://…, a fresh database it
// creates on that server and drops at the end), counts every query it makes with a Kysely plugin, and
// sends 1,000 requests for made-up plugin ids and 1,000 with a wrong secret for a real plugin; then
// looks up 50,001 made-up ids in the app's plugin directory directly (HTTP would take minutes on a
// loaded machine) and checks whether the real plugin, looked up just before, is still cached.
// Prints queries per 1,000 refused requests.
//
//   node --import tsx bench/refusals.ts
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test node --import tsx bench/refusals.ts
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { KyselyPlugin } from "kysely";
import pg from "pg";
import { generateKey } from "../src/crypto/fernet.ts";
import { loadConfig } from "../src/config.ts";
import { createLogger } from "../src/log.ts";
import { openRuntime } from "../src/runtime.ts";
import { buildApp } from "../src/app.ts";
import { createUser } from "../src/users/store.ts";
import { createPlugin } from "../src/plugins/store.ts";

const dir = mkdtempSync(path.join(tmpdir(), "joe-refusals-"));
const adminUrl = process.env.DATABASE_URL;
let databaseUrl = `sqlite:${path.join(dir, "joe.sqlite")}`;
const pgName = `joe_refusals_${process.pid}_${Date.now().toString(36)}`;
if (adminUrl) {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${pgName}`);
  await admin.end();
  const u = new URL(adminUrl);
  u.pathname = `/${pgName}`;
  databaseUrl = u.toString();
}
const config = loadConfig({
  DATA_DIR: dir,
  DATABASE_URL: databaseUrl,
  FERNET_KEYS: generateKey(),
  LOG_LEVEL: "silent",
});
const rt = await openRuntime({ config, logger: createLogger("silent") });
let queries = 0;
const counter: KyselyPlugin = {
  transformQuery(args) {
    queries++;
    return args.node;
  },
  transformResult: async (args) => args.result,
};
const user = await createUser(rt.store.db, rt.store.seam, `bench_refusals_${Date.now().toString(36)}`);
const { plugin } = await createPlugin(rt.store.db, rt.store.seam, rt.keys.fernet, {
  usuarioId: user.id,
  identificador: "@bench_refusals_bot",
  token: `123456789:${"A".repeat(35)}`,
});
const { app, plugins } = buildApp({ db: rt.store.db.withPlugin(counter), seam: rt.store.seam, logger: rt.logger });
const base = (await app.listen({ port: 0, host: "127.0.0.1" })).replace("localhost", "127.0.0.1");

const body = JSON.stringify({
  update_id: 1,
  message: { message_id: 1, date: 1, chat: { id: 5, type: "private" }, from: { id: 5, is_bot: false, first_name: "x" }, text: "hola" },
});
const randomId = () => 100_000_000_000 + Math.floor(Math.random() * 800_000_000_000);

async function run(what: string, n: number, target: (i: number) => { id: number; secret: string }): Promise<void> {
  const before = queries;
  const statuses = new Map<number, number>();
  const started = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < n) {
        const { id, secret } = target(next++);
        const res = await fetch(`${base}/plugins/telegram/webhook/${id}/`, {
          method: "POST",
          body,
          headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": secret },
        });
        await res.arrayBuffer();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      }
    }),
  );
  const used = queries - before;
  const s = (Date.now() - started) / 1000;
  console.log(
    `${what.padEnd(44)} ${String(n).padStart(6)} requests  ${String(used).padStart(6)} queries  ` +
      `${((used * 1000) / n).toFixed(1).padStart(7)} per 1,000  (${s.toFixed(1)} s; statuses ${JSON.stringify(Object.fromEntries(statuses))})`,
  );
}

try {
  console.log(`dialect ${rt.store.seam.name}`);
  await run("unknown plugin ids", 1000, () => ({ id: randomId(), secret: "x" }));
  await run("real plugin, wrong secret", 1000, (i) => ({ id: plugin.id, secret: `wrong-${i}` }));
  // The flood, in-process. The real plugin is looked up right before; looking it up right after
  // costs a query only if the flood pushed it out (or its 2 s cache life ended meanwhile: timed).
  await plugins.lookup(plugin.id);
  const before = queries;
  const started = Date.now();
  for (let i = 0; i < 50_001; i++) await plugins.lookup(randomId());
  const flood = queries - before;
  const ms = Date.now() - started;
  await plugins.lookup(plugin.id);
  console.log(
    `${"flood of unknown ids (directory lookups)".padEnd(44)} ${"50001".padStart(6)} lookups   ${String(flood).padStart(6)} queries  ` +
      `${((flood * 1000) / 50_001).toFixed(1).padStart(7)} per 1,000  (${(ms / 1000).toFixed(1)} s); real plugin re-read after it: ${queries - before - flood} quer${queries - before - flood === 1 ? "y" : "ies"}`,
  );
} finally {
  await app.close();
  await rt.close();
  rmSync(dir, { recursive: true, force: true });
  if (adminUrl) {
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`drop database if exists ${pgName} with (force)`);
    await admin.end();
  }
}
