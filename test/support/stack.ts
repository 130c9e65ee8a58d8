// A whole running Joe for a test: the real HTTP server (listening on 127.0.0.1), its workers, a
// real database, and the fake Telegram Bot API. Helpers create a bot's plugin, register its
// webhook, and deliver updates exactly as Telegram would: over HTTP, with the secret header.
import { Writable } from "node:stream";
import { generateKey } from "../../src/crypto/fernet.ts";
import { loadConfig } from "../../src/config.ts";
import { createLogger } from "../../src/log.ts";
import { openRuntime, startServer, type Runtime, type Running } from "../../src/runtime.ts";
import { createUser } from "../../src/users/store.ts";
import { createPlugin } from "../../src/plugins/store.ts";
import { setWebhook } from "../../src/telegram/webhook-setup.ts";
import { listTasks } from "../../src/tasks/store.ts";
import { PluginDirectory } from "../../src/plugins/directory.ts";
import { startFakeBotApi, type FakeBotApi, type FakeBotApiOptions } from "./fake-bot-api.ts";
import type { DbTarget, TestDatabase } from "./databases.ts";

/** Every log line written by any stack in this test process (for the secrets check). */
export const capturedLogs: string[] = [];

export interface TestBot {
  pluginId: number;
  token: string;
  username: string;
  codigo: string;
  secret: string;
}

export interface Stack {
  fake: FakeBotApi;
  rt: Runtime;
  running: Running;
  baseUrl: string;
  database: TestDatabase;
  fernetKey: string;
  /** A user, a plugin for a fresh bot on the fake API, and its webhook registered. */
  addBot(opts?: { username?: string; idioma?: "es" | "en" }): Promise<TestBot>;
  /** Send `/start <code>` from chatId and wait for the link confirmation to be sent. */
  link(bot: TestBot, chatId: number): Promise<void>;
  sendText(
    bot: TestBot,
    chatId: number,
    text: string,
    extra?: { languageCode?: string },
  ): Promise<{ status: number; body: string; update: Record<string, unknown> }>;
  tasks(pluginId?: number): ReturnType<typeof listTasks>;
  stop(): Promise<void>;
}

let botSeq = 0;

export function randomToken(): string {
  const digits = String(1_000_000_000 + Math.floor(Math.random() * 8_000_000_000));
  const tail = Buffer.from(Array.from({ length: 27 }, () => Math.floor(Math.random() * 256)))
    .toString("base64url")
    .slice(0, 35);
  return `${digits}:${tail}`;
}

export interface StackOptions {
  fake?: FakeBotApiOptions;
  workers?: boolean;
  env?: Record<string, string>;
  /** The clock of the webhook's plugin cache (plugins/directory.ts), for tests about its expiry. */
  pluginCacheNow?: () => number;
}

export async function startStack(target: DbTarget, opts: StackOptions = {}): Promise<Stack> {
  const fake = await startFakeBotApi(opts.fake);
  const database = await target.create();
  const fernetKey = generateKey();
  const config = loadConfig({
    PORT: "0",
    HOST: "127.0.0.1",
    DATA_DIR: database.dataDir,
    DATABASE_URL: database.url,
    FERNET_KEYS: fernetKey,
    TELEGRAM_API_ROOT: fake.url,
    LOG_LEVEL: "debug",
    ...opts.env,
  });
  const sink = new Writable({
    write(chunk, _enc, cb) {
      capturedLogs.push(String(chunk));
      cb();
    },
  });
  const rt = await openRuntime({ config, logger: createLogger("debug", sink) });
  const plugins = opts.pluginCacheNow ? new PluginDirectory(rt.store.db, rt.store.seam, undefined, opts.pluginCacheNow) : undefined;
  const running = await startServer(rt, { workers: opts.workers ?? true, plugins });
  const baseUrl = running.url!.replace("localhost", "127.0.0.1");

  const stack: Stack = {
    fake,
    rt,
    running,
    baseUrl,
    database,
    fernetKey,
    async addBot(o = {}) {
      const n = ++botSeq;
      const token = randomToken();
      const username = o.username ?? `joe_test${n}_bot`;
      fake.addBot({ token, username });
      const user = await createUser(rt.store.db, rt.store.seam, `user${n}_${Date.now().toString(36)}`);
      const { plugin, webhookSecret } = await createPlugin(rt.store.db, rt.store.seam, rt.keys.fernet, {
        usuarioId: user.id,
        identificador: `@${username}`,
        token,
        idioma: o.idioma,
      });
      await setWebhook(rt, plugin.id, baseUrl);
      return { pluginId: plugin.id, token, username, codigo: plugin.codigo_verificacion, secret: webhookSecret };
    },
    async link(bot, chatId) {
      const before = fake.sentMessages(bot.token).length;
      const r = await stack.sendText(bot, chatId, `/start ${bot.codigo}`);
      if (r.status !== 200) throw new Error(`link: webhook answered ${r.status} ${r.body}`);
      await fake.waitForMessages(before + 1, bot.token);
    },
    async sendText(bot, chatId, text, extra = {}) {
      const update = fake.makeTextUpdate(bot.token, { chatId, text });
      if (extra.languageCode) (update.message as { from: Record<string, unknown> }).from.language_code = extra.languageCode;
      const r = await fake.deliverUpdate(bot.token, update);
      return { status: r.status, body: r.body, update };
    },
    tasks: (pluginId) => listTasks(rt.store.db, rt.store.seam, { pluginId, limit: 100_000 }),
    async stop() {
      await running.stop();
      await fake.close();
      await database.drop();
    },
  };
  return stack;
}
