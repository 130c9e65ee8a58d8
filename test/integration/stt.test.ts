// Voice notes become titled tasks: through the real server, the fake Bot API serving a real
// OGG/Opus note (test/fixtures/voice/nota.ogg, made with espeak-ng + opusenc), and a fake
// OpenAI-compatible transcription API, on both databases.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { dbTargets } from "../support/databases.ts";
import { startStack, type Stack, type TestBot } from "../support/stack.ts";
import { startFakeStt, type FakeStt } from "../support/fake-stt.ts";
import { until } from "../support/wait.ts";

const NOTE = new Uint8Array(fs.readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), "../fixtures/voice/nota.ogg")));
let chatSeq = 7_000;

for (const target of dbTargets()) {
  describe(`voice transcription, openai provider (${target.name})`, () => {
    let s: Stack;
    let stt: FakeStt;
    before(async () => {
      stt = await startFakeStt();
      s = await startStack(target, {
        env: {
          STT_PROVIDER: "openai",
          STT_URL: stt.url,
          STT_API_KEY: "sk-test-secret-key",
          STT_MODEL: "whisper-1",
          STT_RETRY_BASE_SECONDS: "0.2",
          STT_TIMEOUT_SECONDS: "2",
          STT_MAX_ATTEMPTS: "3",
        },
      });
    });
    after(async () => {
      await s.stop();
      await stt.close();
    });

    async function linkedBot(): Promise<{ bot: TestBot; chat: number }> {
      const bot = await s.addBot();
      const chat = ++chatSeq;
      await s.link(bot, chat);
      return { bot, chat };
    }

    async function sendVoice(bot: TestBot, chat: number, fileId: string, o: { bytes?: Uint8Array; fileSize?: number; languageCode?: string } = {}) {
      s.fake.addFile(bot.token, { file_id: fileId, bytes: o.bytes ?? NOTE });
      const update = s.fake.makeVoiceUpdate(bot.token, { chatId: chat, fileId, duration: 6, fileSize: o.fileSize, languageCode: o.languageCode });
      const r = await s.fake.deliverUpdate(bot.token, update);
      assert.equal(r.status, 200);
      return (update.message as { message_id: number }).message_id;
    }

    const taskOf = async (pluginId: number) => (await s.tasks(pluginId)).find((t) => t.tipo === "telegram_voice");

    test("a voice note ends as a titled task with its transcript, and the confirmation is edited to carry it", async () => {
      const { bot, chat } = await linkedBot();
      stt.respond = () => "Comprar pan y llamar a Marta.";
      const uploadsBefore = stt.uploads.length;
      await sendVoice(bot, chat, "voice-ok", { languageCode: "es-ES" });
      const task = await until(async () => {
        const t = await taskOf(bot.pluginId);
        return t && t.metadatos_extra.pendiente_stt === false ? t : null;
      }, "transcribed task");
      assert.equal(task.titulo, "Comprar pan y llamar a Marta.");
      assert.equal(task.metadatos_extra.transcripcion, "Comprar pan y llamar a Marta.");
      const info = task.metadatos_extra.stt as Record<string, unknown>;
      assert.equal(info.estado, "done");
      assert.equal(info.proveedor, "openai");
      assert.equal(info.modelo, "whisper-1");
      assert.equal(info.idioma, "es");
      assert.ok(Math.abs((info.segundos_audio as number) - 5.8) < 0.3, `audio seconds ${info.segundos_audio}`);
      // The upload: multipart with the OGG bytes as Telegram had them, the model, the language and the key.
      const up = stt.uploads.slice(uploadsBefore);
      assert.equal(up.length, 1);
      assert.equal(up[0]!.model, "whisper-1");
      assert.equal(up[0]!.language, "es");
      assert.equal(up[0]!.authorization, "Bearer sk-test-secret-key");
      assert.deepEqual(Buffer.from(up[0]!.bytes), Buffer.from(NOTE));
      // The chat: the confirmation, then that same message edited to carry the transcript.
      const edit = await until(async () => s.fake.edits.find((e) => e.token === bot.token), "the confirmation edited");
      const confirmation = s.fake.sentMessages(bot.token).find((m) => m.text.includes(task.codigo))!;
      assert.equal(edit.message_id, confirmation.message_id);
      assert.equal(edit.text, `✅ Recibido. Encolando... [${task.codigo}]\n\n🎤 Comprar pan y llamar a Marta.`);
    });

    test("a transcript longer than one Telegram message reaches the chat whole", async () => {
      const { bot, chat } = await linkedBot();
      const words = Array.from({ length: 1500 }, (_, i) => `palabra${i}`);
      stt.respond = () => words.join(" ");
      await sendVoice(bot, chat, "voice-long");
      await until(async () => s.fake.edits.find((e) => e.token === bot.token), "edit");
      await until(async () => {
        const got = [
          s.fake.edits.find((e) => e.token === bot.token)!.text,
          ...s.fake
            .sentMessages(bot.token)
            .filter((m) => m.text.includes("palabra"))
            .map((m) => m.text),
        ].join(" ");
        return got.includes("palabra1499");
      }, "the rest of the transcript");
      const pieces = [
        s.fake.edits.find((e) => e.token === bot.token)!.text.split("🎤 ")[1]!,
        ...s.fake
          .sentMessages(bot.token)
          .filter((m) => m.text.startsWith("palabra"))
          .map((m) => m.text),
      ];
      for (const p of pieces) assert.ok(p.length <= 4096);
      assert.deepEqual(pieces.join(" ").split(/\s+/), words, "every word, in order, none cut");
    });

    test("a note over 20 MB is refused before any download, the task says why and the chat is told", async () => {
      const { bot, chat } = await linkedBot();
      const downloadsBefore = s.fake.downloads.length;
      await sendVoice(bot, chat, "voice-huge", { fileSize: 25 * 1024 * 1024 });
      const task = await until(async () => {
        const t = await taskOf(bot.pluginId);
        return t && (t.metadatos_extra.stt as { estado?: string } | undefined)?.estado === "failed" ? t : null;
      }, "failed task");
      assert.match(String((task.metadatos_extra.stt as { error: string }).error), /20 MB/);
      assert.equal(task.metadatos_extra.pendiente_stt, true);
      assert.equal(s.fake.downloads.length, downloadsBefore, "nothing downloaded");
      await until(
        async () => s.fake.sentMessages(bot.token).find((m) => m.text.includes("No pude transcribir") && m.text.includes(task.codigo)),
        "the chat told",
      );
    });

    test("an expired file link is fetched again with getFile", async () => {
      const { bot, chat } = await linkedBot();
      stt.respond = () => "enlace renovado";
      s.fake.expireFileLinks(bot.token, 1);
      await sendVoice(bot, chat, "voice-expired");
      const task = await until(async () => {
        const t = await taskOf(bot.pluginId);
        return t?.metadatos_extra.pendiente_stt === false ? t : null;
      }, "transcribed");
      assert.equal(task.titulo, "enlace renovado");
      assert.equal(s.fake.callsOf("getFile", bot.token).length, 2);
      assert.deepEqual(
        s.fake.downloads.filter((d) => d.token === bot.token).map((d) => d.status),
        [404, 200],
      );
    });

    test("a provider that fails (500, 429) or hangs is retried with backoff, and the chat hears once", async () => {
      const { bot, chat } = await linkedBot();
      stt.respond = () => "al final sí";
      // Request tries within one attempt are 3: the 4th failure ends the first attempt; the hang
      // times out the second; the third attempt succeeds.
      stt.faults.push({ status: 500 }, { status: 429, retryAfter: 1 }, { status: 503 }, { status: 502 }, { hang: true });
      await sendVoice(bot, chat, "voice-flaky");
      const task = await until(
        async () => {
          const t = await taskOf(bot.pluginId);
          return t?.metadatos_extra.pendiente_stt === false ? t : null;
        },
        "transcribed after retries",
        40_000,
      );
      assert.equal(task.titulo, "al final sí");
      assert.ok((task.metadatos_extra.stt as { intentos: number }).intentos >= 2);
      await until(async () => s.fake.edits.find((e) => e.token === bot.token), "edit");
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(s.fake.edits.filter((e) => e.token === bot.token).length, 1);
    });

    test("a provider that refuses the note (400) fails it for good after one attempt", async () => {
      const { bot, chat } = await linkedBot();
      stt.faults.push({ status: 400, message: "Invalid file format." });
      const before = stt.uploads.length;
      await sendVoice(bot, chat, "voice-refused");
      const task = await until(async () => {
        const t = await taskOf(bot.pluginId);
        return (t?.metadatos_extra.stt as { estado?: string } | undefined)?.estado === "failed" ? t : null;
      }, "failed");
      assert.match(String((task.metadatos_extra.stt as { error: string }).error), /Invalid file format/);
      assert.equal(stt.uploads.length - before, 1);
      // The chat hears a plain reason, not the provider's words.
      const told = await until(
        async () => s.fake.sentMessages(bot.token).find((m) => m.text.includes("No pude transcribir") && m.text.includes(task.codigo)),
        "the chat told",
      );
      assert.ok(!told.text.includes("Invalid file format"));
      assert.match(told.text, /servicio de transcripción falló/);
    });

    test("a provider set up wrong (401) is not the note's fault: the job waits 10 minutes and is not failed, the chat hears nothing yet", async () => {
      const { bot, chat } = await linkedBot();
      stt.faults.push({ status: 401, message: "Incorrect API key provided: sk-te********-key" });
      const before = s.fake.sentMessages(bot.token).length;
      await sendVoice(bot, chat, "voice-401");
      const job = await until(async () => {
        const t = await taskOf(bot.pluginId);
        if (!t) return null;
        const j = await s.rt.store.db.selectFrom("stt_jobs").selectAll().where("task_id", "=", t.id).executeTakeFirst();
        return j && j.estado === "pending" && j.last_error ? j : null;
      }, "the job waiting");
      assert.match(String(job.last_error), /401/);
      assert.ok(!String(job.last_error).includes("sk-te"), "no part of a key is kept");
      assert.ok(Number(job.next_attempt_at) - Date.now() > 9 * 60_000, "tried again in 10 minutes");
      const t = (await taskOf(bot.pluginId))!;
      assert.equal(t.metadatos_extra.pendiente_stt, true);
      assert.notEqual((t.metadatos_extra.stt as { estado?: string } | undefined)?.estado, "failed");
      await until(async () => s.fake.sentMessages(bot.token).length >= before + 1, "the confirmation");
      assert.ok(!s.fake.sentMessages(bot.token).some((m) => m.text.includes("No pude transcribir")), "no failure told to the chat");
    });

    test("the API key never appears in logs", async () => {
      const { capturedLogs } = await import("../support/stack.ts");
      assert.ok(!capturedLogs.join("\n").includes("sk-test-secret-key"));
    });
  });
}
