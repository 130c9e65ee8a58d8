// Joe under benchmark: a fresh database (SQLite file or a PostgreSQL database of our own),
// users and plugins created in-process through the real stores (tokens Fernet-encrypted), then
// `serve` / `worker` run as child processes from the compiled build. Nothing here holds the
// database open while a child writes to it.
import fs from "node:fs";
import path from "node:path";
import pg from "pg";
import { pathToFileURL } from "node:url";
import { openStore, type Store } from "../../src/db/connect.ts";
import { migrate } from "../../src/db/migrations.ts";
import { MultiFernet } from "../../src/crypto/fernet.ts";
import { createUser } from "../../src/users/store.ts";
import { createPlugin } from "../../src/plugins/store.ts";
import type { FakeBotApi } from "../../test/support/fake-bot-api.ts";
import { freePort } from "../../test/support/child-process.ts";
import { tempDir } from "../../test/support/temp-dir.ts";
import { startChild, waitForOk, type Child } from "./proc.ts";

/** The V8 flags Joe runs with, as `npm start` and bin/joe-telegram.js's shebang give them. */
const PRODUCTION_NODE_FLAGS = ["--max-semi-space-size=4"];

export const PG_URL = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

export interface BenchDb {
  kind: "sqlite" | "postgres";
  /** PostgreSQL: the database's name (its backends show it in their process title). */
  name?: string;
  url: string;
  dataDir: string;
  drop(): Promise<void>;
}

export function sqliteDb(): BenchDb {
  const dataDir = tempDir("bench-sqlite");
  return { kind: "sqlite", url: `sqlite:${path.join(dataDir, "joe.sqlite")}`, dataDir, drop: async () => fs.rmSync(dataDir, { recursive: true, force: true }) };
}

let pgCounter = 0;
/** A fresh PostgreSQL database; null (with the reason) when the server cannot be reached. */
export async function postgresDb(): Promise<BenchDb | { unavailable: string }> {
  const admin = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
  try {
    await admin.connect();
  } catch (err) {
    return { unavailable: `${PG_URL.replace(/\/\/[^@]*@/, "//…@")}: ${(err as Error).message}` };
  }
  const name = `joe_bench_${process.pid}_${Date.now().toString(36)}_${pgCounter++}`;
  await admin.query(`create database ${name}`);
  await admin.end();
  const u = new URL(PG_URL);
  u.pathname = `/${name}`;
  const dataDir = tempDir("bench-pg");
  return {
    kind: "postgres",
    name,
    url: u.toString(),
    dataDir,
    async drop() {
      fs.rmSync(dataDir, { recursive: true, force: true });
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

/**
 * The code the bench runs in-process against Joe's database (migrate, create users and plugins,
 * read tasks back). A baseline (BENCH_BASELINE_REF) brings its own, from its compiled build, so its
 * database gets its own schema and rows shaped by its own stores, not by the code under test.
 */
export interface JoeLib {
  openStore: typeof openStore;
  migrate: typeof migrate;
  MultiFernet: typeof MultiFernet;
  createUser: typeof createUser;
  createPlugin: typeof createPlugin;
}

/** The tree under test (src/, through tsx). */
export const CURRENT_LIB: JoeLib = { openStore, migrate, MultiFernet, createUser, createPlugin };

/**
 * The same functions from a compiled build (`dist`, e.g. a baseline's). Their call shapes are
 * assumed to be today's: a baseline older than a change to them fails here, loudly.
 */
export async function loadJoeLib(dist: string): Promise<JoeLib> {
  const imp = (rel: string) => import(pathToFileURL(path.join(dist, rel)).href) as Promise<Record<string, unknown>>;
  const [connect, migrations, fernet, users, plugins] = await Promise.all([
    imp("db/connect.js"),
    imp("db/migrations.js"),
    imp("crypto/fernet.js"),
    imp("users/store.js"),
    imp("plugins/store.js"),
  ]);
  const lib = {
    openStore: connect.openStore,
    migrate: migrations.migrate,
    MultiFernet: fernet.MultiFernet,
    createUser: users.createUser,
    createPlugin: plugins.createPlugin,
  };
  for (const [k, v] of Object.entries(lib)) if (typeof v !== "function") throw new Error(`${dist}: no function ${k} where the bench expects it`);
  return lib as JoeLib;
}

export async function withStore<T>(db: BenchDb, fn: (s: Store) => Promise<T>, lib: JoeLib = CURRENT_LIB): Promise<T> {
  const store = await lib.openStore(db.url);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

export interface BenchBot {
  pluginId: number;
  token: string;
  username: string;
  secret: string;
  codigo: string;
}

let botSeq = 0;
export function benchToken(): string {
  const digits = String(1_000_000_000 + Math.floor(Math.random() * 8_000_000_000));
  const tail = Buffer.from(Array.from({ length: 27 }, () => Math.floor(Math.random() * 256)))
    .toString("base64url")
    .slice(0, 35);
  return `${digits}:${tail}`;
}

/** Migrate, then create `n` users with one plugin each (real encrypted tokens), bots known to the fake. */
export async function createBots(db: BenchDb, fernetKey: string, n: number, fake?: FakeBotApi, lib: JoeLib = CURRENT_LIB): Promise<BenchBot[]> {
  return withStore(
    db,
    async ({ db: k, seam }) => {
      await lib.migrate(k, seam);
      const fernet = new lib.MultiFernet([fernetKey]);
      const bots: BenchBot[] = [];
      for (let i = 0; i < n; i++) {
        const seq = ++botSeq;
        const token = benchToken();
        const username = `joe_bench${seq}_bot`;
        fake?.addBot({ token, username });
        const user = await lib.createUser(k, seam, `bench${seq}_${Date.now().toString(36)}`);
        const { plugin, webhookSecret } = await lib.createPlugin(k, seam, fernet, { usuarioId: user.id, identificador: `@${username}`, token });
        bots.push({ pluginId: plugin.id, token, username, secret: webhookSecret, codigo: plugin.codigo_verificacion });
      }
      return bots;
    },
    lib,
  );
}

export interface JoeProcess {
  child: Child;
  baseUrl: string;
  /** performance.now() of the first 200 on /healthz. */
  readyAt: number;
}

export interface JoeEnv {
  db: BenchDb;
  fernetKey: string;
  apiRoot: string;
  cliMain: string;
  cwd: string;
  extraArgs?: string[];
  nodeArgs?: string[];
  /** More environment for Joe (BENCH_VARIANT_ENV: the same server measured with other settings). */
  env?: Record<string, string>;
}

function joeEnv(e: JoeEnv, port?: number): Record<string, string> {
  return {
    DATA_DIR: e.db.dataDir,
    DATABASE_URL: e.db.url,
    FERNET_KEYS: e.fernetKey,
    TELEGRAM_API_ROOT: e.apiRoot,
    LOG_LEVEL: "warn",
    HOST: "127.0.0.1",
    NODE_ENV: "production",
    ...(port !== undefined ? { PORT: String(port) } : {}),
    ...e.env,
  };
}

/** `serve` (webhook + workers) as a child process; resolves when /healthz answers 200. */
export async function startServe(e: JoeEnv): Promise<JoeProcess> {
  const port = await freePort();
  const child = startChild("joe serve", [...PRODUCTION_NODE_FLAGS, ...(e.nodeArgs ?? []), e.cliMain, "serve", ...(e.extraArgs ?? [])], joeEnv(e, port), e.cwd);
  const baseUrl = `http://127.0.0.1:${port}`;
  const readyAt = await waitForOk(child, `${baseUrl}/healthz`);
  return { child, baseUrl, readyAt };
}

/** `worker` (the outbox sender alone) as a child process. */
export function startWorkerProcess(e: JoeEnv): Child {
  return startChild("joe worker", [...PRODUCTION_NODE_FLAGS, ...(e.nodeArgs ?? []), e.cliMain, "worker"], joeEnv(e), e.cwd);
}

export function webhookUrl(baseUrl: string, pluginId: number): string {
  return `${baseUrl}/plugins/telegram/webhook/${pluginId}/`;
}

/** Link `chatId` to the bot the way a user does (`/start <code>` through the webhook) and wait for the reply. */
export async function linkChat(fake: FakeBotApi, baseUrl: string, bot: BenchBot, chatId: number): Promise<void> {
  const before = fake.sentMessages(bot.token).length;
  const update = fake.makeTextUpdate(bot.token, { chatId, text: `/start ${bot.codigo}` });
  const r = await fake.deliverUpdate(bot.token, update, { url: webhookUrl(baseUrl, bot.pluginId), secret: bot.secret });
  if (r.status !== 200) throw new Error(`link: webhook answered ${r.status} ${r.body}`);
  await fake.waitForMessages(before + 1, bot.token, 15_000);
}
