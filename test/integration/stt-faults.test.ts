// Transcription under faults, on both databases: a server killed (kill -9) in the middle of a
// transcription leaves the job to be taken again once its lease runs out — transcribed once,
// the chat edited once; two workers on one database never transcribe the same note twice.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { dbTargets } from "../support/databases.ts";
import { startFakeStt } from "../support/fake-stt.ts";
import { startServerProcess, openTestRuntime, startWorld, stopWorld } from "../support/server-process.ts";
import { until } from "../support/wait.ts";
import { SttWorker } from "../../src/stt/worker.ts";
import { openAiProvider } from "../../src/stt/providers/openai.ts";
import { listTasks } from "../../src/tasks/store.ts";
import { createLogger } from "../../src/log.ts";

const NOTE = new Uint8Array(fs.readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), "../fixtures/voice/nota.ogg")));

const BOUND_MS = 60_000;

for (const target of dbTargets()) {
  describe(`transcription faults (${target.name})`, () => {
    test("kill -9 mid-transcription: retaken after the lease, transcribed once, the chat edited once", async () => {
      const stt = await startFakeStt();
      const extraEnv = { STT_PROVIDER: "openai", STT_URL: stt.url, STT_LEASE_SECONDS: "3", STT_TIMEOUT_SECONDS: "600" };
      const world = await startWorld(target, 1, extraEnv);
      const {
        fake,
        env,
        rt,
        port,
        bots: [bot],
      } = world;
      try {
        let server = world.server;
        stt.faults.push({ hang: true }); // the first transcription never answers
        stt.respond = () => "sobrevive al kill";
        fake.addFile(bot!.token, { file_id: "crash-voice", bytes: NOTE });
        const r = await fake.deliverUpdate(bot!.token, fake.makeVoiceUpdate(bot!.token, { chatId: bot!.chatId, fileId: "crash-voice", duration: 6 }));
        assert.equal(r.status, 200);
        await until(async () => stt.uploads.length === 1, "the upload in progress", BOUND_MS);
        server.kill("SIGKILL");
        await server.exited;
        server = await startServerProcess({ env, extraEnv, port });
        try {
          const task = await until(
            async () => {
              const t = (await listTasks(rt.store.db, rt.store.seam, { pluginId: bot!.pluginId })).find((x) => x.tipo === "telegram_voice");
              return t?.metadatos_extra.pendiente_stt === false ? t : null;
            },
            "transcribed after the restart",
            BOUND_MS,
          );
          assert.equal(task.titulo, "sobrevive al kill");
          assert.equal((task.metadatos_extra.stt as { intentos: number }).intentos, 2);
          await until(async () => fake.edits.length >= 1, "edit", BOUND_MS);
          await new Promise((r2) => setTimeout(r2, 1500));
          assert.equal(fake.edits.length, 1, "the chat is edited once");
          const events = await rt.store.db.selectFrom("events").selectAll().where("task_id", "=", task.id).where("type", "=", "task.updated").execute();
          assert.equal(events.length, 1);
        } finally {
          world.server = server; // the restarted one, for stopWorld
        }
      } finally {
        await stopWorld(world);
        await stt.close();
      }
    });

    test("a note the process died on STT_MAX_ATTEMPTS times is failed, not taken again forever", async () => {
      const stt = await startFakeStt();
      const world = await startWorld(target, 1);
      const {
        fake,
        rt,
        bots: [bot],
      } = world;
      let w: SttWorker | undefined;
      try {
        fake.addFile(bot!.token, { file_id: "deadly", bytes: NOTE });
        assert.equal(
          (await fake.deliverUpdate(bot!.token, fake.makeVoiceUpdate(bot!.token, { chatId: bot!.chatId, fileId: "deadly", duration: 6 }))).status,
          200,
        );
        const task = await until(
          async () => (await listTasks(rt.store.db, rt.store.seam, { pluginId: bot!.pluginId })).find((x) => x.tipo === "telegram_voice"),
          "the voice task",
          BOUND_MS,
        );
        // As left by three processes that each died in the middle of this note: leased, lease run out.
        await rt.store.db
          .insertInto("stt_jobs")
          .values({ task_id: task.id, estado: "transcribing", attempts: 3, next_attempt_at: 0, lease_until: 1, last_error: null, updated_at: 0 })
          .execute();
        w = new SttWorker({
          db: rt.store.db,
          seam: rt.store.seam,
          fernet: rt.keys.fernet,
          apiRoot: fake.url,
          logger: createLogger("silent"),
          provider: openAiProvider({ url: stt.url, model: "whisper-1" }),
          maxAttempts: 3,
          pollMs: 20,
        });
        w.start();
        const failed = await until(
          async () => {
            const t = (await listTasks(rt.store.db, rt.store.seam, { pluginId: bot!.pluginId })).find((x) => x.id === task.id)!;
            return (t.metadatos_extra.stt as { estado?: string } | undefined)?.estado === "failed" ? t : null;
          },
          "failed for good",
          BOUND_MS,
        );
        assert.match(String((failed.metadatos_extra.stt as { error: string }).error), /stopped 3 times/);
        assert.equal(stt.uploads.length, 0, "not transcribed a fourth time");
      } finally {
        await w?.stop();
        await stopWorld(world);
        await stt.close();
      }
    });

    test("two workers on one database: each of 12 notes is transcribed exactly once", async () => {
      const stt = await startFakeStt();
      const world = await startWorld(target, 1);
      const {
        fake,
        env,
        rt,
        bots: [bot],
      } = world;
      const rtB = await openTestRuntime(env);
      const workers: SttWorker[] = [];
      try {
        for (let i = 0; i < 12; i++) {
          fake.addFile(bot!.token, { file_id: `v${i}`, bytes: NOTE });
          const r = await fake.deliverUpdate(bot!.token, fake.makeVoiceUpdate(bot!.token, { chatId: bot!.chatId, fileId: `v${i}`, duration: 6 }));
          assert.equal(r.status, 200);
        }
        let n = 0;
        stt.respond = () => `nota ${++n}`;
        for (const r of [rt, rtB]) {
          const w = new SttWorker({
            db: r.store.db,
            seam: r.store.seam,
            fernet: r.keys.fernet,
            apiRoot: fake.url,
            logger: createLogger("silent"),
            provider: openAiProvider({ url: stt.url, model: "whisper-1" }),
            concurrency: 3,
            pollMs: 20,
          });
          w.start();
          workers.push(w);
        }
        await until(
          async () => {
            const ts = (await listTasks(rt.store.db, rt.store.seam, { pluginId: bot!.pluginId })).filter((x) => x.tipo === "telegram_voice");
            return ts.length === 12 && ts.every((t) => t.metadatos_extra.pendiente_stt === false);
          },
          "all transcribed",
          BOUND_MS,
        );
        assert.equal(stt.uploads.length, 12, "one upload per note");
        await until(async () => fake.edits.length >= 12, "12 confirmations edited", BOUND_MS);
        await new Promise((r2) => setTimeout(r2, 1000));
        assert.equal(fake.edits.length, 12, "each note's confirmation edited once");
        assert.equal(workers[0]!.stats.done + workers[1]!.stats.done, 12);
      } finally {
        for (const w of workers) await w.stop();
        await rtB.close();
        await stopWorld(world);
        await stt.close();
      }
    });
  });
}
