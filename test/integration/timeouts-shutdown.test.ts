// Issue 10, item 1: the server reaps idle and slow connections with its own timeouts, and a
// SIGTERM ends the process within a bounded time whatever clients do — while an update already
// in flight is still committed and answered, and a request that starts during shutdown gets the
// project's 503 (item 7). All against a real `serve` process.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { dbTargets, type TestDatabase } from "../support/databases.ts";
import type { FakeBotApi } from "../support/fake-bot-api.ts";
import type { Runtime } from "../../src/runtime.ts";
import { createBots, linkBots, openWorld, startServerProcess, stopWorld, type ServerEnv, type ServerProcess } from "../support/server-process.ts";
import { freePort } from "../support/child-process.ts";
import { rawConnect, slowBody, slowHeaders } from "../support/raw-http.ts";
import { until } from "../support/wait.ts";

// Timeouts long enough that only shutdown can end these clients.
const NO_REAPING = { HTTP_IDLE_TIMEOUT_MS: "300000", HTTP_HEADERS_TIMEOUT_MS: "300000", HTTP_REQUEST_TIMEOUT_MS: "300000" };
// How long the whole process may take to exit after SIGTERM, on a loaded machine (grace is 1 s).
const EXIT_BOUND_MS = 20_000;

for (const target of dbTargets()) {
  describe(`timeouts and shutdown (${target.name})`, () => {
    let database: TestDatabase;
    let fake: FakeBotApi;
    let env: ServerEnv;
    let rt: Runtime;
    const servers: ServerProcess[] = [];

    before(async () => {
      ({ database, fake, env, rt } = await openWorld(target));
    });

    after(async () => {
      for (const s of servers) await s.stop("SIGKILL");
      await stopWorld({ rt, fake, database });
    });

    const start = async (extraEnv: Record<string, string>, port?: number) => {
      const s = await startServerProcess({ env, port, extraEnv, logLevel: "info" });
      servers.push(s);
      return s;
    };

    const exitWithin = async (s: ServerProcess, ms: number) => {
      let timer: NodeJS.Timeout | undefined;
      const bound = new Promise<"still running">((r) => {
        timer = setTimeout(() => r("still running"), ms);
      });
      try {
        return await Promise.race([s.exited, bound]);
      } finally {
        clearTimeout(timer);
      }
    };

    it("SIGTERM with an idle connection and a slow body open: the process still exits 0, within the bound", { timeout: 90_000 }, async () => {
      const s = await start({ ...NO_REAPING, SHUTDOWN_GRACE_MS: "1000" });
      const idle = await rawConnect(s.port);
      const slow = await slowBody(s.port, "/plugins/telegram/webhook/1/");
      const slowHead = await slowHeaders(s.port);
      try {
        s.kill("SIGTERM");
        const exit = await exitWithin(s, EXIT_BOUND_MS);
        assert.deepEqual(exit, { code: 0, signal: null }, `serve exits 0 after SIGTERM despite the open clients\n${s.stderr().slice(-2000)}`);
        await until(() => idle.closed && slow.closed && slowHead.closed, "the clients' connections were closed", 5000);
        assert.equal(slow.received().includes("200 OK"), false, "the half-sent update was never answered 200");
      } finally {
        for (const c of [idle, slow, slowHead]) c.stop();
      }
    });

    it("idle, slow-header, slow-body and kept-alive connections are closed by the server's timeouts", { timeout: 90_000 }, async () => {
      const s = await start({
        HTTP_IDLE_TIMEOUT_MS: "1500",
        HTTP_HEADERS_TIMEOUT_MS: "1000",
        HTTP_REQUEST_TIMEOUT_MS: "3000",
        HTTP_KEEPALIVE_TIMEOUT_MS: "1000",
      });
      const idle = await rawConnect(s.port);
      const slow = await slowBody(s.port, "/plugins/telegram/webhook/1/", 100);
      const slowHead = await slowHeaders(s.port, 100);
      const kept = await rawConnect(s.port);
      kept.socket.write("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n");
      try {
        await kept.waitFor('{"ok":true}');
        // Bounded polling, far above the timeouts: the point is that they are closed at all
        // (without timeouts they stay open for minutes).
        await until(() => idle.closed, "the idle connection (no byte sent) was closed", 30_000);
        await until(() => slowHead.closed, "the connection whose headers trickle in was closed", 30_000);
        await until(() => slow.closed, "the connection whose body trickles in was closed", 30_000);
        await until(() => kept.closed, "the kept-alive connection was closed", 30_000);
        // The slow body was told why, in the project's format.
        assert.match(slow.received(), /^HTTP\/1\.1 408 /, slow.received());
        assert.match(slow.received(), /"error_code":"REQUEST_TIMEOUT"/);
        // And the server still serves.
        const r = await fetch(`${s.url}/healthz`);
        assert.equal(r.status, 200);
      } finally {
        for (const c of [idle, slow, slowHead, kept]) c.stop();
        await s.stop("SIGTERM");
      }
    });

    it("an update in flight at SIGTERM is committed and answered 200; one that starts after gets our 503", { timeout: 120_000 }, async () => {
      const port = await freePort();
      const [bot] = await createBots(rt, fake, `http://127.0.0.1:${port}`, 1);
      const s = await start({ SHUTDOWN_GRACE_MS: "5000" }, port);
      await linkBots(fake, [bot!]);
      const update = fake.makeTextUpdate(bot!.token, { chatId: bot!.chatId, text: "en vuelo durante el apagado" });
      const next = fake.makeTextUpdate(bot!.token, { chatId: bot!.chatId, text: "llega tarde" });
      const body = JSON.stringify(update);
      const nextBody = JSON.stringify(next);
      const path = `/plugins/telegram/webhook/${bot!.pluginId}/`;
      const head = (len: number, expect: boolean) =>
        `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nX-Telegram-Bot-Api-Secret-Token: ${bot!.secret}\r\nContent-Length: ${len}\r\n${expect ? "Expect: 100-continue\r\n" : ""}\r\n`;
      const c = await rawConnect(s.port);
      try {
        // "100 Continue" proves the server has taken the request in before SIGTERM.
        c.socket.write(head(Buffer.byteLength(body), true));
        await c.waitFor("100 Continue");
        s.kill("SIGTERM");
        // The process is shutting down (it has logged so) before the body comes.
        await until(() => s.stderr().includes("shutting down"), "serve logged that it is shutting down", 20_000);
        // The body, and right behind it (pipelined) a request that starts during shutdown.
        c.socket.write(body + head(Buffer.byteLength(nextBody), false) + nextBody);
        await c.waitFor('{"ok":true}');
        await until(() => c.received().includes("SHUTTING_DOWN") || c.closed, "the second request was answered or the connection closed", 20_000);
        const exit = await exitWithin(s, EXIT_BOUND_MS);
        assert.deepEqual(exit, { code: 0, signal: null }, s.stderr().slice(-2000));

        const responses = c.received().split(/(?=HTTP\/1\.1 )/);
        assert.match(responses[0]!, /^HTTP\/1\.1 100 Continue/);
        assert.match(responses[1]!, /^HTTP\/1\.1 200 /);
        assert.match(responses[2] ?? "", /^HTTP\/1\.1 503 /, `the request that started during shutdown: ${c.received()}`);
        const json = JSON.parse(responses[2]!.slice(responses[2]!.indexOf("\r\n\r\n") + 4)) as Record<string, unknown>;
        assert.deepEqual(Object.keys(json).sort(), ["description", "error_code", "ok"]);
        assert.equal(json.ok, false);
        assert.equal(json.error_code, "SHUTTING_DOWN");

        const tasks = await rt.store.db.selectFrom("tasks").select(["titulo"]).where("plugin_id", "=", bot!.pluginId).execute();
        assert.deepEqual(
          tasks.map((t) => t.titulo),
          ["en vuelo durante el apagado"],
          "the update in flight was committed; the late one was not",
        );
      } finally {
        c.stop();
      }
    });
  });
}
