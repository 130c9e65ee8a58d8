// The `joe-telegram` CLI end to end, as a new user runs it: every command is a real child process
// (node --import tsx src/cli/main.ts …) against a real database, a fake Telegram Bot API over HTTP,
// and — for the middle of the walk — the real server started with `serve`.
// The steps of the "walk" build on each other (one database per target); the development-key case
// gets a fresh database. At the end, everything any process printed is searched for secrets.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { dbTargets, type TestDatabase } from "../support/databases.ts";
import { startFakeBotApi, type FakeBotApi } from "../support/fake-bot-api.ts";
import { freePort } from "../support/child-process.ts";
import { runCli, startCli, waitForHttp, cliOutputs, cliRuns, type CliEnv, type CliProcess, type CliResult } from "../support/cli.ts";
import { generateKey, MultiFernet } from "../../src/crypto/fernet.ts";
import { openStore } from "../../src/db/connect.ts";
import { metadatosOf } from "../../src/plugins/state.ts";
import type { PluginRow } from "../../src/db/schema.ts";

// ---------------------------------------------------------------------------------------------
// Secrets used anywhere in this file: none may ever show up in what a process printed.

const secrets: Array<{ kind: string; value: string }> = [];
function secret(kind: string, value: string): string {
  secrets.push({ kind, value });
  return value;
}

/** A BotFather-shaped token (digits:35 url-safe characters), registered as a secret. */
function botToken(): string {
  const digits = String(1_000_000_000 + Math.floor(Math.random() * 8_000_000_000));
  return secret("bot token", `${digits}:${randomBytes(27).toString("base64url").slice(0, 35)}`);
}

function fernetKey(): string {
  return secret("Fernet key", generateKey());
}

/** The parts of a secret that must not leak either (a token's part after the colon, a key without padding). */
function fragments(value: string): string[] {
  const out = [value];
  const colon = value.indexOf(":");
  if (colon > 0 && value.length - colon > 16) out.push(value.slice(colon + 1));
  const unpadded = value.replace(/=+$/, "");
  if (unpadded !== value) out.push(unpadded);
  return out;
}

function assertNoSecretIn(r: CliResult, ...values: string[]): void {
  for (const v of values) {
    for (const f of fragments(v)) {
      assert.ok(!r.stdout.includes(f) && !r.stderr.includes(f), "a secret was printed by the command");
    }
  }
}

function ok(r: CliResult, what: string): void {
  assert.equal(r.code, 0, `${what} exited ${r.code}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`);
}

/** The plugin row as stored, read in-process (the test's own connection). */
async function readPlugin(db: TestDatabase, id: number): Promise<PluginRow & { secret: string }> {
  const store = await openStore(db.url);
  try {
    const row = await store.db.selectFrom("plugin_configs").selectAll().where("id", "=", id).executeTakeFirstOrThrow();
    return { ...row, secret: metadatosOf(row, store.seam).webhook_secret ?? "" };
  } finally {
    await store.close();
  }
}

// ---------------------------------------------------------------------------------------------

for (const target of dbTargets()) {
  describe(`CLI walk (${target.name})`, () => {
    let database: TestDatabase;
    let fake: FakeBotApi;
    let server: CliProcess | undefined;
    let env: CliEnv;
    let port: number;
    const K1 = fernetKey(); // FERNET_KEYS for the walk
    const K2 = fernetKey(); // the key rotated in at step 6
    const T1 = botToken(); // @joe_bot, known to the fake Bot API
    const T2 = botToken(); // @otro_bot, read from stdin; unknown to the fake (401)
    const CHAT = 1_234_567_890_123; // > 2^32: must survive as a 64-bit integer
    const run = (args: string[], extra: CliEnv = {}, stdin?: string) => runCli(args, { env: { ...env, ...extra }, stdin });

    let userId: number;
    let id1: number;
    let id2: number;
    let codigo1: string;
    let secret1: string;

    before(async () => {
      database = await target.create();
      fake = await startFakeBotApi();
      fake.addBot({ token: T1, username: "joe_bot" });
      port = await freePort(); // where `serve` will listen later; nothing listens there yet
      env = {
        DATA_DIR: database.dataDir,
        DATABASE_URL: database.url,
        FERNET_KEYS: K1,
        TELEGRAM_API_ROOT: fake.url,
        PUBLIC_URL: "https://joe.example.org",
      };
    });
    after(async () => {
      if (server) await server.stop("SIGKILL").catch(() => {});
      await fake.close();
      await database.drop();
    });

    it("1. user create: prints the user; a second time: exit 1, 'already exists' (human and JSON)", async () => {
      const r = await run(["user", "create", "pedro", "--json"]);
      ok(r, "user create");
      const u = r.json();
      assert.equal(typeof u.id, "number");
      assert.equal(u.username, "pedro");
      userId = u.id;

      const [again, againHuman] = await Promise.all([run(["user", "create", "pedro", "--json"]), run(["user", "create", "pedro"])]);
      assert.equal(again.code, 1);
      const e = again.json();
      assert.equal(e.ok, false);
      assert.equal(e.error_code, "USER_EXISTS");
      assert.match(e.description, /already exists/);
      assert.equal(againHuman.code, 1);
      assert.equal(againHuman.stdout, "");
      assert.match(againHuman.stderr, /^error: .*already exists.*pedro/m);
    });

    it("2. plugin create: id, JOE- code, not verified, deep link; token encrypted at rest, never printed; --token - reads stdin", async () => {
      const [r, viaStdin] = await Promise.all([
        run(["plugin", "create", "--user", "pedro", "--identificador", "@joe_bot", "--token", T1, "--json"]),
        // Human output; the owner by id rather than username; the identificador without its @.
        run(["plugin", "create", "--user", String(userId), "--identificador", "otro_bot", "--token", "-"], {}, `${T2}\n`),
      ]);
      ok(r, "plugin create");
      const p = r.json();
      assert.equal(typeof p.id, "number");
      assert.equal(p.usuario_id, userId);
      assert.equal(p.servicio, "telegram");
      assert.equal(p.identificador, "@joe_bot");
      assert.match(p.codigo_verificacion, /^JOE-[A-Z0-9]{4}$/);
      assert.equal(p.verificado, false);
      assert.equal(p.chat_id_verificado, null);
      assert.equal(p.deep_link, `https://t.me/joe_bot?start=${p.codigo_verificacion}`);
      id1 = p.id;
      codigo1 = p.codigo_verificacion;

      const row = await readPlugin(database, id1);
      assert.match(row.secret, /^[A-Za-z0-9_-]{16,256}$/, "a webhook secret was generated");
      secret1 = secret("webhook secret", row.secret);
      assert.notEqual(row.token_cifrado, T1);
      assert.ok(!row.token_cifrado.includes(T1.split(":")[1]!));
      assert.equal(new MultiFernet([K1]).decrypt(row.token_cifrado), T1);
      assertNoSecretIn(r, T1, secret1);

      ok(viaStdin, "plugin create --token -");
      const m = /Plugin (\d+) created for pedro \(@otro_bot\)/.exec(viaStdin.stdout);
      assert.ok(m, viaStdin.stdout);
      id2 = Number(m[1]);
      assert.match(viaStdin.stdout, /https:\/\/t\.me\/otro_bot\?start=JOE-[A-Z0-9]{4}/);
      assert.match(viaStdin.stdout, /webhook set/, "tells the user what to do next");
      const row2 = await readPlugin(database, id2);
      secret("webhook secret", row2.secret);
      assert.equal(new MultiFernet([K1]).decrypt(row2.token_cifrado), T2);
      assertNoSecretIn(viaStdin, T2, row2.secret);
    });

    it("2c. bad token / bad identificador / unknown user: exit 1, a clear message without the token", async () => {
      const badToken = secret("bad token", `1234567890:${randomBytes(12).toString("hex")}!?${randomBytes(6).toString("hex")}`);
      const T3 = botToken();
      const [bt, bi, bu] = await Promise.all([
        run(["plugin", "create", "--user", "pedro", "--identificador", "@mal_bot", "--token", badToken]),
        run(["plugin", "create", "--user", "pedro", "--identificador", "@1no", "--token", T3, "--json"]),
        run(["plugin", "create", "--user", "nadie", "--identificador", "@mal_bot", "--token", T3]),
      ]);
      assert.equal(bt.code, 1);
      assert.match(bt.stderr, /error: .*--token does not look like a BotFather token/);
      assertNoSecretIn(bt, badToken);

      assert.equal(bi.code, 1);
      const e = bi.json();
      assert.equal(e.ok, false);
      assert.equal(e.error_code, "INVALID_INPUT");
      assert.match(e.description, /--identificador/);
      assertNoSecretIn(bi, T3);

      assert.equal(bu.code, 1);
      assert.match(bu.stderr, /error: no such user: nadie/);
      assertNoSecretIn(bu, T3);
    });

    it("3. webhook set: setWebhook with Joe's path, the plugin's secret, allowed_updates [message, edited_message] and the command menu; an unknown token: 401", async () => {
      const [r, unknown] = await Promise.all([
        run(["webhook", "set", String(id1), "--url", `http://127.0.0.1:${port}`, "--json"]),
        run(["webhook", "set", String(id2), "--url", `http://127.0.0.1:${port}`]), // T2 is not a bot the Bot API knows
      ]);
      ok(r, "webhook set");
      const url = `http://127.0.0.1:${port}/plugins/telegram/webhook/${id1}/`;
      const out = r.json();
      assert.equal(out.ok, true);
      assert.equal(out.url, url);
      assert.match(out.warning, /https/, "warns that Telegram itself only delivers to https");
      const wh = fake.webhookOf(T1);
      assert.ok(wh, "the fake Bot API has the webhook");
      assert.equal(wh.url, url);
      assert.equal(wh.secret_token, secret1);
      assert.deepEqual(wh.allowed_updates, ["message", "edited_message"]);
      assert.deepEqual(
        fake.commandsOf(T1, "es").map((c) => (c as { command: string }).command),
        ["tareas", "deshacer"],
      );
      assertNoSecretIn(r, T1, secret1);

      assert.equal(unknown.code, 1);
      assert.match(unknown.stderr, /error: .*401 Unauthorized.*bot token/);
      // `plugin create` (PUBLIC_URL is set) tried once already; this is the second try.
      const calls = fake.callsOf("setWebhook", T2);
      assert.equal(calls.length, 2);
      assert.ok(calls.every((c) => c.status === 401));
      assertNoSecretIn(unknown, T2);
    });

    it("3b. webhook info --json: url, pending updates, points at this plugin", async () => {
      const r = await run(["webhook", "info", String(id1), "--json"]);
      ok(r, "webhook info");
      const info = r.json();
      assert.equal(info.url, `http://127.0.0.1:${port}/plugins/telegram/webhook/${id1}/`);
      assert.equal(info.pending_update_count, 0);
      assert.equal(info.points_to_this_plugin, true);
      assert.equal(info.last_error_date, undefined);
    });

    it("3c. after a failed delivery, the human `webhook info` shows pending updates and the last error", async () => {
      // Nothing listens on the port yet: Telegram's delivery fails and is kept pending.
      const d = await fake.deliverUpdate(T1, fake.makeTextUpdate(T1, { chatId: 4242, text: "hola" }));
      assert.equal(d.status, 0);
      const r = await run(["webhook", "info", String(id1)]);
      ok(r, "webhook info");
      assert.throws(() => JSON.parse(r.stdout), "human output is not JSON");
      assert.match(r.stdout, /pending updates\s+1\b/);
      assert.match(r.stdout, /points to this plugin\s+yes/);
      assert.match(r.stdout, /last error\s+\d{4}-\d\d-\d\dT\S+ Connection refused/);
      assert.ok(r.stdout.includes(`/plugins/telegram/webhook/${id1}/`));
    });

    it("3d. Bot API unreachable: exit 1 'cannot reach the Bot API', no token", async () => {
      await fake.stop();
      try {
        const r = await run(["webhook", "info", String(id1)]);
        assert.equal(r.code, 1);
        assert.match(r.stderr, /error: .*cannot reach the Bot API/);
        assertNoSecretIn(r, T1, secret1);
      } finally {
        await fake.restart();
      }
    });

    it("4. serve: linking, a text and a voice note become tasks; the CLI shows them; SIGTERM exits 0", async () => {
      server = startCli(["serve"], { env: { ...env, PORT: String(port), HOST: "127.0.0.1", LOG_LEVEL: "debug" } });
      await waitForHttp(`http://127.0.0.1:${port}/healthz`, server);
      // The webhook set in step 3 points here: Telegram (the fake) now reaches the server.

      const start = await fake.deliverUpdate(T1, fake.makeTextUpdate(T1, { chatId: CHAT, text: `/start ${codigo1}` }));
      assert.equal(start.status, 200);
      assert.deepEqual(JSON.parse(start.body), { ok: true });
      await fake.waitForMessages(1, T1, 15_000);
      assert.equal(fake.sentMessages(T1)[0]!.text, "✅ ¡Bot vinculado con éxito! Ya puedes enviarme notas de voz o texto.");

      const textUpdate = fake.makeTextUpdate(T1, { chatId: CHAT, text: "comprar pan" });
      assert.equal((await fake.deliverUpdate(T1, textUpdate)).status, 200);
      const voice = {
        message: {
          message_id: 9001,
          date: Math.floor(Date.now() / 1000),
          chat: { id: CHAT, type: "private" },
          from: { id: CHAT, is_bot: false, first_name: "Pedro" },
          voice: { file_id: "AwACAgQ-voice", file_unique_id: "AgADvoice", duration: 12, mime_type: "audio/ogg", file_size: 23456 },
        },
      };
      assert.equal((await fake.deliverUpdate(T1, voice)).status, 200);
      await fake.waitForMessages(3, T1, 15_000);

      const [show, all, pending] = await Promise.all([
        run(["plugin", "show", String(id1), "--json"]),
        run(["tasks", "list", "--json"]),
        run(["tasks", "list", "--pending-stt", "--json"]),
      ]);
      ok(show, "plugin show");
      const p = show.json();
      assert.equal(p.verificado, true);
      assert.equal(p.chat_id_verificado, CHAT);

      ok(all, "tasks list");
      const tasks = all.json();
      assert.ok(Array.isArray(tasks));
      assert.equal(tasks.length, 2);
      const text = tasks.find((t: { tipo: string }) => t.tipo === "telegram");
      assert.ok(text, "a text task");
      assert.match(text.codigo, /^T-[A-Z0-9]{4}$/);
      assert.equal(text.titulo, "comprar pan");
      assert.equal(text.estado, "queued");
      assert.equal(text.plugin_id, id1);
      assert.equal(text.usuario_id, userId);
      assert.deepEqual(text.metadatos_extra, {
        chat_id: CHAT,
        message_id: (textUpdate.message as { message_id: number }).message_id,
        plugin_id: id1,
        owner_id: userId,
        texto_original: "comprar pan",
      });
      const voiceTask = tasks.find((t: { tipo: string }) => t.tipo === "telegram_voice");
      assert.ok(voiceTask, "a voice task");
      assert.equal(voiceTask.metadatos_extra.pendiente_stt, true);
      assert.equal(voiceTask.metadatos_extra.file_id, "AwACAgQ-voice");

      ok(pending, "tasks list --pending-stt");
      const onlyVoice = pending.json();
      assert.equal(onlyVoice.length, 1);
      assert.equal(onlyVoice[0].codigo, voiceTask.codigo);
      assert.equal(onlyVoice[0].tipo, "telegram_voice");

      const sentTexts = fake.sentMessages(T1).map((m) => m.text);
      assert.ok(sentTexts.includes(`✅ Recibido. Encolando... [${text.codigo}]`));
      assert.ok(sentTexts.includes(`✅ Recibido. Encolando... [${voiceTask.codigo}]`));

      const exit = await server.stop("SIGTERM", 20_000);
      server = undefined;
      assert.deepEqual(exit, { code: 0, signal: null }, "serve exits 0 after SIGTERM");

      const [messages, unlink] = await Promise.all([run(["messages", "list", "--json"]), run(["plugin", "unlink", String(id1), "--json"])]);
      ok(messages, "messages list");
      const rows = messages.json();
      assert.equal(rows.length, 3);
      const confirmation = rows.find((m: { text: string }) => m.text === `✅ Recibido. Encolando... [${text.codigo}]`);
      assert.ok(confirmation, "the confirmation is listed");
      assert.equal(confirmation.status, "sent");
      assert.equal(confirmation.chat_id, CHAT);
      assert.equal(confirmation.plugin_id, id1);
      assert.ok(
        rows.every((m: { status: string }) => m.status === "sent"),
        "a graceful stop leaves nothing half-sent",
      );

      ok(unlink, "plugin unlink");
      const u = unlink.json();
      assert.equal(u.verificado, false);
      assert.equal(u.chat_id_verificado, null);
      assert.match(u.codigo_verificacion, /^JOE-[A-Z0-9]{4}$/);
      assert.notEqual(u.codigo_verificacion, codigo1);
      assert.equal(u.deep_link, `https://t.me/joe_bot?start=${u.codigo_verificacion}`);
    });

    it("5. list commands print one JSON array; rotate-secret registers a new secret", async () => {
      const [plugins, users, unparsed] = await Promise.all([
        run(["plugin", "list", "--json"]),
        run(["user", "list", "--json"]),
        run(["updates", "unparsed", "--json"]),
      ]);
      ok(plugins, "plugin list");
      const list = plugins.json();
      assert.ok(Array.isArray(list));
      assert.deepEqual(
        list.map((p: { id: number }) => p.id).sort((a: number, b: number) => a - b),
        [id1, id2].sort((a, b) => a - b),
        "the refused creations left nothing behind",
      );
      assert.ok(list.every((p: Record<string, unknown>) => !("token_cifrado" in p)));
      ok(users, "user list");
      assert.deepEqual(
        users.json().map((u: { username: string }) => u.username),
        ["pedro"],
      );
      ok(unparsed, "updates unparsed");
      assert.deepEqual(unparsed.json(), []);

      const rotate = await run(["plugin", "rotate-secret", String(id1), "--json"]); // --url defaults to PUBLIC_URL
      ok(rotate, "plugin rotate-secret");
      const rs = rotate.json();
      assert.equal(rs.url, `https://joe.example.org/plugins/telegram/webhook/${id1}/`);
      assert.equal(rs.secret_rotated, true);
      const newSecret = secret("webhook secret", (await readPlugin(database, id1)).secret);
      assert.notEqual(newSecret, secret1);
      assert.equal(fake.webhookOf(T1)?.secret_token, newSecret, "Telegram got the new secret");
      assert.equal(fake.webhookOf(T1)?.url, rs.url);
    });

    it("6. keys rotate: new,old decrypts old tokens; after rotating, the new key alone works", async () => {
      const url = `http://127.0.0.1:${port}/plugins/telegram/webhook/${id1}/`;
      const [newOnly, both] = await Promise.all([
        run(["webhook", "info", String(id1), "--json"], { FERNET_KEYS: K2 }),
        run(["webhook", "set", String(id1), "--url", `http://127.0.0.1:${port}`, "--json"], { FERNET_KEYS: `${K2},${K1}` }),
      ]);
      assert.equal(newOnly.code, 1, "before rotating, the new key alone cannot decrypt the tokens");
      assert.equal(newOnly.json().error_code, "KEY_MISMATCH");
      ok(both, "webhook set with FERNET_KEYS=new,old");
      assert.equal(fake.webhookOf(T1)?.url, url);

      const rot = await run(["keys", "rotate", "--json"], { FERNET_KEYS: `${K2},${K1}` });
      ok(rot, "keys rotate");
      assert.equal(rot.json().rotated, 2);
      for (const [id, token] of [
        [id1, T1],
        [id2, T2],
      ] as const) {
        const row = await readPlugin(database, id);
        assert.equal(new MultiFernet([K2]).decrypt(row.token_cifrado), token, "re-encrypted under the new key");
        assert.throws(() => new MultiFernet([K1]).decrypt(row.token_cifrado), "no longer under the old key");
      }

      fake.calls = [];
      const afterRotation = await run(["webhook", "set", String(id1), "--url", `http://127.0.0.1:${port}`, "--json"], { FERNET_KEYS: K2 });
      ok(afterRotation, "webhook set with FERNET_KEYS=new");
      const calls = fake.callsOf("setWebhook", T1);
      assert.equal(calls.length, 1, "the fake Bot API received the call for that bot's token");
      assert.equal(calls[0]!.status, 200);
      assert.equal(calls[0]!.params.url, url);
      for (const r of [newOnly, both, rot, afterRotation]) assertNoSecretIn(r, K1, K2, T1, T2);
    });

    it("6b. webhook delete clears the webhook at Telegram", async () => {
      const r = await run(["webhook", "delete", String(id1), "--json"], { FERNET_KEYS: K2 });
      ok(r, "webhook delete");
      assert.deepEqual(r.json(), { id: id1, ok: true, modo: "polling" }, "the bot goes back to polling");
      assert.equal(fake.webhookOf(T1), undefined);
      assert.equal(fake.callsOf("deleteWebhook", T1).length, 1);
    });
  });

  describe(`CLI without FERNET_KEYS: development key (${target.name})`, () => {
    let database: TestDatabase;
    let dataDir: string;
    let env: CliEnv;
    before(async () => {
      database = await target.create();
      dataDir = path.join(database.dataDir, "data"); // does not exist yet
      env = { DATA_DIR: dataDir, DATABASE_URL: database.url };
    });
    after(() => database.drop());

    it("7. the first command generates DATA_DIR/fernet.key (0600) with a warning; the next reuses it", async () => {
      const keyFile = path.join(dataDir, "fernet.key");
      assert.equal(fs.existsSync(keyFile), false);
      const first = await runCli(["user", "create", "ana"], { env });
      ok(first, "user create");
      assert.match(first.stdout, /User ana created/);
      assert.ok(fs.existsSync(keyFile), "the key file was written");
      assert.equal(fs.statSync(keyFile).mode & 0o777, 0o600);
      const key = secret("Fernet key (generated)", fs.readFileSync(keyFile, "utf8").trim());
      assert.match(first.stderr, /FERNET_KEYS is not set/);
      assert.ok(first.stderr.includes(keyFile), "the warning says where the key is");
      assertNoSecretIn(first, key);

      const T4 = botToken();
      const second = await runCli(["plugin", "create", "--user", "ana", "--identificador", "@ana_bot", "--token", T4, "--json"], { env });
      ok(second, "plugin create");
      assert.doesNotMatch(second.stderr, /FERNET_KEYS is not set/);
      assert.equal(fs.readFileSync(keyFile, "utf8").trim(), key, "the key file is unchanged");
      const row = await readPlugin(database, second.json().id);
      assert.equal(new MultiFernet([key]).decrypt(row.token_cifrado), T4, "the token is under the generated key");
      secret("webhook secret", row.secret);
      assertNoSecretIn(second, key, T4, row.secret);
    });
  });
}

describe("serve and worker with a bad FERNET_KEYS (fails before any database is opened)", () => {
  it("exit 1 with one JSON error that names the variable, not its value", async () => {
    const badKey = secret("bad Fernet key", generateKey().slice(0, 40));
    const dataDir = path.join(os.tmpdir(), `joe-cli-never-created-${process.pid}`);
    const env = { DATA_DIR: dataDir, FERNET_KEYS: badKey };
    const [serve, worker] = await Promise.all([runCli(["serve", "--json"], { env }), runCli(["worker", "--json"], { env })]);
    for (const r of [serve, worker]) {
      assert.equal(r.code, 1);
      const e = r.json();
      assert.equal(e.ok, false);
      assert.equal(e.error_code, "CONFIG");
      assert.match(e.description, /FERNET_KEYS entry 1 is not a valid Fernet key/);
      assertNoSecretIn(r, badKey);
    }
    assert.equal(fs.existsSync(dataDir), false, "nothing was written");
  });
});

describe("everything the CLI printed in this file", () => {
  it("every --json run printed exactly one JSON value on stdout", () => {
    const jsonRuns = cliRuns.filter((r) => r.args.includes("--json"));
    assert.ok(jsonRuns.length >= 20, `only ${jsonRuns.length} --json runs recorded`);
    for (const { args, result } of jsonRuns) {
      assert.doesNotThrow(() => result.json(), `${args.slice(0, 2).join(" ")} --json`);
      if (result.code !== 0) assert.equal(result.json().ok, false, `${args.slice(0, 2).join(" ")}: errors as {ok:false,…}`);
    }
  });

  it("contains no bot token, webhook secret or Fernet key", () => {
    assert.ok(cliOutputs.length > 0);
    const kinds = new Set(secrets.map((s) => s.kind));
    for (const k of ["bot token", "webhook secret", "Fernet key", "Fernet key (generated)"]) assert.ok(kinds.has(k), `no ${k} was used`);
    cliOutputs.forEach((out, i) => {
      for (const s of secrets) {
        for (const f of fragments(s.value)) {
          // The message names the kind only, so a failure does not print the secret either.
          assert.ok(!out.includes(f), `output #${i} contains a ${s.kind}`);
        }
      }
    });
  });
});
