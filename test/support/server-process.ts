// `serve` as a child process, the way an operator runs it: its own PID, its own database
// connections, killable with any signal (SIGKILL for the crash tests, SIGTERM for graceful
// shutdown). Plus what the fault tests need around it: an in-process runtime on the same
// database (to create users/plugins and read rows back), bots registered on the fake Bot API,
// and delivery of many updates the way Telegram does (in order per chat, many chats at once).
import type { ChildProcess } from "node:child_process";
import { Writable } from "node:stream";
import { loadConfig } from "../../src/config.ts";
import { createLogger } from "../../src/log.ts";
import { openRuntime, type Runtime } from "../../src/runtime.ts";
import { createUser } from "../../src/users/store.ts";
import { createPlugin } from "../../src/plugins/store.ts";
import { setWebhook } from "../../src/telegram/webhook-setup.ts";
import { startFakeBotApi, type DeliveryResult, type FakeBotApi, type FakeBotApiOptions } from "./fake-bot-api.ts";
import type { DbTarget, TestDatabase } from "./databases.ts";
import { generateKey } from "../../src/crypto/fernet.ts";
import { randomToken } from "./stack.ts";
import { freePort, getStatus, spawnJoe } from "./child-process.ts";
import { sleep } from "./wait.ts";

export interface ServerEnv {
  DATA_DIR: string;
  DATABASE_URL: string;
  FERNET_KEYS: string;
  TELEGRAM_API_ROOT: string;
}

export interface ServerProcessOptions {
  env: ServerEnv;
  /** More environment for the child (e.g. SECRET_GRACE_SECONDS). */
  extraEnv?: Record<string, string>;
  /** Listen on this port (e.g. the one of a previous run, where the webhook points); default: a free one. */
  port?: number;
  logLevel?: string;
  /** Extra arguments after `serve` (e.g. "--no-workers"). */
  args?: string[];
  /** How long to wait for GET /healthz to answer 200 (default 30 s: tsx compiles on start). */
  startTimeoutMs?: number;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ServerProcess {
  readonly port: number;
  /** "http://127.0.0.1:<port>" */
  readonly url: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Everything the process printed so far. */
  stdout(): string;
  stderr(): string;
  /** stderr (where pino logs) parsed line by line; lines that are not JSON are skipped. */
  logLines(): Array<Record<string, unknown>>;
  /** Resolves once the process has exited. */
  readonly exited: Promise<Exit>;
  readonly alive: boolean;
  kill(signal?: NodeJS.Signals): void;
  /** kill(signal) and wait for the exit; SIGKILL if it has not exited within timeoutMs. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<Exit>;
}

export async function startServerProcess(opts: ServerProcessOptions): Promise<ServerProcess> {
  for (let attempt = 0; ; attempt++) {
    const port = opts.port ?? (await freePort());
    try {
      return await spawnOnce(opts, port);
    } catch (err) {
      // Someone took the free port between our look and the child's bind: try another one.
      const inUse = /EADDRINUSE/.test(String((err as Error).message));
      if (!inUse || opts.port !== undefined || attempt >= 3) throw err;
    }
  }
}

async function spawnOnce(opts: ServerProcessOptions, port: number): Promise<ServerProcess> {
  const child = spawnJoe(["serve", ...(opts.args ?? [])], {
    PORT: String(port),
    HOST: "127.0.0.1",
    LOG_LEVEL: opts.logLevel ?? "info",
    ...opts.env,
    ...opts.extraEnv,
  });
  let out = "";
  let err = "";
  child.stdout!.setEncoding("utf8").on("data", (d: string) => {
    out += d;
  });
  child.stderr!.setEncoding("utf8").on("data", (d: string) => {
    err += d;
  });
  let exitInfo: Exit | undefined;
  const exited = new Promise<Exit>((resolve) => {
    child.once("exit", (code, signal) => {
      exitInfo = { code, signal };
      resolve(exitInfo);
    });
  });
  const url = `http://127.0.0.1:${port}`;
  const sp: ServerProcess = {
    port,
    url,
    pid: child.pid!,
    child,
    exited,
    stdout: () => out,
    stderr: () => err,
    logLines: () =>
      err.split("\n").flatMap((l) => {
        try {
          const v = JSON.parse(l) as unknown;
          return v !== null && typeof v === "object" ? [v as Record<string, unknown>] : [];
        } catch {
          return [];
        }
      }),
    get alive() {
      return exitInfo === undefined;
    },
    kill(signal = "SIGTERM") {
      if (exitInfo === undefined) child.kill(signal);
    },
    async stop(signal = "SIGTERM", timeoutMs = 15_000) {
      if (exitInfo !== undefined) return exitInfo;
      child.kill(signal);
      const t = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      try {
        return await exited;
      } finally {
        clearTimeout(t);
      }
    },
  };

  const deadline = Date.now() + (opts.startTimeoutMs ?? 30_000);
  for (;;) {
    if (exitInfo !== undefined) {
      throw new Error(`serve exited before it was healthy (code ${exitInfo.code}, signal ${exitInfo.signal}):\n${err.slice(-4000)}${out.slice(-2000)}`);
    }
    if ((await getStatus(`${url}/healthz`)) === 200) return sp;
    if (Date.now() > deadline) {
      await sp.stop("SIGKILL");
      throw new Error(`serve did not answer /healthz within ${opts.startTimeoutMs ?? 30_000} ms:\n${err.slice(-4000)}`);
    }
    await sleep(50);
  }
}

// ---------------------------------------------------------------------------
// The same database, opened in the test process

/** A runtime on the server's database and keys (migrated), logging nowhere. */
export async function openTestRuntime(env: ServerEnv): Promise<Runtime> {
  const config = loadConfig({ PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: "warn", ...env });
  const sink = new Writable({
    write(_c, _e, cb) {
      cb();
    },
  });
  return openRuntime({ config, logger: createLogger("warn", sink) });
}

export interface WorldBot {
  pluginId: number;
  token: string;
  codigo: string;
  secret: string;
  /** The private chat this bot gets linked to. */
  chatId: number;
}

let worldSeq = 0;

/**
 * One user and `n` bots (a plugin each), every bot known to the fake and its webhook set to
 * `baseUrl` (the child's URL; the child need not be running yet). Each bot gets its own chat id.
 */
export async function createBots(rt: Runtime, fake: FakeBotApi, baseUrl: string, n: number): Promise<WorldBot[]> {
  const seq = ++worldSeq;
  const user = await createUser(rt.store.db, rt.store.seam, `fault${seq}_${Date.now().toString(36)}`);
  const bots: WorldBot[] = [];
  for (let i = 0; i < n; i++) {
    const token = randomToken();
    const username = `joe_fault${seq}_${i}_bot`;
    fake.addBot({ token, username });
    const { plugin, webhookSecret } = await createPlugin(rt.store.db, rt.store.seam, rt.keys.fernet, {
      usuarioId: user.id,
      identificador: `@${username}`,
      token,
    });
    await setWebhook(rt, plugin.id, baseUrl);
    bots.push({ pluginId: plugin.id, token, codigo: plugin.codigo_verificacion, secret: webhookSecret, chatId: 700_000 + seq * 1000 + i });
  }
  return bots;
}

/** `/start <code>` from each bot's chat through the webhook; waits until every link reply was sent. */
export async function linkBots(fake: FakeBotApi, bots: WorldBot[], timeoutMs = 20_000): Promise<void> {
  const before = new Map(bots.map((b) => [b.token, fake.sentMessages(b.token).length]));
  for (const b of bots) {
    const r = await fake.deliverUpdate(b.token, fake.makeTextUpdate(b.token, { chatId: b.chatId, text: `/start ${b.codigo}` }));
    if (r.status !== 200) throw new Error(`linking bot ${b.pluginId}: webhook answered ${r.status} ${r.body}`);
  }
  await fake.waitFor(() => bots.every((b) => fake.sentMessages(b.token).length > before.get(b.token)!), timeoutMs, "link replies sent");
}

// ---------------------------------------------------------------------------
// Delivering like Telegram: in order within a chat, many chats at once

export interface Outgoing {
  bot: WorldBot;
  update: Record<string, unknown>;
}

export interface Delivered extends Outgoing {
  result: DeliveryResult;
}

export function messageIdOf(update: Record<string, unknown>): number {
  return (update.message as { message_id: number }).message_id;
}

/**
 * Deliver `items` with at most `concurrency` requests in flight; the updates of one chat go one
 * after the other, in the order given (Telegram does not deliver a chat's next update before the
 * previous one was answered). `onStart` sees each request go out, `onResult` every answer as it comes.
 */
export async function deliverAll(
  fake: FakeBotApi,
  items: Outgoing[],
  opts: { concurrency: number; timeoutMs?: number; onStart?: (it: Outgoing) => void; onResult?: (d: Delivered) => void },
): Promise<Delivered[]> {
  const byChat = new Map<string, Outgoing[]>();
  for (const it of items) {
    const key = `${it.bot.token}:${it.bot.chatId}`;
    if (!byChat.has(key)) byChat.set(key, []);
    byChat.get(key)!.push(it);
  }
  const results: Delivered[] = [];
  let free = opts.concurrency;
  const waiting: Array<() => void> = [];
  const acquire = async () => {
    if (free > 0) {
      free--;
      return;
    }
    await new Promise<void>((r) => waiting.push(r));
  };
  const release = () => {
    const next = waiting.shift();
    if (next) next();
    else free++;
  };
  await Promise.all(
    [...byChat.values()].map(async (queue) => {
      for (const it of queue) {
        await acquire();
        try {
          opts.onStart?.(it);
          const result = await fake.deliverUpdate(it.bot.token, it.update, { timeoutMs: opts.timeoutMs ?? 30_000 });
          const d = { ...it, result };
          results.push(d);
          opts.onResult?.(d);
        } finally {
          release();
        }
      }
    }),
  );
  return results;
}

// ---------------------------------------------------------------------------------------------
// The set-up of every process test: a fresh database, a fake Bot API, the environment a `serve`
// child needs for both, and a runtime in this process on the same database (to create users and
// plugins and read rows back). startWorld adds `chats` bots whose webhooks point at a `serve`
// child, every chat linked.

export interface WorldBase {
  database: TestDatabase;
  fake: FakeBotApi;
  env: ServerEnv;
  rt: Runtime;
}

export interface World extends WorldBase {
  port: number;
  server: ServerProcess;
  bots: WorldBot[];
}

export async function openWorld(target: DbTarget, opts: { fake?: FakeBotApiOptions } = {}): Promise<WorldBase> {
  const database = await target.create();
  const fake = await startFakeBotApi(opts.fake);
  const env: ServerEnv = { DATA_DIR: database.dataDir, DATABASE_URL: database.url, FERNET_KEYS: generateKey(), TELEGRAM_API_ROOT: fake.url };
  const rt = await openTestRuntime(env);
  return { database, fake, env, rt };
}

export async function startWorld(target: DbTarget, chats: number, extraEnv?: Record<string, string>): Promise<World> {
  const base = await openWorld(target);
  const port = await freePort();
  const bots = await createBots(base.rt, base.fake, `http://127.0.0.1:${port}`, chats);
  const server = await startServerProcess({ env: base.env, port, extraEnv });
  await linkBots(base.fake, bots);
  return { ...base, port, server, bots };
}

/** Stop whatever of the world was started (the server may have been replaced by a restart). */
export async function stopWorld(w: Partial<World>): Promise<void> {
  await w.server?.stop("SIGTERM");
  await w.rt?.close();
  await w.fake?.close();
  await w.database?.drop();
}
