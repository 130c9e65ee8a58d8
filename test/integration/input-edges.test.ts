// Issue 10, item 7 — small things Telegram (or a proxy in front of Joe) may send, over real HTTP
// on both databases: a text of blanks only, a voice note with a caption, a UTF-8 BOM before the
// JSON, and compressed bodies (gzip decoded within the body limit; a zip bomb refused with 413;
// other encodings 415; broken gzip 400 — never a 5xx that Telegram would redeliver forever).
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import zlib from "node:zlib";
import { dbTargets } from "../support/databases.ts";
import { startStack, type Stack, type TestBot } from "../support/stack.ts";

const CHAT = 62_001;

for (const target of dbTargets()) {
  describe(`input edges (${target.name})`, () => {
    let s: Stack;
    let bot: TestBot;

    before(async () => {
      s = await startStack(target);
      bot = await s.addBot();
      await s.link(bot, CHAT);
    });
    after(() => s.stop());

    /** POST raw bytes to the bot's webhook with the right secret. */
    const post = async (body: Buffer | string, headers: Record<string, string> = {}) => {
      const r = await fetch(`${s.baseUrl}/plugins/telegram/webhook/${bot.pluginId}/`, {
        method: "POST",
        body: typeof body === "string" ? body : new Uint8Array(body),
        headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": bot.secret, ...headers },
      });
      return { status: r.status, text: await r.text() };
    };
    const textUpdate = (text: string) => s.fake.makeTextUpdate(bot.token, { chatId: CHAT, text });
    const titles = async () => (await s.tasks(bot.pluginId)).map((t) => t.titulo);
    const assertOurError = (text: string, code: string) => {
      const json = JSON.parse(text) as Record<string, unknown>;
      assert.deepEqual(Object.keys(json).sort(), ["description", "error_code", "ok"], text);
      assert.equal(json.error_code, code, text);
    };

    it("a text of blanks only makes no task; the chat is told nothing was saved", async () => {
      const before = s.fake.sentMessages(bot.token).length;
      const count = (await s.tasks(bot.pluginId)).length;
      for (const blank of ["   ", " \n\t ", "\u200b \u2060"]) {
        const r = await s.sendText(bot, CHAT, blank);
        assert.equal(r.status, 200, r.body);
      }
      assert.equal((await s.tasks(bot.pluginId)).length, count, "no task was created");
      await s.fake.waitForMessages(before + 3, bot.token);
      const replies = s.fake.sentMessages(bot.token).slice(before);
      assert.ok(
        replies.every((m) => /vacío/.test(m.text)),
        JSON.stringify(replies.map((m) => m.text)),
      );
    });

    it("a voice note with a caption keeps the caption (metadatos_extra.texto_original)", async () => {
      const update = textUpdate("x");
      const message = update.message as Record<string, unknown>;
      delete message.text;
      message.caption = "comprar leche y pan";
      message.voice = { file_id: "VOICE-CAPTION-1", file_unique_id: "U-CAP-1", duration: 7, mime_type: "audio/ogg" };
      const r = await s.fake.deliverUpdate(bot.token, update);
      assert.equal(r.status, 200, r.body);
      const task = (await s.tasks(bot.pluginId)).find((t) => t.metadatos_extra.file_id === "VOICE-CAPTION-1");
      assert.ok(task, "a voice task was created");
      assert.equal(task.tipo, "telegram_voice");
      assert.equal(task.metadatos_extra.pendiente_stt, true);
      assert.equal(task.metadatos_extra.texto_original, "comprar leche y pan");
    });

    it("a UTF-8 BOM before the JSON is accepted: 200 and the task", async () => {
      const body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(textUpdate("con BOM delante")))]);
      const r = await post(body);
      assert.equal(r.status, 200, r.text);
      assert.ok((await titles()).includes("con BOM delante"));
    });

    it("Content-Encoding: gzip is decoded; a zip bomb is refused with 413; br 415; broken gzip 400", async () => {
      const gz = zlib.gzipSync(JSON.stringify(textUpdate("comprimido con gzip")));
      const r = await post(gz, { "content-encoding": "gzip" });
      assert.equal(r.status, 200, r.text);
      assert.ok((await titles()).includes("comprimido con gzip"));

      // 20 MB of JSON in about 20 KB: inflating stops at the body limit.
      const huge = JSON.stringify({ ...textUpdate("bomba"), pad: "0".repeat(20 * 1024 * 1024) });
      const bomb = zlib.gzipSync(huge, { level: 9 });
      assert.ok(bomb.length < 256 * 1024, `the bomb itself is small (${bomb.length} bytes)`);
      const b = await post(bomb, { "content-encoding": "gzip" });
      assert.equal(b.status, 413, b.text);
      assertOurError(b.text, "BODY_TOO_LARGE");
      assert.ok(!(await titles()).includes("bomba"));

      const br = await post(zlib.brotliCompressSync(JSON.stringify(textUpdate("brotli"))), { "content-encoding": "br" });
      assert.equal(br.status, 415, br.text);
      assertOurError(br.text, "UNSUPPORTED_ENCODING");
      assert.match(br.text, /gzip/, "says what to send instead");

      const broken = await post(gz.subarray(0, gz.length - 8).toString("latin1") + "garbage", { "content-encoding": "gzip" });
      assert.equal(broken.status, 400, broken.text);
      assert.ok(!(await titles()).includes("brotli"));
    });
  });
}
