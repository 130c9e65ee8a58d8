// Key rotation and webhook secret rotation, with the real server, sender and fake Bot API.
//  - Fernet: FERNET_KEYS=new,old decrypts tokens written under old (the sender still sends);
//    `keys rotate` re-encrypts every token under new; then FERNET_KEYS=new alone sends fine.
//  - Webhook secret: `plugin rotate-secret` registers a new secret with Telegram; the old one is
//    accepted for the grace period, refused after it; the new one is accepted at once.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { dbTargets } from "../support/databases.ts";
import { capturedLogs, startStack, type Stack, type TestBot } from "../support/stack.ts";
import { generateKey, MultiFernet } from "../../src/crypto/fernet.ts";
import { loadConfig } from "../../src/config.ts";
import { createLogger } from "../../src/log.ts";
import { openRuntime, startSender, type Runtime } from "../../src/runtime.ts";
import type { OutboxSender } from "../../src/outbox/sender.ts";
import { getPluginRow, rotateWebhookSecret } from "../../src/plugins/store.ts";
import { metadatosOf } from "../../src/plugins/state.ts";
import { setWebhook } from "../../src/telegram/webhook-setup.ts";
import { runCli } from "../support/cli.ts";

const CHAT = 94_001;

for (const target of dbTargets()) {
  describe(`rotation (${target.name})`, () => {
    const oldKey = generateKey();
    const newKey = generateKey();
    let stack: Stack;
    let bot: TestBot;
    let other: TestBot;
    const runtimes: Runtime[] = [];
    const senders: OutboxSender[] = [];

    /** Another process's view of the same database with other FERNET_KEYS: a runtime and its sender. */
    async function runtimeWith(keys: string): Promise<Runtime> {
      const sink = new Writable({
        write(chunk, _e, cb) {
          capturedLogs.push(String(chunk));
          cb();
        },
      });
      const config = loadConfig({
        DATA_DIR: stack.database.dataDir,
        DATABASE_URL: stack.database.url,
        FERNET_KEYS: keys,
        TELEGRAM_API_ROOT: stack.fake.url,
        LOG_LEVEL: "debug",
      });
      const rt = await openRuntime({ config, logger: createLogger("debug", sink) });
      runtimes.push(rt);
      return rt;
    }
    const cliEnv = (keys: string) => ({
      DATABASE_URL: stack.database.url,
      DATA_DIR: stack.database.dataDir,
      FERNET_KEYS: keys,
      TELEGRAM_API_ROOT: stack.fake.url,
    });

    /** A note from the linked chat; resolves when its confirmation reached the (fake) Telegram. */
    async function noteConfirmed(text: string, secret?: string): Promise<void> {
      const update = stack.fake.makeTextUpdate(bot.token, { chatId: CHAT, text });
      const r = await stack.fake.deliverUpdate(bot.token, update, secret === undefined ? {} : { secret });
      assert.equal(r.status, 200, r.body);
      const task = (await stack.tasks(bot.pluginId)).find((t) => t.titulo === text);
      assert.ok(task, `no task for "${text}"`);
      await stack.fake.waitFor(() => stack.fake.sentMessages(bot.token).some((m) => m.text.includes(task.codigo)), 15_000, `confirmation of "${text}"`);
    }

    before(async () => {
      stack = await startStack(target, { env: { FERNET_KEYS: oldKey } });
      bot = await stack.addBot();
      other = await stack.addBot();
      await stack.link(bot, CHAT); // sent by a sender holding only the old key
    });
    after(async () => {
      for (const s of senders) await s.stop();
      await stack.stop();
      for (const rt of runtimes) await rt.close();
    });

    it("tokens are encrypted under the old key; FERNET_KEYS=new,old decrypts them and the sender still sends", async () => {
      const rows = await stack.rt.store.db.selectFrom("plugin_configs").selectAll().execute();
      assert.equal(rows.length, 2);
      for (const r of rows) {
        assert.doesNotThrow(() => new MultiFernet([oldKey]).decrypt(r.token_cifrado));
        assert.throws(() => new MultiFernet([newKey]).decrypt(r.token_cifrado));
      }
      // The old-key-only sender steps down; a process with FERNET_KEYS=new,old takes over.
      await stack.running.sender!.stop();
      const both = await runtimeWith(`${newKey},${oldKey}`);
      senders.push(startSender(both));
      await noteConfirmed("enviado con new,old");
    });

    it("keys rotate (CLI) re-encrypts every token under the first key", async () => {
      const before = await stack.rt.store.db.selectFrom("plugin_configs").selectAll().orderBy("id").execute();
      const tokens = before.map((r) => new MultiFernet([oldKey]).decrypt(r.token_cifrado));
      const r = await runCli(["keys", "rotate", "--json"], { env: cliEnv(`${newKey},${oldKey}`) });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const out = JSON.parse(r.stdout) as { rotated: number; primary_key_fingerprint: string };
      assert.equal(out.rotated, 2);
      assert.equal(out.primary_key_fingerprint, new MultiFernet([newKey]).primaryKeyFingerprint);
      for (const secret of [newKey, oldKey, ...tokens]) assert.ok(!(r.stdout + r.stderr).includes(secret), "keys rotate printed a secret");
      const after = await stack.rt.store.db.selectFrom("plugin_configs").selectAll().orderBy("id").execute();
      after.forEach((row, i) => {
        assert.notEqual(row.token_cifrado, before[i]!.token_cifrado);
        assert.equal(new MultiFernet([newKey]).decrypt(row.token_cifrado), tokens[i]);
        assert.throws(() => new MultiFernet([oldKey]).decrypt(row.token_cifrado), "still readable with the old key");
      });
    });

    it("then a runtime with FERNET_KEYS=new alone sends fine, for every bot", async () => {
      await senders.pop()!.stop();
      const onlyNew = await runtimeWith(newKey);
      senders.push(startSender(onlyNew));
      await noteConfirmed("enviado solo con new");
      // The other bot's token too: a message to its (unlinked) bot gets the warning.
      const r = await stack.fake.deliverUpdate(other.token, stack.fake.makeTextUpdate(other.token, { chatId: 94_777, text: "hola" }));
      assert.equal(r.status, 200);
      await stack.fake.waitFor(
        () => stack.fake.sentMessages(other.token).some((m) => m.chat_id === 94_777 && /no está vinculado/.test(m.text)),
        15_000,
        "warning from the other bot",
      );
    });

    it("plugin rotate-secret: Telegram gets the new secret; the old one is still accepted in the grace period", async () => {
      const s0 = bot.secret;
      await noteConfirmed("antes de rotar", s0); // the server has the plugin (and its secret) cached now
      const r = await runCli(["plugin", "rotate-secret", String(bot.pluginId), "--url", stack.baseUrl, "--grace", "600", "--json"], { env: cliEnv(newKey) });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const out = JSON.parse(r.stdout) as { id: number; url: string; secret_rotated: boolean; previous_secret_valid_until: string };
      assert.equal(out.secret_rotated, true);
      assert.equal(out.url, `${stack.baseUrl}/plugins/telegram/webhook/${bot.pluginId}/`);
      assert.ok(Date.parse(out.previous_secret_valid_until) > Date.now() + 500_000);

      const s1 = stack.fake.webhookOf(bot.token)!.secret_token!;
      assert.notEqual(s1, s0);
      const meta = metadatosOf(await getPluginRow(stack.rt.store.db, bot.pluginId), stack.rt.store.seam);
      assert.equal(meta.webhook_secret, s1);
      assert.ok(!(r.stdout + r.stderr).includes(s1) && !(r.stdout + r.stderr).includes(s0), "rotate-secret printed a secret");

      // Updates Telegram sent just before (old secret) and sends now (new secret): both taken.
      await noteConfirmed("en vuelo con el secreto viejo", s0);
      await noteConfirmed("con el secreto nuevo"); // the fake sends its registered (new) secret
      bot = { ...bot, secret: s1 };
    });

    it("rotating again in-process: the new secret works at once; after a 1 s grace the old one is refused", async () => {
      const s0 = bot.secret;
      const warm = (
        await stack.fake.deliverUpdate(bot.token, stack.fake.makeTextUpdate(bot.token, { chatId: CHAT, text: "calentar la caché" }), { secret: s0 })
      ).status;
      assert.equal(warm, 200);
      const { secret: s2, previousValidUntil } = await rotateWebhookSecret(stack.rt.store.db, stack.rt.store.seam, bot.pluginId, 1);
      await setWebhook(runtimes.at(-1)!, bot.pluginId, stack.baseUrl); // the runtime holding FERNET_KEYS=new
      assert.equal(stack.fake.webhookOf(bot.token)!.secret_token, s2);

      // Telegram uses the new secret as soon as setWebhook returned.
      const fresh = await stack.fake.deliverUpdate(bot.token, stack.fake.makeTextUpdate(bot.token, { chatId: CHAT, text: "nuevo secreto, enseguida" }));
      assert.equal(fresh.status, 200, `the new secret was refused right after rotation: ${fresh.body}`);

      // The old secret: accepted until the grace period ends (bounded polling), then 401 for good.
      let status = 200;
      let tries = 0;
      const deadline = Date.now() + 20_000;
      while (status === 200) {
        assert.ok(Date.now() < deadline, "the old secret was never refused");
        status = (
          await stack.fake.deliverUpdate(bot.token, stack.fake.makeTextUpdate(bot.token, { chatId: CHAT, text: `viejo secreto ${++tries}` }), { secret: s0 })
        ).status;
        if (status === 200) await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(status, 401);
      assert.ok(Date.now() >= previousValidUntil, "refused before the grace period ended");
      const before = (await stack.tasks(bot.pluginId)).length;
      assert.equal(
        (await stack.fake.deliverUpdate(bot.token, stack.fake.makeTextUpdate(bot.token, { chatId: CHAT, text: "viejo otra vez" }), { secret: s0 })).status,
        401,
      );
      assert.equal((await stack.tasks(bot.pluginId)).length, before, "a refused update made a task");
      await noteConfirmed("nuevo secreto tras la gracia");
    });
  });
}
