// Secrets stay secret: a whole scenario at LOG_LEVEL=debug (linking, notes, a wrong secret, Bot
// API failures of every kind, webhook set/info, errors provoked on purpose, the CLI as a child
// process), then every log line, HTTP answer, error message and CLI output is searched for the
// bot tokens, the webhook secrets and the Fernet key. The token is never stored in clear.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { dbTargets } from "../support/databases.ts";
import { capturedLogs, randomToken, startStack, type Stack, type TestBot } from "../support/stack.ts";
import { setWebhook } from "../../src/telegram/webhook-setup.ts";
import { callBot } from "../../src/telegram/bot-call.ts";
import { printError } from "../../src/cli/output.ts";
import { createPlugin, decryptToken, getPluginRow } from "../../src/plugins/store.ts";
import { metadatosOf } from "../../src/plugins/state.ts";
import { MultiFernet, generateKey } from "../../src/crypto/fernet.ts";
import { loadKeys } from "../../src/crypto/keyring.ts";
import { JoeError } from "../../src/errors.ts";
import type { Runtime } from "../../src/runtime.ts";
import { until } from "../support/wait.ts";
import { runCli, type CliEnv, type CliResult } from "../support/cli.ts";

const CHAT = 93_001;

interface CliRun extends CliResult {
  args: string[];
}

/** Catch what `fn` throws and return its message (it must throw). */
async function thrown(what: string, fn: () => unknown): Promise<string> {
  try {
    await fn();
  } catch (err) {
    return `${what}: ${(err as Error).message} ${String((err as { stack?: string }).stack ?? "")}`;
  }
  throw new Error(`${what}: expected an error`);
}

for (const target of dbTargets()) {
  describe(`secrets never leak (${target.name})`, () => {
    let stack: Stack;
    let bot: TestBot;
    const httpBodies: string[] = [];
    const errorMessages: string[] = [];
    const cliRuns: CliRun[] = [];
    const extraTokens: string[] = [];

    before(async () => {
      stack = await startStack(target);
      bot = await stack.addBot();
    });
    after(() => stack.stop());

    const outgoing = (id: number) => stack.rt.store.db.selectFrom("outgoing_messages").selectAll().where("id", "=", id).executeTakeFirstOrThrow();
    const lastOutgoingId = async () =>
      Number((await stack.rt.store.db.selectFrom("outgoing_messages").select("id").orderBy("id", "desc").executeTakeFirstOrThrow()).id);
    async function note(text: string): Promise<number> {
      const r = await stack.sendText(bot, CHAT, text);
      httpBodies.push(r.body);
      assert.equal(r.status, 200);
      return lastOutgoingId();
    }
    const sentText = (needle: string) => stack.fake.sentMessages(bot.token).some((m) => m.text.includes(needle));

    it("runs a full scenario at debug level: linking, notes, wrong secrets, Bot API failures", async () => {
      await stack.link(bot, CHAT);
      await note("primera nota");
      await note("segunda nota");

      // Wrong secrets: 401s whose bodies are collected.
      for (const secret of ["nope", bot.secret.slice(0, -1) + (bot.secret.endsWith("A") ? "B" : "A"), ""]) {
        const r = await stack.fake.deliverUpdate(bot.token, stack.fake.makeTextUpdate(bot.token, { chatId: CHAT, text: "intruso" }), { secret });
        assert.equal(r.status, 401);
        httpBodies.push(r.body);
      }
      const nf = await fetch(`${stack.baseUrl}/plugins/telegram/webhook/987654/`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": bot.secret },
        body: "{}",
      });
      httpBodies.push(await nf.text());
      const bad = await fetch(`${stack.baseUrl}/plugins/telegram/webhook/${bot.pluginId}/`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": bot.secret },
        body: `{"token":"${bot.token}"`,
      });
      assert.equal(bad.status, 400);
      httpBodies.push(await bad.text());

      // The Bot API answers 500 twice, then the send goes through.
      await until(async () => stack.fake.sentMessages(bot.token).length >= 3, "the first confirmations", 15_000);
      stack.fake.failNext(2, { kind: "status", status: 500, description: "Internal Server Error" });
      await note("tras un 500");
      await stack.fake.waitFor(() => sentText("Encolando") && stack.fake.sentMessages(bot.token).length >= 4, 20_000, "send after two 500s");
      assert.ok(stack.fake.callsOf("sendMessage", bot.token).filter((c) => c.status === 500).length >= 2);

      // 401 Unauthorized (a revoked token): the message ends failed, with the reason recorded.
      await until(async () => (await outgoing(await lastOutgoingId())).status === "sent", "outbox idle", 15_000);
      stack.fake.failNext(1, { kind: "status", status: 401, description: "Unauthorized" });
      const failedId = await note("con token revocado");
      await until(async () => (await outgoing(failedId)).status === "failed", "the 401 to end the message", 15_000);
      const failed = await outgoing(failedId);
      assert.match(failed.last_error ?? "", /401/);
      errorMessages.push(failed.last_error ?? "");

      // 429 with retry_after, then the Bot API unreachable for a moment: retried, then sent.
      stack.fake.failNext(1, { kind: "retryAfter", seconds: 1 });
      const limitedId = await note("tras un 429");
      await until(async () => (await outgoing(limitedId)).status === "sent", "send after a 429", 20_000);
      await stack.fake.stop();
      const downId = await note("con la API caída");
      await until(async () => Number((await outgoing(downId)).attempts) >= 1, "a failed attempt while the API is down", 15_000);
      errorMessages.push((await outgoing(downId)).last_error ?? "");
      await stack.fake.restart();
      await until(async () => (await outgoing(downId)).status === "sent", "send after the API is back", 30_000);
    });

    it("webhook set / info through the CLI functions, and Bot API errors from them", async () => {
      const rt: Runtime = stack.rt;
      const url = await setWebhook(rt, bot.pluginId, stack.baseUrl);
      assert.equal(stack.fake.webhookOf(bot.token)?.secret_token, bot.secret);
      errorMessages.push(url);
      const info = await callBot(rt, await getPluginRow(rt.store.db, bot.pluginId), (api) => api.getWebhookInfo());
      assert.equal(info.url, url);
      errorMessages.push(JSON.stringify(info));

      stack.fake.failNext(1, { kind: "status", status: 401, description: "Unauthorized" });
      const e401 = await thrown("setWebhook 401", () => setWebhook(rt, bot.pluginId, stack.baseUrl));
      assert.match(e401, /401/);
      errorMessages.push(e401);
      stack.fake.failNext(1, { kind: "status", status: 500, description: "Internal Server Error" });
      errorMessages.push(
        await thrown("getWebhookInfo 500", async () => callBot(rt, await getPluginRow(rt.store.db, bot.pluginId), (api) => api.getWebhookInfo())),
      );
      const unreachable = { ...rt, config: { ...rt.config, TELEGRAM_API_ROOT: "http://127.0.0.1:9" } };
      errorMessages.push(
        await thrown("unreachable Bot API", async () => callBot(unreachable, await getPluginRow(rt.store.db, bot.pluginId), (api) => api.getMe())),
      );
      // A library error that carries the token in its text is scrubbed by the CLI's error printer.
      const printed: string[] = [];
      const write = process.stdout.write.bind(process.stdout);
      process.stdout.write = ((chunk: string) => {
        printed.push(String(chunk));
        return true;
      }) as typeof process.stdout.write;
      try {
        printError({ json: true }, new Error(`request to ${stack.fake.url}/bot${bot.token}/getMe failed, token ${bot.token}`));
      } finally {
        process.stdout.write = write;
      }
      assert.equal(printed.length, 1);
      errorMessages.push(...printed);
    });

    it("errors provoked on purpose never echo a token, a secret or a key", async () => {
      const db = stack.rt.store.db;
      const seam = stack.rt.store.seam;
      const usuarioId = Number((await getPluginRow(db, bot.pluginId)).usuario_id);
      const before = (await db.selectFrom("plugin_configs").select("id").execute()).length;
      for (const token of [
        `${bot.token}!`,
        `${bot.token} extra`,
        `bot${bot.token}`,
        bot.token.replace(":", "::"),
        `${bot.token}\n`,
        bot.token.split(":")[1]!,
      ]) {
        errorMessages.push(await thrown("bad token", () => createPlugin(db, seam, stack.rt.keys.fernet, { usuarioId, identificador: "@otro_bot_x", token })));
      }
      errorMessages.push(
        await thrown("bad identificador", () => createPlugin(db, seam, stack.rt.keys.fernet, { usuarioId, identificador: bot.token, token: bot.token })),
      );
      errorMessages.push(
        await thrown("bad webhook secret", () =>
          createPlugin(db, seam, stack.rt.keys.fernet, { usuarioId, identificador: "@otro_bot_x", token: randomToken(), webhookSecret: `${bot.secret}!` }),
        ),
      );
      assert.equal((await db.selectFrom("plugin_configs").select("id").execute()).length, before, "nothing created");

      const row = await getPluginRow(db, bot.pluginId);
      try {
        decryptToken(row, new MultiFernet([generateKey()]));
        assert.fail("decrypted with the wrong key");
      } catch (e) {
        assert.ok(e instanceof JoeError && e.code === "KEY_MISMATCH");
        errorMessages.push(e.message);
      }
      errorMessages.push(
        await thrown("invalid FERNET_KEYS entry", () =>
          loadKeys({ fernetKeys: `${stack.fernetKey},${stack.fernetKey.slice(0, -3)}`, dataDir: stack.database.dataDir, production: true, warn: () => {} }),
        ),
      );
    });

    it("the CLI as a child process prints no secret (plugin list/show/create, webhook set/info, bad token)", async () => {
      const env: CliEnv = {
        DATABASE_URL: stack.database.url,
        DATA_DIR: stack.database.dataDir,
        FERNET_KEYS: stack.fernetKey,
        TELEGRAM_API_ROOT: stack.fake.url,
        PUBLIC_URL: stack.baseUrl,
        LOG_LEVEL: "debug",
      };
      const id = String(bot.pluginId);
      const owner = String((await getPluginRow(stack.rt.store.db, bot.pluginId)).usuario_id);
      const stdinToken = randomToken();
      extraTokens.push(stdinToken);
      // Six tsx starts at once on a loaded machine: a generous bound.
      const run = async (args: string[], stdin?: string): Promise<CliRun> => ({ args, ...(await runCli(args, { env, stdin, timeoutMs: 180_000 })) });
      const runs = await Promise.all([
        run(["plugin", "list", "--json"]),
        run(["plugin", "show", id]),
        run(["webhook", "info", id, "--json"]),
        run(["webhook", "set", id, "--json"]),
        run(["plugin", "create", "--user", owner, "--identificador", "@bad_token_bot", "--token", `${bot.token}!`, "--json"]),
        run(["plugin", "create", "--user", owner, "--identificador", "@stdin_token_bot", "--token", "-"], stdinToken + "\n"),
      ]);
      cliRuns.push(...runs);
      const [list, show, info, set, badCreate, stdinCreate] = runs;
      for (const r of [list, show, info, set, stdinCreate]) assert.equal(r!.code, 0, `${r!.args.join(" ")}: ${r!.stdout} ${r!.stderr}`);
      // The output is there (so the search below means something).
      const listed = JSON.parse(list!.stdout) as Array<{ id: number; metadatos: { webhook_secret: unknown } }>;
      assert.deepEqual(listed.find((p) => p.id === bot.pluginId)?.metadatos.webhook_secret, "[set]");
      assert.match(show!.stdout, new RegExp(`@${bot.username}`));
      assert.equal(JSON.parse(info!.stdout).url, `${stack.baseUrl}/plugins/telegram/webhook/${id}/`);
      assert.equal(badCreate!.code, 1);
      assert.equal(JSON.parse(badCreate!.stdout).error_code, "INVALID_INPUT");
      assert.match(stdinCreate!.stdout, /Plugin \d+ created/);
      // The plugin created from stdin holds that token, encrypted.
      const created = await stack.rt.store.db
        .selectFrom("plugin_configs")
        .selectAll()
        .where("identificador", "=", "@stdin_token_bot")
        .executeTakeFirstOrThrow();
      assert.equal(decryptToken(created, stack.rt.keys.fernet), stdinToken);
    });

    it("no log line, HTTP answer, error message or CLI output holds a token, a webhook secret or the Fernet key", async () => {
      const db = stack.rt.store.db;
      const rows = await db.selectFrom("plugin_configs").selectAll().execute();
      const tokens = [bot.token, ...extraTokens];
      const secrets: string[] = [];
      for (const r of rows) {
        const m = metadatosOf(r, stack.rt.store.seam);
        for (const s of [m.webhook_secret, m.webhook_secret_anterior]) if (typeof s === "string") secrets.push(s);
        // Stored encrypted: never the token, never containing it.
        const token = decryptToken(r, stack.rt.keys.fernet);
        assert.notEqual(r.token_cifrado, token);
        assert.ok(!r.token_cifrado.includes(token) && !r.token_cifrado.includes(token.split(":")[1]!));
        assert.match(r.token_cifrado, /^gAAAAA/);
      }
      assert.ok(secrets.includes(bot.secret));
      const needles = [
        ...tokens.flatMap((t) => [
          ["bot token", t],
          ["bot token's secret half", t.split(":")[1]!],
        ]),
        ...secrets.map((s) => ["webhook secret", s]),
        ["Fernet key", stack.fernetKey],
        ["Fernet key (unpadded)", stack.fernetKey.replace(/=+$/, "")],
      ] as Array<[string, string]>;

      // There is something to search: debug lines, outbox retries, the failures above.
      const logs = capturedLogs.join("");
      // (one info line per update outcome since polling mode's operators' logs; debug lines as before)
      assert.ok(
        capturedLogs.some((l) => l.includes('"level":"debug"') || l.includes('"msg":"update committed"')),
        "no per-update line captured",
      );
      assert.match(logs, /send will be retried/);
      assert.match(logs, /failed for good/);
      assert.ok(httpBodies.length >= 8 && errorMessages.length >= 15 && cliRuns.length === 6);

      const places: Array<[string, string]> = [
        ...capturedLogs.map((l, i) => [`log line ${i}`, l] as [string, string]),
        ...httpBodies.map((b, i) => [`HTTP answer ${i}`, b] as [string, string]),
        ...errorMessages.map((e, i) => [`error message ${i}`, e] as [string, string]),
        ...cliRuns.flatMap(
          (r) =>
            [
              [`CLI ${r.args.join(" ")} stdout`, r.stdout],
              [`CLI ${r.args.join(" ")} stderr`, r.stderr],
            ] as Array<[string, string]>,
        ),
      ];
      const outbox = await db.selectFrom("outgoing_messages").select(["text", "last_error"]).execute();
      places.push(...outbox.map((m, i) => [`outgoing message ${i}`, `${m.text} ${m.last_error ?? ""}`] as [string, string]));
      const leaks: string[] = [];
      for (const [where, text] of places) {
        for (const [what, needle] of needles) if (text.includes(needle)) leaks.push(`${what} in ${where}: ${text.slice(0, 300)}`);
      }
      assert.deepEqual(leaks, []);
      process.stdout.write(
        `secrets (${target.name}): searched ${capturedLogs.length} log lines, ${httpBodies.length} HTTP answers, ${errorMessages.length} error messages, ${cliRuns.length} CLI runs for ${needles.length} secrets: 0 found\n`,
      );
    });
  });
}
