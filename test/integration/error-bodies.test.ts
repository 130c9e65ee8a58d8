// Issue 11 — Fastify's own refusals (body too large, bad JSON, wrong media type, no such route)
// answer our error body with the table's code, on the webhook and on /api/v1, over real HTTP on
// both databases.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { dbTargets } from "../support/databases.ts";
import { startStack, type Stack } from "../support/stack.ts";
import { userWithBot, type ApiUser } from "../support/api-client.ts";
import { ERRORS, type ErrorCode } from "../../src/errors.ts";

for (const target of dbTargets()) {
  describe(`error bodies (${target.name})`, () => {
    let s: Stack;
    let u: ApiUser;

    before(async () => {
      s = await startStack(target);
      u = await userWithBot(s);
    });
    after(() => s.stop());

    const webhook = (body: string, contentType = "application/json") =>
      raw(`/plugins/telegram/webhook/${u.bot.pluginId}/`, "POST", body, { "content-type": contentType, "x-telegram-bot-api-secret-token": u.bot.secret });
    const api = (path: string, method: string, body: string | undefined, contentType = "application/json") =>
      raw(`/api/v1${path}`, method, body, { authorization: `Bearer ${u.token}`, ...(body === undefined ? {} : { "content-type": contentType }) });
    async function raw(path: string, method: string, body: string | undefined, headers: Record<string, string>) {
      const r = await fetch(`${s.baseUrl}${path}`, { method, body, headers });
      return { status: r.status, text: await r.text() };
    }
    function assertOurs(r: { status: number; text: string }, code: ErrorCode): void {
      assert.equal(r.status, ERRORS[code].status, r.text);
      const json = JSON.parse(r.text) as Record<string, unknown>;
      assert.deepEqual(Object.keys(json).sort(), ["description", "error_code", "ok"], r.text);
      assert.equal(json.ok, false);
      assert.equal(json.error_code, code, r.text);
      assert.equal(typeof json.description, "string");
    }
    const big = JSON.stringify({ update_id: 1, pad: "x".repeat(300 * 1024) });

    it("a body over the limit: 413 BODY_TOO_LARGE (webhook and API)", async () => {
      assertOurs(await webhook(big), "BODY_TOO_LARGE");
      assertOurs(await api("/tasks/claim", "POST", big), "BODY_TOO_LARGE");
    });

    it("a body that is not JSON: 400 INVALID_JSON (webhook and API; an empty JSON body too)", async () => {
      assertOurs(await webhook("{not json"), "INVALID_JSON");
      assertOurs(await api("/tasks/claim", "POST", "{not json"), "INVALID_JSON");
      assertOurs(await api("/tasks/claim", "POST", ""), "INVALID_JSON");
    });

    it("a media type we do not parse: 415 UNSUPPORTED_MEDIA_TYPE (webhook and API)", async () => {
      assertOurs(await webhook(JSON.stringify({ update_id: 2 }), "text/plain"), "UNSUPPORTED_MEDIA_TYPE");
      assertOurs(await api("/tasks/claim", "POST", "<claim/>", "application/xml"), "UNSUPPORTED_MEDIA_TYPE");
    });

    it("no such route: 404 NOT_FOUND; a schema violation: 400 INVALID_INPUT", async () => {
      assertOurs(await raw("/no/such/route", "GET", undefined, {}), "NOT_FOUND");
      assertOurs(await raw("/plugins/telegram/webhook/1/", "GET", undefined, {}), "NOT_FOUND");
      assertOurs(await api("/tasks/claim", "POST", JSON.stringify({ limit: "many" })), "INVALID_INPUT");
    });
  });
}
