// Workers as separate OS processes against real servers, on SQLite and PostgreSQL:
//  - 5 worker processes, spread over two server instances on one database, claim 1,000 tasks;
//    one is kill -9'ed right after a claim (mid-lease). Its tasks come back when the 10 s lease
//    runs out and are done by the others: every task done exactly once, none lost.
//  - the README's worker (examples/worker.ts, included verbatim in the README) runs the loop:
//    claim → work → complete, and the chat is answered.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { Writable } from "node:stream";
import { dbTargets } from "../support/databases.ts";
import { startStack, type Stack } from "../support/stack.ts";
import { PROJECT_ROOT as REPO_ROOT, childEnv, trackChild } from "../support/child-process.ts";
import { insertQueuedTasks, taskFromChat, userWithBot } from "../support/api-client.ts";
import { until } from "../support/wait.ts";
import { loadConfig } from "../../src/config.ts";
import { createLogger } from "../../src/log.ts";
import { openRuntime, startServer, type Running } from "../../src/runtime.ts";

interface Proc {
  child: ChildProcess;
  lines: string[];
  exited: Promise<number | null>;
}

function run(file: string, env: Record<string, string>): Proc {
  // A worker script, not the CLI: the same stripped environment, and killed if the test dies.
  const child = spawn(process.execPath, ["--import", "tsx", file], { cwd: REPO_ROOT, env: childEnv(env), stdio: ["ignore", "pipe", "pipe"] });
  trackChild(child);
  const lines: string[] = [];
  let buf = "";
  child.stdout!.on("data", (d: Buffer) => {
    buf += d.toString();
    const parts = buf.split("\n");
    buf = parts.pop()!;
    lines.push(...parts);
  });
  child.stderr!.on("data", (d: Buffer) => lines.push(`stderr: ${d.toString()}`));
  const exited = new Promise<number | null>((res) => child.on("exit", (code) => res(code)));
  return { child, lines, exited };
}

for (const target of dbTargets()) {
  describe(`workers (${target.name})`, () => {
    let s: Stack;
    let second: Running;
    before(async () => {
      s = await startStack(target);
      // A second instance on the same database (workers off: only its HTTP API is used).
      const config = loadConfig({
        PORT: "0",
        HOST: "127.0.0.1",
        DATA_DIR: s.database.dataDir,
        DATABASE_URL: s.database.url,
        FERNET_KEYS: s.fernetKey,
        TELEGRAM_API_ROOT: s.fake.url,
        LOG_LEVEL: "warn",
      });
      const rt = await openRuntime({
        config,
        logger: createLogger(
          "warn",
          new Writable({
            write(_c, _e, cb) {
              cb();
            },
          }),
        ),
      });
      second = await startServer(rt, { workers: false });
    });
    after(async () => {
      await second.stop();
      await s.stop();
    });

    test("5 worker processes on two instances, 1,000 tasks, one worker kill -9'ed mid-lease: each task done exactly once", { timeout: 180_000 }, async () => {
      const u = await userWithBot(s);
      await insertQueuedTasks(s.rt.store.db, s.rt.store.seam, { usuarioId: u.usuarioId, pluginId: u.bot.pluginId, chatId: u.chatId }, 1000, 100_000);
      const urls = [s.baseUrl, second.url!.replace("localhost", "127.0.0.1")];
      const workers = Array.from({ length: 5 }, (_, i) => run("test/support/claim-worker.ts", { JOE_URL: urls[i % 2]!, JOE_TOKEN: u.token, WORK_MS: "15" }));
      const procs = [...workers];
      try {
        const victim = workers[0]!;
        await until(() => victim.lines.some((l) => l.startsWith("claimed")), "the first worker's claim", 60_000);
        victim.child.kill("SIGKILL");
        await victim.exited;
        const stranded = new Set(victim.lines.filter((l) => l.startsWith("claimed")).flatMap((l) => l.split(" ").slice(1)));
        for (const l of victim.lines) if (l.startsWith("done ")) stranded.delete(l.slice(5));
        assert.ok(stranded.size > 0, "the killed worker held tasks it had not completed");

        const doneCount = async () =>
          Number(
            (
              await s.rt.store.db
                .selectFrom("tasks")
                .select((eb) => eb.fn.countAll().as("n"))
                .where("plugin_id", "=", u.bot.pluginId)
                .where("estado", "=", "done")
                .executeTakeFirstOrThrow()
            ).n,
          );
        await until(async () => (await doneCount()) === 1000, "all 1,000 tasks done", 150_000);
        // Who completed each task, according to the database (the worker writes its pid as resultado).
        const rows = (
          await s.rt.store.db.selectFrom("tasks").select(["codigo", "estado", "attempts", "metadatos_extra"]).where("plugin_id", "=", u.bot.pluginId).execute()
        ).map((r) => ({
          ...r,
          by: Number(/^by (\d+)$/.exec(String((s.rt.store.seam.json.parse(r.metadatos_extra) as { resultado?: string }).resultado))?.[1]),
        }));
        const doneBy = (w: Proc) => new Set(w.lines.filter((l) => l.startsWith("done ")).map((l) => l.slice(5)));
        // A worker prints "done" after the answer arrives, a moment after the commit: wait until every
        // surviving worker has reported every task the database says it completed.
        await until(() => rows.every((r) => r.by === victim.child.pid || doneBy(workers.find((w) => w.child.pid === r.by)!).has(r.codigo)), "workers' reports");
        for (const w of workers.slice(1)) w.child.kill("SIGTERM");
        await Promise.all(workers.map((w) => w.exited));

        assert.equal(rows.filter((r) => r.estado === "done").length, 1000);
        const done = workers.flatMap((w) => [...doneBy(w)].map((c) => ({ pid: w.child.pid, c })));
        const all = workers.flatMap((w) => w.lines.filter((l) => l.startsWith("done ")));
        assert.equal(new Set(all).size, all.length, "no worker was told twice");
        assert.equal(new Set(done.map((d) => d.c)).size, done.length, "no task acknowledged to two workers");
        const byCode = new Map(rows.map((r) => [r.codigo, r]));
        for (const d of done) assert.equal(byCode.get(d.c)!.by, d.pid, `${d.c}: the acknowledged worker is the one whose result was kept`);
        // Only the killed worker may have had a complete committed whose answer it never read.
        assert.ok(done.length >= 999, `${done.length} acknowledged completes`);
        const errors = workers.flatMap((w) => w.lines.filter((l) => l.startsWith("error") || l.startsWith("stderr")));
        assert.deepEqual(errors, []);
        for (const c of stranded) {
          const r = byCode.get(c)!;
          assert.ok(r.by === victim.child.pid || Number(r.attempts) >= 2, `${c} was claimed again after the lease ran out`);
        }
        // Every change has its event: claim + complete, plus requeue + claim for each stranded task.
        const ev = await s.rt.store.db
          .selectFrom("events")
          .select((eb) => eb.fn.countAll().as("n"))
          .where("usuario_id", "=", u.usuarioId)
          .where("type", "=", "task.state_changed")
          .executeTakeFirstOrThrow();
        const attempts = rows.reduce((n, r) => n + Number(r.attempts), 0);
        assert.equal(Number(ev.n), attempts + 1000 + (attempts - 1000), "one event per claim, per requeue, per complete");
      } finally {
        for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill("SIGKILL");
      }
    });

    test("the README's worker runs the loop: claim → work → complete, and the chat is answered", { timeout: 60_000 }, async () => {
      const readme = fs.readFileSync(path.join(REPO_ROOT, "README.md"), "utf8");
      const source = fs.readFileSync(path.join(REPO_ROOT, "examples/worker.ts"), "utf8");
      assert.ok(readme.includes("```ts\n" + source + "```"), "README shows examples/worker.ts verbatim");

      const u = await userWithBot(s);
      const a = await taskFromChat(s, u, "Regar las plantas");
      const b = await taskFromChat(s, u, "Pagar la luz");
      await s.fake.waitForMessages(3, u.bot.token);
      const w = run("examples/worker.ts", { JOE_URL: s.baseUrl, JOE_TOKEN: u.token, JOE_EXIT_WHEN_IDLE: "1" });
      assert.equal(await w.exited, 0, w.lines.join("\n"));
      const rows = await s.rt.store.db.selectFrom("tasks").select(["codigo", "estado"]).where("plugin_id", "=", u.bot.pluginId).orderBy("id").execute();
      assert.deepEqual(
        rows.map((r) => `${r.codigo}:${r.estado}`),
        [`${a.codigo}:done`, `${b.codigo}:done`],
      );
      await s.fake.waitForMessages(5, u.bot.token);
      const replies = s.fake
        .sentMessages(u.bot.token)
        .slice(3)
        .map((m) => `${m.reply_to_message_id} ${m.text}`)
        .sort();
      assert.deepEqual(
        replies,
        [`${a.messageId} ✔️ Hecho [${a.codigo}]: "Regar las plantas" anotado`, `${b.messageId} ✔️ Hecho [${b.codigo}]: "Pagar la luz" anotado`].sort(),
      );
    });
  });
}
