// Polling ingest vs webhook ingest through the same handler (issue 13): N text messages from a
// linked chat, delivered to one bot by getUpdates (polling mode) and to another by its webhook
// (20 concurrent deliveries), on SQLite; updates/s from the first delivery to the last task
// committed. Alternates the two, 3 rounds each, in one process.
//
//   node --import tsx bench/polling-ingest.ts [N=2000]
import { dbTargets } from "../test/support/databases.ts";
import { startStack, randomToken } from "../test/support/stack.ts";
import { createUser } from "../src/users/store.ts";
import { createPlugin } from "../src/plugins/store.ts";
import os from "node:os";

const N = Number(process.argv[2] ?? 2000);
const s = await startStack(dbTargets()[0]!, { env: { LOG_LEVEL: "warn", POLL_TIMEOUT_SECONDS: "5" } });
const count = async (pluginId: number) =>
  Number(
    (
      await s.rt.store.db
        .selectFrom("tasks")
        .select((eb) => eb.fn.countAll().as("n"))
        .where("plugin_id", "=", pluginId)
        .executeTakeFirst()
    )?.n ?? 0,
  );
async function until(pred: () => Promise<boolean>) {
  for (;;) {
    if (await pred()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

// The polled bot: a plugin with no webhook (the server's poller takes it within its scan).
const token = randomToken();
const username = "bench_polled_bot";
s.fake.addBot({ token, username });
const user = await createUser(s.rt.store.db, s.rt.store.seam, `bench_${Date.now()}`);
const { plugin } = await createPlugin(s.rt.store.db, s.rt.store.seam, s.rt.keys.fernet, { usuarioId: user.id, identificador: `@${username}`, token });
s.fake.queueUpdate(token, s.fake.makeTextUpdate(token, { chatId: 501, text: `/start ${plugin.codigo_verificacion}` }));
await s.fake.waitFor(() => s.fake.sentMessages(token).length >= 1, 60_000, "polled bot linked");
const hooked = await s.addBot();
await s.link(hooked, 502);

const results: Record<string, number[]> = { polling: [], webhook: [] };
for (let round = 0; round < 3; round++) {
  {
    const before = await count(plugin.id);
    const t0 = performance.now();
    for (let i = 0; i < N; i++) s.fake.queueUpdate(token, s.fake.makeTextUpdate(token, { chatId: 501, text: `nota polling ${round}-${i}` }));
    await until(async () => (await count(plugin.id)) >= before + N);
    results.polling!.push(Math.round(N / ((performance.now() - t0) / 1000)));
  }
  {
    const before = await count(hooked.pluginId);
    const t0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        while (next < N) {
          const i = next++;
          await s.sendText(hooked, 502, `nota webhook ${round}-${i}`);
        }
      }),
    );
    await until(async () => (await count(hooked.pluginId)) >= before + N);
    results.webhook!.push(Math.round(N / ((performance.now() - t0) / 1000)));
  }
  console.error(JSON.stringify({ round, ...Object.fromEntries(Object.entries(results).map(([k, v]) => [k, v.at(-1)])) }));
}
await s.stop();
console.log(
  JSON.stringify({ command: `node --import tsx bench/polling-ingest.ts ${N}`, n: N, loadavg: os.loadavg().map((x) => +x.toFixed(1)), updates_per_s: results }),
);
