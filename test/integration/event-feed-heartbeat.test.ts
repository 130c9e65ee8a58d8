// The SSE stream sends a comment line when nothing happened for a while, so proxies keep it open
// (every ~15 s by default; shortened here through JOE_SSE_HEARTBEAT_MS, read when the module loads).
process.env.JOE_SSE_HEARTBEAT_MS = "200";
import { test } from "node:test";
import assert from "node:assert/strict";
// Static imports of node's own modules are fine: only the project's modules must load after the env is set.
const { dbTargets } = await import("../support/databases.ts");
const { startStack } = await import("../support/stack.ts");
const { openSse } = await import("../support/feed.ts");
const { until } = await import("../support/wait.ts");
const { createApiToken } = await import("../../src/api/tokens.ts");
const { getPluginRow } = await import("../../src/plugins/store.ts");

for (const target of dbTargets()) {
  test(`SSE heartbeats while idle (${target.name})`, async () => {
    const s = await startStack(target, { workers: false });
    try {
      const bot = await s.addBot();
      const usuarioId = Number((await getPluginRow(s.rt.store.db, bot.pluginId)).usuario_id);
      const { token } = await createApiToken(s.rt.store.db, usuarioId, "t");
      const sse = openSse(`${s.baseUrl}/api/v1/events/stream`, token);
      assert.equal(await sse.status, 200);
      await until(() => sse.comments.filter((c) => c === "heartbeat").length >= 2, "two heartbeat comments");
      assert.equal(sse.messages.length, 0);
      sse.close();
    } finally {
      await s.stop();
    }
  });
}
