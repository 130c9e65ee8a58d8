// Memory of the server with 100 live SSE clients on /api/v1/events/stream (issue 13), SQLite,
// in-process: RSS before, with the 100 streams open and events flowing, and after they close.
//
//   node --import tsx bench/sse-memory.ts
import http from "node:http";
import { dbTargets } from "../test/support/databases.ts";
import { startStack } from "../test/support/stack.ts";
import { createUser } from "../src/users/store.ts";
import { createApiToken } from "../src/api/tokens.ts";

const s = await startStack(dbTargets()[0]!, { env: { LOG_LEVEL: "warn" } });
const bot = await s.addBot();
await s.link(bot, 777);
const owner = await s.rt.store.db.selectFrom("plugin_configs").select("usuario_id").where("id", "=", bot.pluginId).executeTakeFirstOrThrow();
const { token } = await createApiToken(s.rt.store.db, Number(owner.usuario_id), "bench");
void createUser;
const mb = () => Math.round(process.memoryUsage().rss / 1048576);
global.gc?.();
const before = mb();
const url = new URL(`${s.baseUrl}/api/v1/events/stream`);
let received = 0;
const reqs = Array.from(
  { length: 100 },
  () =>
    new Promise<http.ClientRequest>((resolve) => {
      const req = http.get(
        { host: url.hostname, port: url.port, path: url.pathname, headers: { authorization: `Bearer ${token}`, accept: "text/event-stream" } },
        (res) => {
          res.on("data", (d: Buffer) => {
            received += (d.toString().match(/^event:/gm) ?? []).length;
          });
          resolve(req);
        },
      );
    }),
);
const open = await Promise.all(reqs);
for (let i = 0; i < 50; i++) await s.sendText(bot, 777, `evento ${i}`);
const deadline = Date.now() + 30_000;
while (received < 100 * 50 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
const during = mb();
for (const r of open) r.destroy();
await new Promise((r) => setTimeout(r, 1000));
const after = mb();
await s.stop();
console.log(
  JSON.stringify({
    command: "node --import tsx bench/sse-memory.ts",
    clients: 100,
    events_each: 50,
    events_received: received,
    rss_mb: { before, with_100_streams: during, after_close: after },
  }),
);
