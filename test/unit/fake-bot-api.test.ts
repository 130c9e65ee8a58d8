/**
 * Tests for the fake Telegram Bot API, driven through grammY's real client so
 * that we know the production code (which uses the same client) will be able
 * to talk to it.
 */
import { after, afterEach, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Api, GrammyError, HttpError } from "grammy";
import { type FakeBotApi, startFakeBotApi, BotApiError } from "../support/fake-bot-api.ts";

const TOKEN = "123456:ABC-def_ghi";

/** Assert that `p` rejects with a GrammyError carrying `code` (and `description` if given). */
async function rejectsWith(p: Promise<unknown>, code: number, description?: string | RegExp): Promise<GrammyError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof GrammyError, `expected GrammyError, got ${String(err)}`);
    assert.equal(err.error_code, code);
    if (typeof description === "string") assert.equal(err.description, description);
    else if (description) assert.match(err.description, description);
    return err;
  }
  assert.fail(`expected a ${code} error`);
}

/** Raw call with fetch, to see exactly what goes over the wire. */
async function raw(fake: FakeBotApi, path: string, init?: RequestInit): Promise<{ status: number; json: any }> {
  const res = await fetch(`${fake.url}${path}`, init);
  return { status: res.status, json: await res.json() };
}

describe("FakeBotApi", () => {
  let fake: FakeBotApi;
  let api: Api;

  before(async () => {
    fake = await startFakeBotApi();
    fake.addBot({ token: TOKEN, username: "joe_test_bot", first_name: "Joe" });
    api = new Api(TOKEN, { apiRoot: fake.url });
  });
  afterEach(() => fake.setFault(null));
  after(() => fake.close());

  test("url is an apiRoot on 127.0.0.1 without trailing slash", () => {
    assert.match(fake.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(fake.url, `http://127.0.0.1:${fake.port}`);
  });

  test("getMe returns the registered bot, id from the token", async () => {
    const me = await api.getMe();
    assert.equal(me.id, 123456);
    assert.equal(me.is_bot, true);
    assert.equal(me.username, "joe_test_bot");
    assert.equal(me.first_name, "Joe");
    assert.equal(me.can_join_groups, true);
    assert.equal(fake.callsOf("getMe", TOKEN).at(-1)?.status, 200);
  });

  test("setMyCommands keeps one list per language (and scope), as Telegram does; bad commands are refused", async () => {
    await api.setMyCommands([{ command: "tareas", description: "Tus tareas" }]);
    await api.setMyCommands([{ command: "tasks", description: "Your tasks" }], { language_code: "en" });
    assert.deepEqual(await api.getMyCommands(), [{ command: "tareas", description: "Tus tareas" }]);
    assert.deepEqual(await api.getMyCommands({ language_code: "en" }), [{ command: "tasks", description: "Your tasks" }]);
    assert.deepEqual(fake.commandsOf(TOKEN, "en"), [{ command: "tasks", description: "Your tasks" }]);
    assert.deepEqual(await api.getMyCommands({ language_code: "de" }), []);
    await rejectsWith(api.setMyCommands([{ command: "Tareas!", description: "x" }]), 400, /BOT_COMMAND_INVALID/);
    await api.deleteMyCommands({ language_code: "en" });
    assert.deepEqual(fake.commandsOf(TOKEN, "en"), []);
    assert.deepEqual(fake.commandsOf(TOKEN), [{ command: "tareas", description: "Tus tareas" }]);
    await api.deleteMyCommands();
  });

  test("setWebhook / getWebhookInfo / deleteWebhook", async () => {
    assert.equal(
      await api.setWebhook("https://joe.example/telegram/hook", {
        secret_token: "s3cret_-TOKEN",
        allowed_updates: ["message", "callback_query"],
        max_connections: 5,
        drop_pending_updates: true,
      }),
      true,
    );
    const info = await api.getWebhookInfo();
    assert.equal(info.url, "https://joe.example/telegram/hook");
    assert.equal(info.has_custom_certificate, false);
    assert.equal(info.pending_update_count, 0);
    assert.equal(info.max_connections, 5);
    assert.deepEqual(info.allowed_updates, ["message", "callback_query"]);
    assert.equal("secret_token" in info, false, "getWebhookInfo never reveals the secret");
    assert.equal(fake.webhookOf(TOKEN)?.secret_token, "s3cret_-TOKEN");

    const set = fake.callsOf("setWebhook").at(-1)!;
    assert.equal(set.params.drop_pending_updates, true);

    assert.equal(await api.deleteWebhook(), true);
    assert.equal((await api.getWebhookInfo()).url, "");
    assert.equal(fake.webhookOf(TOKEN), undefined);
  });

  test("descriptions, urlencoded bodies, query strings and case-insensitive methods", async () => {
    const set = await raw(fake, `/bot${TOKEN}/SETWEBHOOK`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ url: "https://a.example/h", allowed_updates: '["message"]' }).toString(),
    });
    assert.deepEqual(set, { status: 200, json: { ok: true, result: true, description: "Webhook was set" } });
    assert.deepEqual(fake.webhookOf(TOKEN)?.allowed_updates, ["message"]);
    assert.equal(fake.callsOf("setWebhook").at(-1)?.method, "setWebhook", "recorded under the canonical name");

    const again = await raw(fake, `/bot${TOKEN}/setWebhook?url=${encodeURIComponent("https://a.example/h")}`);
    assert.equal(again.json.description, "Webhook is already set");

    const del = await raw(fake, `/bot${TOKEN}/deletewebhook`, { method: "POST" });
    assert.deepEqual(del.json, { ok: true, result: true, description: "Webhook was deleted" });
    const del2 = await raw(fake, `/bot${TOKEN}/deleteWebhook`);
    assert.equal(del2.json.description, "Webhook is already deleted");
  });

  test("sendMessage returns a Message and records reply_parameters", async () => {
    const m1 = await api.sendMessage(4242, "hello", { reply_parameters: { message_id: 7 } });
    assert.equal(m1.message_id, 1);
    assert.equal(m1.text, "hello");
    assert.deepEqual(m1.chat, { id: 4242, type: "private", first_name: "Test" });
    assert.equal(m1.from?.id, 123456);
    assert.equal(m1.from?.is_bot, true);
    assert.ok(Math.abs(m1.date - Date.now() / 1000) < 5);

    const m2 = await api.sendMessage(4242, "<b>bold</b> &amp; co", { parse_mode: "HTML" });
    assert.equal(m2.message_id, 2, "message ids increase per chat");
    assert.equal(m2.text, "bold & co", "the returned text has the markup parsed away");
    const other = await api.sendMessage(-555, "group hi");
    assert.equal(other.message_id, 1, "another chat has its own sequence");
    assert.equal(other.chat.type, "group");

    // The legacy reply_to_message_id parameter, sent as a form.
    await raw(fake, `/bot${TOKEN}/sendMessage`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "chat_id=4242&text=legacy&reply_to_message_id=1",
    });

    const sent = fake.sentMessages(TOKEN).filter((s) => s.chat_id === 4242);
    assert.deepEqual(
      sent.map(({ chat_id, text, reply_to_message_id, message_id, parse_mode }) => ({
        chat_id,
        text,
        reply_to_message_id,
        message_id,
        parse_mode,
      })),
      [
        { chat_id: 4242, text: "hello", reply_to_message_id: 7, message_id: 1, parse_mode: undefined },
        { chat_id: 4242, text: "<b>bold</b> &amp; co", reply_to_message_id: undefined, message_id: 2, parse_mode: "HTML" },
        { chat_id: 4242, text: "legacy", reply_to_message_id: 1, message_id: 3, parse_mode: undefined },
      ],
    );
    assert.deepEqual(fake.callsOf("sendMessage").at(0)?.params.reply_parameters, { message_id: 7 });
  });

  test("sendMessage validation errors", async () => {
    await rejectsWith(api.sendMessage(1, ""), 400, "Bad Request: message text is empty");
    await rejectsWith(api.sendMessage(1, "x".repeat(4097)), 400, "Bad Request: message is too long");
    await api.sendMessage(1, "x".repeat(4096));
    await rejectsWith(api.sendMessage(1, "a < b", { parse_mode: "HTML" }), 400, /can't parse entities/);
    await rejectsWith(api.sendMessage(1, "<b>open", { parse_mode: "HTML" }), 400, /end tag corresponding to start tag "b"/);
    await rejectsWith(api.sendMessage(1, "done.", { parse_mode: "MarkdownV2" }), 400, /Character '\.' is reserved/);
    await api.sendMessage(1, "*done*\\.", { parse_mode: "MarkdownV2" });
  });

  test("bad secret_token is refused like Telegram does", async () => {
    await rejectsWith(
      api.setWebhook("https://joe.example/hook", { secret_token: "has space!" }),
      400,
      "Bad Request: secret token contains unallowed characters",
    );
    await rejectsWith(
      api.setWebhook("https://joe.example/hook", { secret_token: "x".repeat(257) }),
      400,
      "Bad Request: secret token contains unallowed characters",
    );
  });

  test("unknown token is 401, unknown method is 404", async () => {
    const stranger = new Api("999:nope", { apiRoot: fake.url });
    await rejectsWith(stranger.getMe(), 401, "Unauthorized");
    const call = fake.callsOf("getMe", "999:nope").at(-1);
    assert.equal(call?.status, 401, "failed calls are recorded too");

    const r = await raw(fake, `/bot${TOKEN}/frobnicate`, { method: "POST" });
    assert.deepEqual(r, { status: 404, json: { ok: false, error_code: 404, description: "Not Found: method not found" } });
  });

  test("blocked chat is 403, missing chat is 400", async () => {
    fake.blockChat(TOKEN, 666);
    fake.missingChat(TOKEN, 777);
    await rejectsWith(api.sendMessage(666, "hi"), 403, "Forbidden: bot was blocked by the user");
    await rejectsWith(api.sendMessage(777, "hi"), 400, "Bad Request: chat not found");
    fake.unblockChat(TOKEN, 666);
    await api.sendMessage(666, "hi again");
  });

  test("fault: status 500 until cleared, failNext for n calls", async () => {
    fake.setFault({ kind: "status", status: 500 });
    await rejectsWith(api.getMe(), 500, "Internal Server Error");
    await rejectsWith(api.sendMessage(1, "x"), 500);
    fake.setFault(null);
    assert.equal((await api.getMe()).id, 123456);

    fake.failNext(2, { kind: "status", status: 502, description: "Bad Gateway" });
    await rejectsWith(api.getMe(), 502, "Bad Gateway");
    await rejectsWith(api.getMe(), 502);
    await api.getMe();
  });

  test("fault: retryAfter answers 429 with parameters.retry_after", async () => {
    fake.failNext(1, { kind: "retryAfter", seconds: 7 });
    const err = await rejectsWith(api.sendMessage(1, "x"), 429, "Too Many Requests: retry after 7");
    assert.equal(err.parameters.retry_after, 7);
    assert.equal(fake.calls.at(-1)?.status, 429);
  });

  test("fault: reset destroys the connection (HttpError)", async () => {
    fake.failNext(1, { kind: "reset" });
    await assert.rejects(api.getMe(), HttpError);
    await api.getMe();
  });

  test("fault: hang holds the call until cleared, then answers it", async () => {
    fake.setFault({ kind: "hang" });
    const before = fake.sentMessages().length;
    const pending = api.sendMessage(1, "held");
    await fake.waitFor(() => fake.hungCount === 1);
    assert.equal(fake.sentMessages().length, before, "not processed while hung");
    fake.setFault(null);
    const msg = await pending;
    assert.equal(msg.text, "held");
  });

  test("stop() refuses connections (HttpError), restart() listens on the same port", async () => {
    const port = fake.port;
    await fake.stop();
    await assert.rejects(api.getMe(), (err: unknown) => {
      assert.ok(err instanceof HttpError);
      return true;
    });
    await fake.restart();
    assert.equal(fake.port, port);
    assert.equal((await api.getMe()).id, 123456, "state survives the restart");
  });

  test("getFile and download the bytes", async () => {
    const bytes = new TextEncoder().encode("#!/bin/sh\necho hi\n");
    fake.addFile(TOKEN, { file_id: "FILE1", bytes, file_path: "documents/script.sh" });
    const f = await api.getFile("FILE1");
    assert.deepEqual(f, { file_id: "FILE1", file_unique_id: "u_FILE1", file_size: bytes.length, file_path: "documents/script.sh" });
    const res = await fetch(`${fake.url}/file/bot${TOKEN}/${f.file_path}`);
    assert.equal(res.status, 200);
    assert.deepEqual(new Uint8Array(await res.arrayBuffer()), bytes);
    assert.equal((await fetch(`${fake.url}/file/bot${TOKEN}/documents/nope`)).status, 404);
    await rejectsWith(api.getFile("NOPE"), 400, "Bad Request: invalid file_id");
  });

  test("onMethod plugs in extra methods", async () => {
    fake.onMethod("editMessageText", (params) => {
      if (params.message_id === 99) throw new BotApiError(400, "Bad Request: message to edit not found");
      return true;
    });
    assert.equal(await api.editMessageText(1, 1, "new"), true);
    await rejectsWith(api.editMessageText(1, 99, "new"), 400, "Bad Request: message to edit not found");
    // Without the plug-in, the built-in editMessageText answers (no message 12345 in chat 1).
    fake.onMethod("editMessageText", null);
    await rejectsWith(api.editMessageText(1, 12345, "new"), 400, "Bad Request: message to edit not found");
  });

  test("waitForMessages resolves, and times out with a clear message", async () => {
    const n = fake.sentMessages(TOKEN).length;
    setTimeout(() => void api.sendMessage(5, "later"), 30);
    await fake.waitForMessages(n + 1, TOKEN, 2000);
    await assert.rejects(fake.waitForMessages(n + 50, TOKEN, 50), /expected at least .* within 50 ms, got/);
  });

  test("deliverUpdate posts like Telegram and records webhook errors", async () => {
    const received: Array<{ secret: string | undefined; type: string | undefined; body: any }> = [];
    let answer = 200;
    const hook = http.createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        received.push({
          secret: req.headers["x-telegram-bot-api-secret-token"] as string | undefined,
          type: req.headers["content-type"],
          body: JSON.parse(body),
        });
        res.statusCode = answer;
        res.end(answer === 200 ? "" : "nope");
      });
    });
    await new Promise<void>((r) => hook.listen(0, "127.0.0.1", () => r()));
    const hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/tg`;
    try {
      await api.setWebhook(hookUrl, { secret_token: "hook_secret" });
      const update = fake.makeTextUpdate(TOKEN, { chatId: 4242, text: "/run ls" });
      const ok = await fake.deliverUpdate(TOKEN, update);
      assert.deepEqual(ok, { status: 200, body: "" });
      assert.equal(received[0]?.secret, "hook_secret");
      assert.equal(received[0]?.type, "application/json");
      assert.deepEqual(received[0]?.body.message.entities, [{ type: "bot_command", offset: 0, length: 4 }]);
      assert.deepEqual(received[0]?.body, update);

      answer = 401;
      const bad = await fake.deliverUpdate(TOKEN, { message: { text: "x" } }, { secret: "wrong" });
      assert.equal(bad.status, 401);
      assert.equal(bad.body, "nope");
      assert.equal(received[1]?.secret, "wrong");
      assert.equal(typeof received[1]?.body.update_id, "number", "update_id is filled in");
      const info = await api.getWebhookInfo();
      assert.equal(info.last_error_message, "Wrong response from the webhook: 401 Unauthorized");
      assert.ok(info.last_error_date !== undefined && Math.abs(info.last_error_date - Date.now() / 1000) < 5);
      assert.equal(info.pending_update_count, 1);

      answer = 200;
      assert.equal(await fake.flushPending(TOKEN), 1);
      assert.equal((await api.getWebhookInfo()).pending_update_count, 0);
    } finally {
      await new Promise<void>((r) => hook.close(() => r()));
    }

    // Nobody listening any more.
    const refused = await fake.deliverUpdate(TOKEN, { message: { text: "y" } });
    assert.equal(refused.status, 0);
    assert.equal((await api.getWebhookInfo()).last_error_message, "Connection refused");
    await api.deleteWebhook({ drop_pending_updates: true });
    assert.equal((await api.getWebhookInfo()).pending_update_count, 0);
  });
});

describe("FakeBotApi with enforceLimits", () => {
  let fake: FakeBotApi;
  before(async () => {
    fake = await startFakeBotApi({ enforceLimits: true });
  });
  after(() => fake.close());

  test("more than 1 message per second to a private chat is 429 with an honest retry_after", async () => {
    const token = "111:private";
    fake.addBot({ token });
    const api = new Api(token, { apiRoot: fake.url });
    await api.sendMessage(10, "one");
    const err = await rejectsWith(api.sendMessage(10, "two"), 429, "Too Many Requests: retry after 1");
    assert.equal(err.parameters.retry_after, 1);
    await api.sendMessage(11, "another chat is fine");
    // The refused send did not count: after waiting retry_after, sending works.
    await new Promise((r) => setTimeout(r, err.parameters.retry_after! * 1000));
    await api.sendMessage(10, "two, later");
    assert.deepEqual(
      fake.sentMessages(token).map((m) => m.text),
      ["one", "another chat is fine", "two, later"],
    );
  });

  test("more than 20 messages per minute to a group is 429 with retry_after up to 60", async () => {
    const token = "222:group";
    fake.addBot({ token });
    const api = new Api(token, { apiRoot: fake.url });
    for (let i = 0; i < 20; i++) {
      // Stay under the 30/s bot-wide limit so only the group limit is hit.
      await api.sendMessage(-1001234567890, `m${i}`);
    }
    const err = await rejectsWith(api.sendMessage(-1001234567890, "m20"), 429);
    assert.ok(err.parameters.retry_after! >= 59 && err.parameters.retry_after! <= 60, `got ${err.parameters.retry_after}`);
  });

  test("more than 30 messages per second per bot is 429", async () => {
    const token = "333:bot";
    fake.addBot({ token });
    const api = new Api(token, { apiRoot: fake.url });
    const results = await Promise.allSettled(Array.from({ length: 31 }, (_, i) => api.sendMessage(1000 + i, "x")));
    const refused = results.filter((r) => r.status === "rejected");
    assert.equal(refused.length, 1);
    const reason = (refused[0] as PromiseRejectedResult).reason as GrammyError;
    assert.equal(reason.error_code, 429);
    assert.equal(reason.parameters.retry_after, 1);
    assert.equal(fake.sentMessages(token).length, 30);
  });
});
