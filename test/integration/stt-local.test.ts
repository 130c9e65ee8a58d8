// STT_PROVIDER=local: whisper.cpp (built by `npx joe-telegram stt install`) loading and running a
// model in the real ggml whisper layout with random weights, written by the test itself (no real
// weights can be downloaded here). The transcript is nonsense; loading, decoding, the child
// process, the state changes and the chat edit are real.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { dbTargets } from "../support/databases.ts";
import { startStack, type Stack } from "../support/stack.ts";
import { writeRandomWhisperModel, WHISPER_SIZES } from "../../src/stt/ggml-random-model.ts";
import { whisperInstalled } from "../../src/stt/whisper-runtime.ts";
import { localWhisperProvider } from "../../src/stt/providers/local.ts";
import { decodeOggOpus } from "../../src/stt/audio.ts";
import { createLogger } from "../../src/log.ts";
import { until } from "../support/wait.ts";

const NOTE = new Uint8Array(fs.readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), "../fixtures/voice/nota.ogg")));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "joe-whisper-"));
const MODEL = path.join(dir, "ggml-random-test.bin");

describe("local whisper.cpp provider", {
  skip: whisperInstalled() ? false : "whisper.cpp not built: run `npx joe-telegram stt install` (.ci/run does)",
}, () => {
  before(() => {
    writeRandomWhisperModel(MODEL, WHISPER_SIZES.test!);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  test("loads a random-weight model in the real layout and transcribes a real OGG/Opus note in a child process", async () => {
    const provider = localWhisperProvider({ modelPath: MODEL, threads: 1, logger: createLogger("silent") });
    try {
      const audio = await decodeOggOpus(NOTE);
      const t = await provider.transcribe({ ogg: NOTE, audio, language: "es", signal: new AbortController().signal });
      assert.equal(typeof t.text, "string");
      assert.equal(t.language, "es");
    } finally {
      await provider.close?.();
    }
  });

  test("a model file that is not a whisper model is refused with a clear error, not a crash", async () => {
    const bad = path.join(dir, "not-a-model.bin");
    fs.writeFileSync(bad, "hello");
    const provider = localWhisperProvider({ modelPath: bad, threads: 1, logger: createLogger("silent") });
    try {
      const audio = await decodeOggOpus(NOTE);
      await assert.rejects(provider.transcribe({ ogg: NOTE, audio, signal: new AbortController().signal }), /could not load the model|process ended/);
    } finally {
      await provider.close?.();
    }
  });

  for (const target of dbTargets()) {
    describe(`end to end (${target.name})`, () => {
      let s: Stack;
      before(async () => {
        s = await startStack(target, { env: { STT_PROVIDER: "local", WHISPER_MODEL: MODEL, WHISPER_THREADS: "1" } });
      });
      after(async () => {
        await s.stop();
      });

      test("a voice note is transcribed by whisper.cpp, titled, and the confirmation edited; the webhook answers meanwhile", async () => {
        const bot = await s.addBot();
        await s.link(bot, 4242);
        s.fake.addFile(bot.token, { file_id: "local-voice", bytes: NOTE });
        const update = s.fake.makeVoiceUpdate(bot.token, { chatId: 4242, fileId: "local-voice", duration: 6, languageCode: "es" });
        assert.equal((await s.fake.deliverUpdate(bot.token, update)).status, 200);
        // While whisper.cpp works in its child process, the server still answers webhooks.
        const during = await s.sendText(bot, 4242, "texto mientras se transcribe");
        assert.equal(during.status, 200);
        const task = await until(
          async () => {
            const t = (await s.tasks(bot.pluginId)).find((x) => x.tipo === "telegram_voice");
            return t?.metadatos_extra.pendiente_stt === false ? t : null;
          },
          "transcribed voice task",
          60_000,
        );
        const info = task.metadatos_extra.stt as Record<string, unknown>;
        assert.equal(info.proveedor, "local");
        assert.equal(info.modelo, "ggml-random-test.bin");
        assert.equal(typeof task.metadatos_extra.transcripcion, "string");
        await until(async () => s.fake.edits.find((e) => e.token === bot.token && e.text.includes(task.codigo)), "confirmation edited", 60_000);
      });
    });
  }
});
