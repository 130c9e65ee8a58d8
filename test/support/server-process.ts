// `serve` as a child process, the way an operator runs it: its own PID, its own database
// connections, killable with any signal (SIGKILL for the crash tests, SIGTERM for graceful
// shutdown). Plus what the fault tests need around it: an in-process runtime on the same
// database (to create users/plugins and read rows back), bots registered on the fake Bot API,
// and delivery of many updates the way Telegram does (in order per chat, many chats at once).
import { spawn, type ChildProcess } from "node:child_process";
import http from "node:http";
import net, { type AddressInfo } from "node:net";
import path from "node:path";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { loadConfig } from "../../src/config.ts";
import { createLogger } from "../../src/log.ts";
import { openRuntime, type Runtime } from "../../src/runtime.ts";
import { createUser } from "../../src/users/store.ts";
import { createPlugin } from "../../src/plugins/store.ts";
import { setWebhook } from "../../src/telegram/webhook-setup.ts";
import { startFakeBotApi, type DeliveryResult, type FakeBotApi } from "./fake-bot-api.ts";
import type { DbTarget, TestDatabase } from "./databases.ts";
import { generateKey } from "../../src/crypto/fernet.ts";
import { randomToken } from "./stack.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** A port nobody listens on right now (bind port 0, read it, let it go). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

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

const live = new Set<ChildProcess>();
let exitHookInstalled = false;
/**
 * Track a child process until it exits: a failed test must not leave a server or a worker
 * running on the shared machine (all tracked children are SIGKILLed when the test process exits).
 */
export function trackChild(child: ChildProcess): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on("exit", () => {
      for (const c of live) c.kill("SIGKILL");
    });
  }
  live.add(child);
  child.once("exit", () => live.delete(child));
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
  const env: NodeJS.ProcessEnv = { ...process.env };
  // Nothing from the parent's configuration may leak into the child's.
  for (const k of ["PUBLIC_URL", "DATABASE_URL", "FERNET_KEYS", "NODE_ENV", "SECRET_GRACE_SECONDS"]) delete env[k];
  Object.assign(env, {
    PORT: String(port), HOST: "127.0.0.1", LOG_LEVEL: opts.logLevel ?? "info", ...opts.env, ...opts.extraEnv,
  });
  const child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", "serve", ...(opts.args ?? [])], {
    cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"],
  });
  trackChild(child);
  let out = "";
  let err = "";
  child.stdout!.setEncoding("utf8").on("data", (d: string) => { out += d; });
  child.stderr!.setEncoding("utf8").on("data", (d: string) => { err += d; });
  let exitInfo: Exit | undefined;
  const exited = new Promise<Exit>((resolve) => {
    child.once("exit", (code, signal) => {
      exitInfo = { code, signal };
      resolve(exitInfo);
    });
  });
  const url = `http://127.0.0.1:${port}`;
  const sp: ServerProcess = {
    port, url, pid: child.pid!, child, exited,
    stdout: () => out,
    stderr: () => err,
    logLines: () => err.split("\n").flatMap((l) => {
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

/** GET a URL on a fresh connection; 0 when nothing answers. */
export function getStatus(url: string, timeoutMs = 2000): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
      res.on("error", () => resolve(0));
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(0));
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// ---------------------------------------------------------------------------
// The same database, opened in the test process

/** A runtime on the server's database and keys (migrated), logging nowhere. */
export async function openTestRuntime(env: ServerEnv): Promise<Runtime> {
  const config = loadConfig({ PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: "warn", ...env });
  const sink = new Writable({ write(_c, _e, cb) { cb(); } });
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
      usuarioId: user.id, identificador: `@${username}`, token,
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
  fake: FakeBotApi, items: Outgoing[],
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
    if (free > 0) { free--; return; }
    await new Promise<void>((r) => waiting.push(r));
  };
  const release = () => {
    const next = waiting.shift();
    if (next) next();
    else free++;
  };
  await Promise.all([...byChat.values()].map(async (queue) => {
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
  }));
  return results;
}

// ---------------------------------------------------------------------------------------------
// A whole world for the process tests: a fresh database, a fake Bot API, `chats` bots each with
// a plugin whose webhook points at a `serve` child process, every chat linked.

export interface World {
  database: TestDatabase;
  fake: FakeBotApi;
  env: ServerEnv;
  rt: Runtime;
  port: number;
  server: ServerProcess;
  bots: WorldBot[];
}

export async function startWorld(target: DbTarget, chats: number, extraEnv?: Record<string, string>): Promise<World> {
  const database = await target.create();
  const fake = await startFakeBotApi();
  const env: ServerEnv = { DATA_DIR: database.dataDir, DATABASE_URL: database.url, FERNET_KEYS: generateKey(), TELEGRAM_API_ROOT: fake.url };
  const rt = await openTestRuntime(env);
  const port = await freePort();
  const bots = await createBots(rt, fake, `http://127.0.0.1:${port}`, chats);
  const server = await startServerProcess({ env, port, extraEnv });
  await linkBots(fake, bots);
  return { database, fake, env, rt, port, server, bots };
}

/** Stop whatever of the world was started (the server may have been replaced by a restart). */
export async function stopWorld(w: Partial<World>): Promise<void> {
  await w.server?.stop("SIGTERM");
  await w.rt?.close();
  await w.fake?.close();
  await w.database?.drop();
}
