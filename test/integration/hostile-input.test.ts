// Hostile and broken input at the webhook, through real HTTP to a started stack: every answer is
// JSON, none is a 5xx, nothing is stored without the secret, and what is authenticated but not
// understood is kept for inspection (200) instead of becoming a task.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { sql } from "kysely";
import { dbTargets } from "../support/databases.ts";
import { capturedLogs, startStack, type Stack, type TestBot } from "../support/stack.ts";

const CHAT = 61_001;
const LIMIT = 256 * 1024;

interface Answer {
  status: number;
  body: string;
  json: unknown;
  contentType: string;
}

/** Raw HTTP request (no client-side helpfulness: the headers are exactly the ones given). */
function request(url: string, opts: { method?: string; headers?: Record<string, string>; body?: Buffer | string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const body = opts.body === undefined ? undefined : Buffer.isBuffer(opts.body) ? opts.body : Buffer.from(opts.body, "utf8");
    const headers: Record<string, string | number> = { ...opts.headers };
    if (body !== undefined) headers["content-length"] = body.length;
    const req = http.request(url, { method: opts.method ?? "POST", headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, body: text, json, contentType: String(res.headers["content-type"] ?? "") });
      });
      res.on("error", reject);
    });
    // The server may answer (413) and close before the whole body is written: that is fine.
    req.on("error", reject);
    req.end(body);
  });
}

for (const target of dbTargets()) {
  describe(`hostile input (${target.name})`, () => {
    let stack: Stack;
    let bot: TestBot;
    let url: string;
    const answers: Array<{ what: string; a: Answer }> = [];
    let nextUpdateId = 10_000;
    let nextMessageId = 5_000;

    /** A valid text update from the linked chat: with the right secret it would be a task. */
    const textUpdate = (text: string) => ({
      update_id: nextUpdateId++,
      message: {
        message_id: nextMessageId++,
        date: 1_700_000_000,
        chat: { id: CHAT, type: "private" },
        from: { id: CHAT, is_bot: false, first_name: "P" },
        text,
      },
    });

    async function post(what: string, opts: { path?: string; method?: string; headers?: Record<string, string>; body?: Buffer | string }): Promise<Answer> {
      const a = await request(stack.baseUrl + (opts.path ?? `/plugins/telegram/webhook/${bot.pluginId}/`), opts);
      answers.push({ what, a });
      return a;
    }
    const jsonHeaders = (secret?: string | null): Record<string, string> => ({
      "content-type": "application/json",
      ...(secret === null ? {} : { "x-telegram-bot-api-secret-token": secret ?? bot.secret }),
    });

    async function counts() {
      const db = stack.rt.store.db;
      const n = async (table: "tasks" | "processed_updates" | "unparsed_updates" | "outgoing_messages") =>
        Number((await db.selectFrom(table).select(sql<number>`count(*)`.as("n")).executeTakeFirstOrThrow()).n);
      return {
        tasks: await n("tasks"),
        processed: await n("processed_updates"),
        unparsed: await n("unparsed_updates"),
        outgoing: await n("outgoing_messages"),
      };
    }

    before(async () => {
      stack = await startStack(target);
      bot = await stack.addBot();
      url = `/plugins/telegram/webhook/${bot.pluginId}/`;
      await stack.link(bot, CHAT);
    });
    after(() => stack.stop());

    it("control: a valid update with the secret is a task (so the refusals below mean something)", async () => {
      const before = await counts();
      const a = await post("control", { headers: jsonHeaders(), body: JSON.stringify(textUpdate("control note")) });
      assert.equal(a.status, 200);
      assert.deepEqual(a.json, { ok: true });
      assert.equal((await counts()).tasks, before.tasks + 1);
    });

    it("wrong, missing, empty or right-length-but-wrong secret: 401 and nothing stored", async () => {
      const before = await counts();
      const flipped = bot.secret.slice(0, -1) + (bot.secret.endsWith("A") ? "B" : "A");
      assert.equal(flipped.length, bot.secret.length);
      const cases: Array<[string, Record<string, string>]> = [
        ["wrong secret", jsonHeaders("nope")],
        ["missing secret", jsonHeaders(null)],
        ["empty secret", jsonHeaders("")],
        ["right length, wrong secret", jsonHeaders(flipped)],
        ["secret with a suffix", jsonHeaders(bot.secret + "x")],
        ["secret's prefix", jsonHeaders(bot.secret.slice(0, -1))],
        ["secret in another case", jsonHeaders(bot.secret.toUpperCase() === bot.secret ? bot.secret.toLowerCase() : bot.secret.toUpperCase())],
      ];
      for (const [what, headers] of cases) {
        // Valid updates, an unparseable one and invalid JSON: the secret is checked before anything.
        for (const body of [JSON.stringify(textUpdate(`sin secreto: ${what}`)), JSON.stringify({ not: "an update" }), "{not json"]) {
          const a = await post(what, { headers, body });
          assert.equal(a.status, 401, `${what}: ${a.status} ${a.body}`);
          assert.equal((a.json as { error_code?: string }).error_code, "BAD_SECRET");
        }
      }
      assert.deepEqual(await counts(), before);
    });

    it("unknown plugin, non-numeric or absurd plugin id, a plugin of another service: 404", async () => {
      const before = await counts();
      // A plugin row for another service: the Telegram webhook must not serve it.
      const other = await stack.rt.store.db
        .insertInto("plugin_configs")
        .values({
          usuario_id: (await stack.rt.store.db.selectFrom("users").select("id").executeTakeFirstOrThrow()).id,
          servicio: "slack",
          identificador: "@otro_servicio",
          metadatos: JSON.stringify({ webhook_secret: bot.secret }),
          token_cifrado: "x",
          codigo_verificacion: "JOE-SLCK",
          verificado: 0,
          chat_id_verificado: null,
          bloqueado_en: null,
          created_at: new Date().toISOString(),
          updated_at: new Date().toISOString(),
        })
        .returning("id")
        .executeTakeFirstOrThrow();
      const body = JSON.stringify(textUpdate("a ninguna parte"));
      for (const id of ["999999", "abc", "-1", "1.5", "0x10", "99999999999999999999", "%00", String(other.id), `${bot.pluginId}abc`, " "]) {
        const a = await post(`plugin id ${id}`, { path: `/plugins/telegram/webhook/${encodeURIComponent(id)}/`, headers: jsonHeaders(), body });
        assert.equal(a.status, 404, `plugin id ${JSON.stringify(id)}: ${a.status} ${a.body}`);
      }
      for (const path of [
        "/plugins/telegram/webhook/",
        "/plugins/telegram/webhook//",
        `/plugins/telegram/webhook/${bot.pluginId}/extra`,
        "/plugins/slack/webhook/1/",
        "/",
      ]) {
        const a = await post(`path ${path}`, { path, headers: jsonHeaders(), body });
        assert.equal(a.status, 404, `${path}: ${a.status} ${a.body}`);
      }
      assert.deepEqual(await counts(), before);
    });

    it("body over 256 KB: 413, nothing stored (also without a secret)", async () => {
      const before = await counts();
      const big = JSON.stringify(textUpdate("x".repeat(LIMIT)));
      assert.ok(Buffer.byteLength(big) > LIMIT);
      for (const [what, headers] of [
        ["with secret", jsonHeaders()],
        ["without secret", jsonHeaders(null)],
      ] as const) {
        const a = await post(`oversized ${what}`, { headers, body: big });
        assert.equal(a.status, 413, `${what}: ${a.status} ${a.body}`);
      }
      // Just under the limit is an ordinary update.
      const update = textUpdate("");
      const shell = JSON.stringify(update).length;
      update.message.text = "y".repeat(LIMIT - shell);
      const fits = JSON.stringify(update);
      assert.equal(Buffer.byteLength(fits), LIMIT);
      const ok = await post("exactly the limit", { headers: jsonHeaders(), body: fits });
      assert.equal(ok.status, 200, ok.body);
      assert.equal((await counts()).tasks, before.tasks + 1);
    });

    it("wrong content type (text/plain, form, multipart, none): 415, nothing stored", async () => {
      const before = await counts();
      const body = JSON.stringify(textUpdate("tipo equivocado"));
      const types = [
        "text/plain",
        "text/plain; charset=utf-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=xyz",
        "application/xml",
        "application/jsonp",
      ];
      for (const type of types) {
        const a = await post(`content-type ${type}`, { headers: { "content-type": type, "x-telegram-bot-api-secret-token": bot.secret }, body });
        assert.equal(a.status, 415, `${type}: ${a.status} ${a.body}`);
      }
      const none = await post("no content-type", { headers: { "x-telegram-bot-api-secret-token": bot.secret }, body });
      assert.equal(none.status, 415, `no content-type: ${none.status} ${none.body}`);
      assert.deepEqual(await counts(), before);
      // With a charset parameter it is still JSON.
      const withCharset = await post("json with charset", {
        headers: { "content-type": "application/json; charset=utf-8", "x-telegram-bot-api-secret-token": bot.secret },
        body,
      });
      assert.equal(withCharset.status, 200, withCharset.body);
    });

    it("invalid JSON with a valid secret: 400, nothing stored", async () => {
      const before = await counts();
      const bodies = ["{", "{not json}", "{'update_id': 1}", '{"update_id": 1,}', "NaN", "undefined", '{"update_id": 1} trailing', "\u0000", "\xff\xfe"];
      for (const body of bodies) {
        const a = await post(`invalid json ${JSON.stringify(body)}`, { headers: jsonHeaders(), body });
        assert.equal(a.status, 400, `${JSON.stringify(body)}: ${a.status} ${a.body}`);
      }
      const invalidUtf8 = await post("invalid utf-8", { headers: jsonHeaders(), body: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]) });
      assert.equal(invalidUtf8.status, 400, invalidUtf8.body);
      const empty = await post("empty body", { headers: jsonHeaders(), body: "" });
      assert.equal(empty.status, 400, empty.body);
      assert.deepEqual(await counts(), before);
    });

    it("JSON that is not an Update: 200, kept in unparsed_updates, no task", async () => {
      const bodies = [
        "[]",
        "[1,2,3]",
        "42",
        "-1",
        '"hola"',
        "null",
        "true",
        "{}",
        '{"update_id":"x"}',
        '{"update_id":-1}',
        '{"update_id":1.5}',
        '{"update_id":1e300}',
        `{"update_id":${2 ** 53}}`,
        '{"update_id":null}',
        '{"update_id":[1]}',
        '{"message":{"text":"sin update_id"}}',
      ];
      for (const body of bodies) {
        const before = await counts();
        const a = await post(`not an update ${body}`, { headers: jsonHeaders(), body });
        assert.equal(a.status, 200, `${body}: ${a.status} ${a.body}`);
        assert.deepEqual(a.json, { ok: true });
        const after = await counts();
        assert.deepEqual(after, { ...before, unparsed: before.unparsed + 1 }, body);
        const kept = await stack.rt.store.db.selectFrom("unparsed_updates").selectAll().orderBy("id", "desc").executeTakeFirstOrThrow();
        assert.equal(kept.body, body);
        assert.equal(Number(kept.plugin_id), bot.pluginId);
        assert.ok(kept.error.length > 0);
      }
    });

    it("a message with wrong field types: 200 and kept, never a task", async () => {
      type U = { update_id: number; message: Record<string, unknown> };
      const mutations: Array<[string, (u: U) => void]> = [
        [
          "message_id as string",
          (u) => {
            u.message.message_id = String(u.message.message_id);
          },
        ],
        [
          "message_id missing",
          (u) => {
            delete u.message.message_id;
          },
        ],
        [
          "message_id fractional",
          (u) => {
            u.message.message_id = 1.5;
          },
        ],
        [
          "message_id beyond 2^53",
          (u) => {
            u.message.message_id = 2 ** 60;
          },
        ],
        [
          "chat missing",
          (u) => {
            delete u.message.chat;
          },
        ],
        [
          "chat.id as string",
          (u) => {
            u.message.chat = { id: String(CHAT), type: "private" };
          },
        ],
        [
          "chat.id null",
          (u) => {
            u.message.chat = { id: null, type: "private" };
          },
        ],
        [
          "chat.type as number",
          (u) => {
            u.message.chat = { id: CHAT, type: 1 };
          },
        ],
        [
          "chat as array",
          (u) => {
            u.message.chat = [CHAT];
          },
        ],
        [
          "text as number",
          (u) => {
            u.message.text = 12345;
          },
        ],
        [
          "text as object",
          (u) => {
            u.message.text = { text: "x" };
          },
        ],
        [
          "text null",
          (u) => {
            u.message.text = null;
          },
        ],
        [
          "from as string",
          (u) => {
            u.message.from = "alguien";
          },
        ],
        [
          "from.is_bot as string",
          (u) => {
            u.message.from = { id: CHAT, is_bot: "false" };
          },
        ],
        [
          "voice without file_id",
          (u) => {
            u.message.voice = { file_unique_id: "u", duration: 3 };
          },
        ],
        [
          "voice with negative duration",
          (u) => {
            u.message.voice = { file_id: "f", file_unique_id: "u", duration: -3 };
          },
        ],
        [
          "voice as string",
          (u) => {
            u.message.voice = "audio";
          },
        ],
        [
          "message as array",
          (u) => {
            (u as { message: unknown }).message = [1, 2];
          },
        ],
        [
          "message as number",
          (u) => {
            (u as { message: unknown }).message = 7;
          },
        ],
      ];
      for (const [what, mutate] of mutations) {
        const u = textUpdate("tipos equivocados") as U;
        mutate(u);
        const before = await counts();
        const a = await post(what, { headers: jsonHeaders(), body: JSON.stringify(u) });
        assert.equal(a.status, 200, `${what}: ${a.status} ${a.body}`);
        const after = await counts();
        assert.deepEqual(after, { ...before, unparsed: before.unparsed + 1 }, what);
      }
    });

    it("a note with U+0000 or a lone surrogate (valid JSON escapes): 200 and a task, not a 5xx", async () => {
      // PostgreSQL refuses both in text and jsonb; they are stored as U+FFFD.
      const before = await counts();
      const body = JSON.stringify(textUpdate("a\u0000b")).replace("a\\u0000b", "a\\u0000b\\ud83c c\\udc00");
      const a = await post("NUL and lone surrogates", { headers: jsonHeaders(), body });
      assert.equal(a.status, 200, a.body);
      const voice = {
        update_id: nextUpdateId++,
        message: {
          message_id: nextMessageId++,
          chat: { id: CHAT, type: "private" },
          voice: { file_id: "f\u0000", file_unique_id: "\ud800u", duration: 3, mime_type: "audio/ogg\u0000" },
        },
      };
      const v = await post("voice with NUL", { headers: jsonHeaders(), body: JSON.stringify(voice) });
      assert.equal(v.status, 200, v.body);
      assert.equal((await counts()).tasks, before.tasks + 2);
      const tasks = await stack.tasks(bot.pluginId);
      assert.ok(
        tasks.some((t) => t.titulo === "a\ufffdb\ufffd c\ufffd"),
        JSON.stringify(tasks.map((t) => t.titulo)),
      );
      assert.ok(tasks.some((t) => t.metadatos_extra.file_id === "f\ufffd"));
    });

    it("other methods on the webhook: 404/405 as JSON, no crash", async () => {
      for (const method of ["GET", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]) {
        const a = await post(`${method} webhook`, { method, path: url, headers: { "x-telegram-bot-api-secret-token": bot.secret } });
        assert.ok(a.status === 404 || a.status === 405, `${method}: ${a.status} ${a.body}`);
        if (method === "HEAD") answers.pop(); // no body by definition
      }
    });

    it("every answer above was JSON and none was a 5xx; the server is still healthy", async () => {
      assert.ok(answers.length > 80, `only ${answers.length} answers recorded`);
      for (const { what, a } of answers) {
        assert.ok(a.status < 500, `${what}: ${a.status} ${a.body}`);
        assert.match(a.contentType, /^application\/json/, `${what}: content-type ${a.contentType}`);
        assert.notEqual(a.json, undefined, `${what}: body is not JSON: ${a.body}`);
        if (a.status !== 200) {
          const j = a.json as { ok?: unknown; error_code?: unknown };
          assert.equal(j.ok, false, what);
          assert.equal(typeof j.error_code, "string", what);
        }
      }
      const health = await request(stack.baseUrl + "/healthz", { method: "GET" });
      assert.equal(health.status, 200);
      const before = await counts();
      const last = await post("after all that", { headers: jsonHeaders(), body: JSON.stringify(textUpdate("sigo funcionando")) });
      assert.equal(last.status, 200);
      assert.equal((await counts()).tasks, before.tasks + 1);
      assert.equal(capturedLogs.filter((l) => /"level":"(error|fatal)"/.test(l)).length, 0);
    });
  });
}
