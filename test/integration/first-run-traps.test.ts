// The traps a first run fell into (issue 13), each as a user meets it: a lost key file, the same
// bot registered twice, no way to delete a plugin, a second database from a subfolder, and
// `npm start` that did not stop on SIGTERM.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawn } from "node:child_process";
import { dbTargets } from "../support/databases.ts";
import { runCli as runCliRaw, startCli, waitForHttp, type CliEnv } from "../support/cli.ts";
import { startFakeBotApi, type FakeBotApi } from "../support/fake-bot-api.ts";
import { startStack, randomToken, type Stack } from "../support/stack.ts";
import { PROJECT_ROOT, childEnv, freePort, getStatus, trackChild } from "../support/child-process.ts";
import { removeDir, tempDir } from "../support/temp-dir.ts";
import { loadConfig } from "../../src/config.ts";
import { sleep, until } from "../support/wait.ts";

/** The machine is shared and loaded: a CLI start may take long; give each command 3 minutes. */
const runCli = (args: string[], opts: Parameters<typeof runCliRaw>[1]) => runCliRaw(args, { timeoutMs: 180_000, ...opts });

describe("trap: the development key file deleted", () => {
  let fake: FakeBotApi;
  let dataDir: string;
  before(async () => {
    fake = await startFakeBotApi();
    dataDir = tempDir("tg-keylost");
  });
  after(async () => {
    await fake.close();
    removeDir(dataDir);
  });

  it("serve refuses to start, saying how to recover; plugin set-token re-enters the token and serve starts", { timeout: 900_000 }, async () => {
    const token = randomToken();
    fake.addBot({ token, username: "lost_key_bot" });
    const env: CliEnv = { DATA_DIR: dataDir, TELEGRAM_API_ROOT: fake.url, HOST: "127.0.0.1" };
    assert.equal((await runCli(["user", "create", "ana"], { env })).code, 0);
    const created = await runCli(["plugin", "create", "--user", "ana", "--identificador", "@lost_key_bot", "--token", "-", "--json"], { env, stdin: token });
    assert.equal(created.code, 0, created.stderr);
    const id = created.json<{ id: number }>().id;

    fs.rmSync(path.join(dataDir, "fernet.key"));
    const port = await freePort();
    const serve = startCli(["serve"], { env: { ...env, PORT: String(port) } });
    // Either it exits, or it comes up (the trap): then stop it and fail.
    let up = false;
    let gone = false;
    void serve.exited.then(() => {
      gone = true;
    });
    await until(
      async () => {
        if (gone) return true;
        up = (await getStatus(`http://127.0.0.1:${port}/healthz`)) === 200;
        return up;
      },
      "serve to exit or listen",
      120_000,
    );
    if (up) await serve.stop("SIGKILL");
    assert.equal(up, false, "serve must not start with keys that open no stored token");
    const code = await serve.exited;
    assert.equal(code.code, 1, "serve exits instead of running with a key that opens nothing");
    assert.match(serve.stderr(), /cannot be decrypted/);
    assert.match(serve.stderr(), /restore the key/i);
    assert.match(serve.stderr(), /plugin set-token <id>/);
    assert.doesNotMatch(serve.stderr() + serve.stdout(), new RegExp(token.split(":")[1]!), "no token in the message");

    const wrong = randomToken();
    fake.addBot({ token: wrong, username: "someone_else_bot" });
    const refused = await runCli(["plugin", "set-token", String(id), "--token", "-", "--json"], { env, stdin: wrong });
    assert.equal(refused.code, 1);
    assert.equal(refused.json().error_code, "TOKEN_MISMATCH", "another bot's token is refused");

    const fixed = await runCli(["plugin", "set-token", String(id), "--token", "-", "--json"], { env, stdin: token });
    assert.equal(fixed.code, 0, fixed.stdout + fixed.stderr);
    const serve2 = startCli(["serve"], { env: { ...env, PORT: String(port) } });
    try {
      await waitForHttp(`http://127.0.0.1:${port}/healthz`, serve2, 120_000);
    } finally {
      await serve2.stop("SIGTERM", 30_000);
    }
  });
});

for (const target of dbTargets()) {
  describe(`trap: the same bot twice, and no plugin delete (${target.name})`, () => {
    let stack: Stack;
    let env: CliEnv;
    before(async () => {
      stack = await startStack(target);
      env = { DATA_DIR: stack.database.dataDir, DATABASE_URL: stack.database.url, FERNET_KEYS: stack.fernetKey, TELEGRAM_API_ROOT: stack.fake.url };
      assert.equal((await runCli(["user", "create", "bea"], { env })).code, 0);
    });
    after(() => stack.stop());

    it("plugin create refuses the same token, another token of the same bot, and the same @bot", { timeout: 600_000 }, async () => {
      const token = randomToken();
      stack.fake.addBot({ token, username: "twice_bot" });
      const create = (ident: string, t: string) =>
        runCli(["plugin", "create", "--user", "bea", "--identificador", ident, "--token", "-", "--json"], { env, stdin: t });
      const first = await create("@twice_bot", token);
      assert.equal(first.code, 0, first.stderr);
      const sameToken = await create("@other_name_bot", token);
      assert.equal(sameToken.code, 1);
      assert.equal(sameToken.json().error_code, "PLUGIN_EXISTS");
      assert.match(sameToken.json().description, new RegExp(`plugin ${first.json().id}`));
      const newTokenSameBot = `${token.split(":")[0]}:${randomToken().split(":")[1]}`;
      assert.equal((await create("@twice_bot_b", newTokenSameBot)).json().error_code, "PLUGIN_EXISTS", "same bot id");
      assert.equal((await create("@TWICE_bot", randomToken())).json().error_code, "PLUGIN_EXISTS", "same username, any case");
      const list = await runCli(["plugin", "list", "--json"], { env });
      assert.equal(list.json<Array<{ identificador: string }>>().filter((p) => /twice/i.test(p.identificador)).length, 1, "nothing was added");
    });

    it("plugin delete: refused while the plugin has tasks; --force removes its webhook at Telegram, the plugin and its tasks", {
      timeout: 600_000,
    }, async () => {
      const bot = await stack.addBot();
      await stack.link(bot, 990_001);
      assert.equal((await stack.sendText(bot, 990_001, "keep me")).status, 200);
      assert.ok(stack.fake.webhookOf(bot.token), "webhook set");

      const refused = await runCli(["plugin", "delete", String(bot.pluginId), "--json"], { env });
      assert.equal(refused.code, 1);
      assert.equal(refused.json().error_code, "PLUGIN_HAS_TASKS");
      assert.equal((await stack.tasks(bot.pluginId)).length, 1, "nothing deleted");
      assert.ok(stack.fake.webhookOf(bot.token), "webhook left in place");

      const forced = await runCli(["plugin", "delete", String(bot.pluginId), "--force", "--json"], { env });
      assert.equal(forced.code, 0, forced.stdout + forced.stderr);
      assert.equal(forced.json().tasks_deleted, 1);
      assert.equal(stack.fake.webhookOf(bot.token), undefined, "deleteWebhook called first");
      assert.equal((await stack.tasks(bot.pluginId)).length, 0);
      const show = await runCli(["plugin", "show", String(bot.pluginId), "--json"], { env });
      assert.equal(show.json().error_code, "PLUGIN_NOT_FOUND");
      // The bot can be registered again.
      const again = await runCli(["plugin", "create", "--user", "bea", "--identificador", `@${bot.username}`, "--token", "-", "--json"], {
        env,
        stdin: bot.token,
      });
      assert.equal(again.code, 0, again.stdout + again.stderr);
      assert.equal(again.json().modo, "polling", "no PUBLIC_URL: polled");
    });
  });
}

describe("trap: the CLI run from a subfolder", () => {
  it("the default data folder is the project's, wherever the command runs", () => {
    const before = process.cwd();
    try {
      process.chdir(path.join(PROJECT_ROOT, "test"));
      const fromSub = loadConfig({});
      process.chdir(os.tmpdir());
      const fromTmp = loadConfig({});
      assert.equal(fromSub.DATA_DIR, path.join(PROJECT_ROOT, "data"));
      assert.equal(fromTmp.databaseUrl, fromSub.databaseUrl);
    } finally {
      process.chdir(before);
    }
  });
});

describe("trap: SIGTERM to `npm start`", () => {
  it("reaches the server: the port closes and npm exits", { timeout: 180_000 }, async () => {
    const dataDir = tempDir("tg-npmstart");
    const fake = await startFakeBotApi();
    const port = await freePort();
    // Its own process group, so that whatever it leaves behind can be killed afterwards.
    const npm = spawn("npm", ["start", "--silent"], {
      cwd: PROJECT_ROOT,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: childEnv({ DATA_DIR: dataDir, PORT: String(port), HOST: "127.0.0.1", TELEGRAM_API_ROOT: fake.url, LOG_LEVEL: "warn" }),
    });
    trackChild(npm);
    let err = "";
    npm.stderr!.on("data", (d) => {
      err += String(d);
    });
    npm.stdout!.resume();
    const exited = new Promise<void>((resolve) => npm.once("exit", () => resolve()));
    try {
      await until(async () => (await getStatus(`http://127.0.0.1:${port}/healthz`)) === 200, `npm start to listen (${err.slice(-500)})`, 150_000);
      process.kill(npm.pid!, "SIGTERM");
      await until(async () => (await getStatus(`http://127.0.0.1:${port}/healthz`)) === 0, "the port to close", 30_000);
      await Promise.race([
        exited,
        sleep(30_000).then(() => {
          throw new Error("npm did not exit");
        }),
      ]);
    } finally {
      try {
        process.kill(-npm.pid!, "SIGKILL");
      } catch {
        /* already gone */
      }
      await fake.close();
      removeDir(dataDir);
    }
  });
});
