// The benchmarks of issue 5, in one run on one machine so the ratios are fair:
//   1. ingest at concurrency 40: (a) bare Fastify, (b) Joe on SQLite, (c) Joe on PostgreSQL,
//      (d) the naive grammY webhookCallback + one transaction per update; then the integrity
//      check (every update answered 2xx has exactly one task) for (b), (c) and (d);
//   2. outbox: 5,000 confirmations, 10 bots × 50 chats, against the fake Bot API enforcing
//      Telegram's limits: total time vs the limits' minimum, duplicates, 429s;
//   3. confirmation latency, unloaded: webhook 200 → sendMessage arriving at the fake;
//   4. memory (peak RSS of Joe during 1b) and cold start of `serve` (compiled) to the first 200.
// Servers and the worker run as child processes from a fresh compile (bench/.tmp, gitignored);
// the load generator (autocannon) and the fake Bot API run in this process.
//
//   npm run bench                       full run (~3 min), writes bench/RESULTS.md + results.json
//   node --import tsx bench/run.ts --quick   smoke run (short durations), writes bench/.tmp/
//   node --import tsx bench/run.ts --render  rewrite RESULTS.md from results.json (no measuring)
// Environment: BENCH_SECONDS (10), BENCH_WARMUP_SECONDS (2), BENCH_CONNECTIONS (40),
// BENCH_PLUGINS (1: linked plugins the load rotates over), BENCH_LATENCY_N (30),
// BENCH_SLICE_SECONDS (2: the ingest servers take turns in slices this long), BENCH_LATENCY_GAP_MS
// (400), BENCH_OUTBOX_PER_CHAT (10), BENCH_OUTBOX_DEADLINE (60 s), BENCH_COLD_RUNS (5),
// BENCH_PROFILE (1; 0 skips the CPU profile runs), BENCH_PROFILE_SECONDS (5), BENCH_PG (1; 0 skips
// PostgreSQL), BENCH_DATABASE_URL (postgres://postgres@127.0.0.1:5432/test: where to create
// and drop databases of our own), BENCH_WAIT_QUIET (10 s a section may wait for other processes
// to calm down), BENCH_ONLY (comma list of ingest,profile,outbox,latency,start; partial runs
// write to bench/.tmp/), BENCH_OUT (directory for the results files), BENCH_DUMP_CALLS (1: keep
// the outbox's sendMessage calls in bench/.tmp for analysis), BENCH_BASELINE_REF or
// --baseline <ref> (a git ref: that commit's src/ is compiled too and its Joe joins the ingest
// rotation as (b0) SQLite and (c0) PostgreSQL, for an A/B under the same noise; see bench/README.md).
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { generateKey } from "../src/crypto/fernet.ts";
import type { NewOutgoing } from "../src/db/schema.ts";
import { startFakeBotApi, type FakeBotApi } from "../test/support/fake-bot-api.ts";
import { textUpdateTemplate, UPDATE_TEXT_CHARS } from "./lib/update.ts";
import { runLoad, runSlice, summarise, IdSource, type LoadSummary, type Route, type Slice } from "./lib/load.ts";
import { startChild, waitForOk, memoryOf, sampleRss, machineNoise, othersCpuMeter, pidsWithCmdline, fsyncMs, cpuSecondsOf, type Child } from "./lib/proc.ts";
import { freePort } from "../test/support/child-process.ts";
import { tempDir } from "../test/support/temp-dir.ts";
import { sleep } from "../test/support/wait.ts";
import {
  sqliteDb,
  postgresDb,
  createBots,
  startServe,
  startWorkerProcess,
  linkChat,
  webhookUrl,
  withStore,
  loadJoeLib,
  CURRENT_LIB,
  type BenchDb,
  type JoeEnv,
  type JoeLib,
} from "./lib/joe.ts";
import { summariseProfile, type ProfileSummary } from "./lib/cpuprof.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BENCH = path.join(ROOT, "bench");
const TMP = path.join(BENCH, ".tmp");

// ---------------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------------

const QUICK = process.argv.includes("--quick") || process.env.BENCH_QUICK === "1";
/** `--baseline <ref>` / `--baseline=<ref>`, else BENCH_BASELINE_REF. */
function baselineArg(): string | undefined {
  const argv = process.argv.slice(2);
  const i = argv.findIndex((a) => a === "--baseline" || a.startsWith("--baseline="));
  if (i < 0) return process.env.BENCH_BASELINE_REF || undefined;
  const v = argv[i]!.includes("=") ? argv[i]!.slice("--baseline=".length) : argv[i + 1];
  if (!v || v.startsWith("--")) throw new Error("--baseline needs a git ref (e.g. --baseline main)");
  return v;
}
function num(name: string, full: number, quick: number): number {
  const v = process.env[name];
  if (v === undefined || v === "") return QUICK ? quick : full;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number`);
  return n;
}
const CFG = {
  seconds: num("BENCH_SECONDS", 10, 3),
  warmup: num("BENCH_WARMUP_SECONDS", 2, 1),
  /** The servers take turns in slices this long (whole seconds: autocannon stops on a 1 s tick). */
  sliceSeconds: Math.max(1, Math.round(num("BENCH_SLICE_SECONDS", 2, 1))),
  connections: num("BENCH_CONNECTIONS", 40, 40),
  plugins: Math.max(1, num("BENCH_PLUGINS", 1, 1)),
  latencyN: num("BENCH_LATENCY_N", 30, 10),
  latencyGapMs: num("BENCH_LATENCY_GAP_MS", 400, 400),
  latencyBots: 5,
  outboxBots: 10,
  outboxChats: 50,
  outboxPerChat: Math.max(1, num("BENCH_OUTBOX_PER_CHAT", 10, 3)),
  /** Stop waiting for the outbox after this long (then report the rate and a projection). */
  outboxDeadlineS: num("BENCH_OUTBOX_DEADLINE", 60, 30),
  coldRuns: Math.max(1, num("BENCH_COLD_RUNS", 5, 3)),
  profile: process.env.BENCH_PROFILE !== "0",
  profileSeconds: num("BENCH_PROFILE_SECONDS", 5, 2),
  profileOutboxPerChat: Math.max(1, num("BENCH_PROFILE_OUTBOX_PER_CHAT", 3, 1)),
  pg: process.env.BENCH_PG !== "0",
  variantDb: process.env.BENCH_VARIANT_DB === "postgres" ? ("postgres" as const) : ("sqlite" as const),
  profileDb: process.env.BENCH_PROFILE_DB === "postgres" ? ("postgres" as const) : ("sqlite" as const),
  /** Before each section, wait up to this many seconds for other processes to calm down… */
  waitQuietS: num("BENCH_WAIT_QUIET", 10, 0),
  /** …i.e. to use less than this % of one core in total; at most waitQuietTotalS seconds per run. */
  quietPct: num("BENCH_QUIET_PCT", 30, 30),
  waitQuietTotalS: num("BENCH_WAIT_QUIET_TOTAL", 90, 0),
  variantEnv: process.env.BENCH_VARIANT_ENV
    ? Object.fromEntries(
        process.env.BENCH_VARIANT_ENV.split(/\s+/)
          .filter(Boolean)
          .map((kv) => [kv.split("=")[0]!, kv.split("=").slice(1).join("=")]),
      )
    : undefined,
  only: (process.env.BENCH_ONLY ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean),
  /** A git ref whose Joe runs in the ingest rotation too, as (b0) and (c0). */
  baselineRef: baselineArg(),
};
const runs = (part: string) => CFG.only.length === 0 || CFG.only.includes(part);
const PARTIAL = QUICK || CFG.only.length > 0;
const OUT_DIR = process.env.BENCH_OUT ?? (PARTIAL ? TMP : BENCH);

/** Telegram's limits the fake enforces (per bot per second, per private chat per second). */
const TG_PER_BOT_PER_S = 30;
const TG_PER_CHAT_PER_S = 1;

const log = (s: string) => process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${s}\n`);
let quietBudgetS = CFG.waitQuietTotalS;
/** Wait (bounded) until other processes use little CPU; returns what they used in the last second. */
async function waitQuiet(section: string): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    const n = await machineNoise(1000);
    const waited = (performance.now() - t0) / 1000;
    if (n.othersPct < CFG.quietPct || waited >= CFG.waitQuietS || quietBudgetS - waited <= 0) {
      quietBudgetS -= waited;
      if (n.othersPct >= CFG.quietPct) log(`  (${section}: other processes still use ${n.othersPct.toFixed(0)} % of a core; going ahead)`);
      return n.othersPct;
    }
  }
}
const fmt = (n: number | undefined, d = 1) => (n === undefined || !Number.isFinite(n) ? "–" : n.toFixed(d));

function percentile(values: number[], q: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((q / 100) * s.length) - 1))]!;
}

// ---------------------------------------------------------------------------------------------
// Clean-up of everything started here (children by pid, databases we created)
// ---------------------------------------------------------------------------------------------

const cleanups: Array<() => Promise<unknown>> = [];
/** Register a clean-up; the returned function runs it now (once) and gives its result. */
function onCleanup<T>(fn: () => Promise<T>): () => Promise<T | undefined> {
  let done: Promise<T | undefined> | undefined;
  const run = () =>
    (done ??= fn().catch((e: unknown) => {
      log(`cleanup: ${(e as Error).message}`);
      return undefined;
    }));
  cleanups.push(run);
  return run;
}
async function cleanupAll(): Promise<void> {
  for (const c of cleanups.reverse()) await c();
}
function trackChild(c: Child): () => Promise<number | null | undefined> {
  return onCleanup(() => c.stop());
}
function trackDb(db: BenchDb): () => Promise<void> {
  return onCleanup(() => db.drop());
}

// ---------------------------------------------------------------------------------------------
// Build: a fresh compile of src/ (what `npm run build` makes) and of the comparison servers
// ---------------------------------------------------------------------------------------------

interface Build {
  cliMain: string;
  bareJs: string;
  grammyJs: string;
  floorJs: string;
  notes: string[];
}

function tsc(args: string[], cwd = ROOT): string | null {
  try {
    execFileSync(process.execPath, [path.join(ROOT, "node_modules/typescript/bin/tsc"), ...args], { cwd, stdio: "pipe" });
    return null;
  } catch (err) {
    const e = err as { stdout?: Buffer; message: string };
    return (e.stdout?.toString() ?? e.message).split("\n").slice(0, 10).join("\n");
  }
}

function build(): Build {
  const notes: string[] = [];
  const dist = path.join(TMP, "dist");
  const servers = path.join(TMP, "servers");
  fs.rmSync(dist, { recursive: true, force: true });
  // The compiled CLI reads its version from the package.json beside its dist/ (as in an install)
  // and exits without it.
  fs.copyFileSync(path.join(ROOT, "package.json"), path.join(TMP, "package.json"));
  const srcErr = tsc(["-p", "tsconfig.build.json", "--outDir", dist, "--declaration", "false", "--sourceMap", "false"]);
  const cliMain = path.join(dist, "cli/main.js");
  if (!fs.existsSync(cliMain)) throw new Error(`build of src/ failed:\n${srcErr}`);
  if (srcErr) notes.push(`tsc reported errors compiling src/ (output emitted anyway): ${srcErr.split("\n")[0]}`);
  const srvErr = tsc([
    path.join(BENCH, "servers/bare.ts"),
    path.join(BENCH, "servers/grammy-naive.ts"),
    path.join(BENCH, "servers/floor.ts"),
    "--outDir",
    servers,
    "--module",
    "nodenext",
    "--moduleResolution",
    "nodenext",
    "--target",
    "es2022",
    "--strict",
    "--esModuleInterop",
    "--skipLibCheck",
    "--types",
    "node",
  ]);
  const bareJs = path.join(servers, "bare.js");
  const grammyJs = path.join(servers, "grammy-naive.js");
  const floorJs = path.join(servers, "floor.js");
  if (!fs.existsSync(bareJs) || !fs.existsSync(grammyJs) || !fs.existsSync(floorJs)) throw new Error(`build of bench/servers failed:\n${srvErr}`);
  if (srvErr) notes.push(`tsc reported errors compiling bench/servers: ${srvErr.split("\n")[0]}`);
  return { cliMain, bareJs, grammyJs, floorJs, notes };
}

// ---------------------------------------------------------------------------------------------
// The baseline of an A/B (BENCH_BASELINE_REF): another commit's src/, compiled the same way
// ---------------------------------------------------------------------------------------------

interface Baseline {
  ref: string;
  /** The full commit id and its subject line. */
  sha: string;
  subject: string;
  cliMain: string;
  lib: JoeLib;
  notes: string[];
}

function git(args: string[]): string {
  return execFileSync("git", args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] })
    .toString()
    .trim();
}

/** The full commit id of `ref`; checked before anything is built, so a typo fails at once. */
function resolveCommit(ref: string): string {
  try {
    return git(["rev-parse", "--verify", "--end-of-options", `${ref}^{commit}`]);
  } catch {
    throw new Error(`baseline: ${JSON.stringify(ref)} is not a commit in this repository`);
  }
}

/**
 * `git archive <ref>` of what a build needs (src/, package.json for "type": "module" and the
 * version, the tsconfigs) unpacked into bench/.tmp/baseline-<sha>/, with node_modules a symlink to
 * this tree's (so both sides run on the same dependencies: the A/B measures our code, not an
 * upgrade), compiled with this tree's tsc as build() compiles src/. An archive rather than a git
 * worktree: nothing is written to the repository's metadata, so an interrupted run leaves nothing
 * to prune. Removed again at the end of the run.
 */
async function buildBaseline(ref: string, sha: string): Promise<Baseline> {
  const subject = git(["log", "-1", "--format=%s", sha]);
  const dir = path.join(TMP, `baseline-${sha.slice(0, 12)}`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  onCleanup(async () => fs.rmSync(dir, { recursive: true, force: true }));
  const wanted = ["src", "package.json", "tsconfig.json", "tsconfig.build.json"];
  const present = git(["ls-tree", "--name-only", sha]).split("\n");
  const archive = spawnSync("git", ["archive", "--format=tar", sha, ...wanted.filter((w) => present.includes(w))], { cwd: ROOT, maxBuffer: 512 * 2 ** 20 });
  if (archive.status !== 0) throw new Error(`git archive ${sha}: ${archive.stderr.toString()}`);
  const untar = spawnSync("tar", ["-x", "-C", dir], { input: archive.stdout });
  if (untar.status !== 0) throw new Error(`tar -x into ${dir}: ${untar.stderr.toString()}`);
  fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"), "dir");
  const dist = path.join(dir, "dist");
  const notes: string[] = [];
  const err = tsc(["-p", "tsconfig.build.json", "--outDir", dist, "--declaration", "false", "--sourceMap", "false"], dir);
  const cliMain = path.join(dist, "cli/main.js");
  if (!fs.existsSync(cliMain)) throw new Error(`build of the baseline ${ref} (${sha.slice(0, 12)}) failed:\n${err}`);
  if (err) notes.push(`tsc reported errors compiling the baseline's src/ (output emitted anyway): ${err.split("\n")[0]}`);
  return { ref, sha, subject, cliMain, lib: await loadJoeLib(dist), notes };
}

// ---------------------------------------------------------------------------------------------
// 1. Ingest
// ---------------------------------------------------------------------------------------------

interface Integrity {
  answered2xx: number;
  tasks: number;
  /** Answered 2xx but no task: a broken durability promise. */
  missing: number;
  /** message_ids with more than one task. */
  duplicates: number;
  /** Tasks whose request was not counted as 2xx (in flight when the load stopped). */
  inFlightAtStop: number;
  ok: boolean;
}

interface IngestResult {
  /**
   * a bare, b Joe SQLite, c Joe PostgreSQL, d naive grammY, e the durable floor; b' a variant of b;
   * b0 and c0 the baseline's Joe (BENCH_BASELINE_REF).
   */
  key: string;
  label: string;
  skipped?: string;
  load?: LoadSummary;
  peakRssMb?: number;
  sampledRssMb?: number;
  integrity?: Integrity;
  confirmationsSentDuringRun?: number;
}

const CHAT_BASE = 510_000_000;
const chatOf = (i: number) => CHAT_BASE + i;

function checkIntegrity(messageIds: number[], ok: Set<number>): Integrity {
  const counts = new Map<number, number>();
  for (const id of messageIds) counts.set(id, (counts.get(id) ?? 0) + 1);
  let duplicates = 0;
  for (const c of counts.values()) if (c > 1) duplicates++;
  let missing = 0;
  for (const id of ok) if (!counts.has(id)) missing++;
  let inFlightAtStop = 0;
  for (const id of counts.keys()) if (!ok.has(id)) inFlightAtStop++;
  return { answered2xx: ok.size, tasks: messageIds.length, missing, duplicates, inFlightAtStop, ok: missing === 0 && duplicates === 0 };
}

/** A server under the ingest load, set up and running, waiting for its turns. */
interface IngestServer {
  key: IngestResult["key"];
  label: string;
  child: Child;
  baseUrl: string;
  routes: Route[];
  ids: IdSource;
  slices: Slice[];
  rss: { stop(): number };
  /** PostgreSQL backends serving this server's database (listed again at each slice: pools reconnect). */
  dbPids(): number[];
  /** Stop the child (gracefully) and check the database; undefined for the bare server. */
  finish(): Promise<Pick<IngestResult, "integrity" | "confirmationsSentDuringRun">>;
}

async function setupBare(b: Build): Promise<IngestServer> {
  const port = await freePort();
  const child = startChild("bare fastify", [b.bareJs], { PORT: String(port) }, ROOT);
  const stop = trackChild(child);
  const baseUrl = `http://127.0.0.1:${port}`;
  await waitForOk(child, `${baseUrl}/healthz`);
  return {
    key: "a",
    label: "(a) bare Fastify, {ok:true}",
    child,
    baseUrl,
    ids: new IdSource(),
    slices: [],
    rss: sampleRss(child.pid),
    dbPids: () => [],
    routes: [{ path: "/plugins/telegram/webhook/1/", secret: "s3cret", template: textUpdateTemplate(chatOf(0)) }],
    finish: async () => {
      await stop();
      return {};
    },
  };
}

/** Which Joe: the tree under test, or the baseline of an A/B. */
interface JoeCode {
  cliMain: string;
  lib: JoeLib;
  baseline?: Baseline;
}

async function setupJoe(code: JoeCode, fake: FakeBotApi, kind: "sqlite" | "postgres", variant?: Record<string, string>): Promise<IngestServer | IngestResult> {
  const key = (kind === "sqlite" ? "b" : "c") + (variant ? "'" : "") + (code.baseline ? "0" : "");
  const label = `(${key}) Joe webhook, ${kind === "sqlite" ? "SQLite" : "PostgreSQL"}${
    variant
      ? `, with ${Object.entries(variant)
          .map(([k, v]) => `${k}=${v}`)
          .join(" ")}`
      : ""
  }${code.baseline ? `, baseline ${code.baseline.ref} (${code.baseline.sha.slice(0, 7)})` : ""}`;
  const db = kind === "sqlite" ? sqliteDb() : await postgresDb();
  if ("unavailable" in db) {
    log(`  ${label}: skipped, PostgreSQL unreachable (${db.unavailable})`);
    return { key, label, skipped: `PostgreSQL unreachable: ${db.unavailable}` };
  }
  const dropDb = trackDb(db);
  const fernetKey = generateKey();
  const bots = await createBots(db, fernetKey, CFG.plugins, fake, code.lib);
  // In a variant, NODE_ARGS (e.g. "--max-semi-space-size=16") goes to node itself; the rest is environment.
  const { NODE_ARGS: nodeArgs, ...env } = variant ?? {};
  const joe = await startServe({ db, fernetKey, apiRoot: fake.url, cliMain: code.cliMain, cwd: ROOT, env, nodeArgs: nodeArgs?.split(",") });
  const stop = trackChild(joe.child);
  for (const [i, bot] of bots.entries()) await linkChat(fake, joe.baseUrl, bot, chatOf(i));
  const tokens = new Set(bots.map((x) => x.token));
  const sentOf = () => fake.sentMessages().filter((m) => tokens.has(m.token)).length;
  const sentBefore = sentOf();
  const ids = new IdSource();
  return {
    key,
    label,
    child: joe.child,
    baseUrl: joe.baseUrl,
    ids,
    slices: [],
    rss: sampleRss(joe.child.pid),
    dbPids: () => (db.name ? pidsWithCmdline(` ${db.name} `) : []),
    routes: bots.map((bot, i) => ({ path: `/plugins/telegram/webhook/${bot.pluginId}/`, secret: bot.secret, template: textUpdateTemplate(chatOf(i)) })),
    async finish() {
      const confirmationsSentDuringRun = sentOf() - sentBefore;
      const exit = await stop();
      if (exit !== 0) log(`  note: ${label}: joe serve exited with ${exit}: ${joe.child.output().slice(-500)}`);
      const messageIds = await withStore(
        db,
        async ({ db: k }) => (await k.selectFrom("tasks").select("message_id").execute()).map((t) => Number(t.message_id)),
        code.lib,
      );
      await dropDb();
      return { integrity: checkIntegrity(messageIds, ids.ok), confirmationsSentDuringRun };
    },
  };
}

async function setupGrammy(b: Build, fake: FakeBotApi): Promise<IngestServer> {
  const token = "123456789:AAbenchNaiveGrammyTokenxxxxxxxxxxxx";
  fake.addBot({ token, username: "bench_naive_bot" });
  return setupSqliteServer({
    key: "d",
    label: "(d) naive grammY webhookCallback, 1 tx/update (SQLite)",
    name: "grammY naive",
    js: b.grammyJs,
    env: { BOT_TOKEN: token, TELEGRAM_API_ROOT: fake.url },
  });
}

function setupFloor(b: Build): Promise<IngestServer> {
  return setupSqliteServer({
    key: "e",
    label: "(e) durable floor: group commit, raw prepared statements, no validation (SQLite)",
    name: "durable floor",
    js: b.floorJs,
    env: {},
  });
}

/** A comparison server (bench/servers/) with its own SQLite file; its tasks are counted at the end. */
async function setupSqliteServer(o: { key: string; label: string; name: string; js: string; env: Record<string, string> }): Promise<IngestServer> {
  const dir = tempDir(`bench-${o.key}`);
  const dropDir = onCleanup(async () => fs.rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  const dbFile = path.join(dir, "bench.sqlite");
  const secret = `secret_${o.key}`;
  const child = startChild(
    o.name,
    [o.js],
    {
      PORT: String(port),
      DB_FILE: dbFile,
      WEBHOOK_SECRET: secret,
      LINKED_CHAT_ID: String(chatOf(0)),
      PLUGIN_ID: "1",
      ...o.env,
    },
    ROOT,
  );
  const stop = trackChild(child);
  const baseUrl = `http://127.0.0.1:${port}`;
  await waitForOk(child, `${baseUrl}/healthz`);
  const ids = new IdSource();
  return {
    key: o.key,
    label: o.label,
    child,
    baseUrl,
    ids,
    slices: [],
    rss: sampleRss(child.pid),
    dbPids: () => [],
    routes: [{ path: "/plugins/telegram/webhook/1/", secret, template: textUpdateTemplate(chatOf(0)) }],
    async finish() {
      await stop();
      const sq = new Database(dbFile, { readonly: true });
      const messageIds = (sq.prepare("select message_id from tasks").all() as Array<{ message_id: number }>).map((t) => t.message_id);
      sq.close();
      await dropDir();
      return { integrity: checkIntegrity(messageIds, ids.ok) };
    },
  };
}

/**
 * All the ingest servers run side by side and take turns: a warm-up each, then rounds of short slices
 * (the order rotating every round) until each has had BENCH_SECONDS of load. Noise from other
 * work on a shared machine then falls on all of them alike, so the ratios stay fair.
 */
async function ingest(b: Build, fake: FakeBotApi, baseline?: Baseline): Promise<{ results: IngestResult[]; ab?: AbResult }> {
  log(
    `1. ingest: starting (a) bare Fastify, (b) Joe SQLite, (c) Joe PostgreSQL, (d) naive grammY, (e) the durable floor${baseline ? `, (b0)/(c0) Joe of the baseline ${baseline.ref}` : ""}`,
  );
  const results: IngestResult[] = [];
  const servers: IngestServer[] = [];
  const current: JoeCode = { cliMain: b.cliMain, lib: CURRENT_LIB };
  const base: JoeCode | undefined = baseline && { cliMain: baseline.cliMain, lib: baseline.lib, baseline };
  const add = (s: IngestServer | IngestResult) => ("child" in s ? servers.push(s) : results.push(s));
  servers.push(await setupBare(b));
  add(await setupJoe(current, fake, "sqlite"));
  // The baseline's Joe in the same rotation: an A/B under the same noise.
  if (base) add(await setupJoe(base, fake, "sqlite"));
  if (CFG.variantEnv) {
    // The same server again with other settings, in the same rotation: a fair A/B on a noisy machine.
    const variant = await setupJoe(current, fake, CFG.variantDb, CFG.variantEnv);
    if ("child" in variant) servers.push(variant);
  }
  if (CFG.pg) {
    add(await setupJoe(current, fake, "postgres"));
    if (base) add(await setupJoe(base, fake, "postgres"));
  }
  servers.push(await setupGrammy(b, fake));
  servers.push(await setupFloor(b));
  const pids = servers.map((s) => s.child.pid);
  const opts = (s: IngestServer, seconds: number) => ({
    baseUrl: s.baseUrl,
    routes: s.routes,
    ids: s.ids,
    seconds,
    connections: CFG.connections,
    serverPid: s.child.pid,
    siblingPids: pids.filter((p) => p !== s.child.pid),
    dbPids: () => s.dbPids(),
  });
  if (CFG.warmup > 0) {
    log(`  warm-up: ${CFG.warmup} s each`);
    for (const s of servers) await runSlice(opts(s, CFG.warmup));
  }
  const rounds = Math.max(1, Math.ceil(CFG.seconds / CFG.sliceSeconds));
  log(`  measuring: ${rounds} round(s) of ${fmt(CFG.seconds / rounds, 1)} s per server, order rotating`);
  // Where a baseline runs, its server and the current one swap places every other round, so each
  // follows the other as often (a slice's predecessor leaves work behind: confirmations, checkpoints).
  const swapped = servers.map((_, i) => i);
  for (const k of ["b", "c"]) {
    const x = servers.findIndex((s) => s.key === k),
      y = servers.findIndex((s) => s.key === `${k}0`);
    if (x >= 0 && y >= 0) [swapped[x], swapped[y]] = [y, x];
  }
  for (let r = 0; r < rounds; r++) {
    await waitQuiet(`ingest round ${r + 1}`);
    for (let i = 0; i < servers.length; i++) {
      const at = (i + r) % servers.length;
      const s = servers[r % 2 === 1 ? swapped[at]! : at]!;
      s.slices.push(await runSlice(opts(s, CFG.seconds / rounds)));
    }
  }
  for (const s of servers) {
    const load = summarise(s.slices, { baseUrl: s.baseUrl, connections: CFG.connections, bodyBytes: s.routes[0]!.template.approxBytes });
    const peakRssMb = memoryOf(s.child.pid)?.peakMb;
    const sampledRssMb = s.rss.stop();
    log(
      `  ${s.label}: ${fmt(load.rps, 0)} req/s (${fmt(cpuPerRequestUs(load), 0)} µs CPU each), p50 ${fmt(load.latency.p50, 0)} ms, p99 ${fmt(load.latency.p99, 0)} ms, non-2xx ${load.non2xx}, errors ${load.errors}; CPU server ${fmt(load.serverCpuPct, 0)} %${load.dbCpuPct > 0 ? ` + PostgreSQL ${fmt(load.dbCpuPct, 0)} %` : ""}, client ${fmt(load.clientCpuPct, 0)} %, idle siblings ${fmt(load.siblingsCpuPct, 0)} %, others ${fmt(load.othersCpuPct, 0)} %; peak RSS ${fmt(peakRssMb)} MB`,
    );
    results.push({ key: s.key, label: s.label, load, peakRssMb, sampledRssMb });
  }
  for (const s of servers) {
    const extra = await s.finish();
    const res = results.find((x) => x.key === s.key)!;
    Object.assign(res, extra);
    const i = extra.integrity;
    if (i)
      log(
        `  integrity ${s.key}: ${i.answered2xx} answered 2xx, ${i.tasks} tasks, ${i.missing} 2xx without a task, ${i.duplicates} duplicate message_ids, ${i.inFlightAtStop} committed while cut by a slice's end → ${i.ok ? "OK" : "FAILED"}`,
      );
  }
  const ab = baseline ? abOf(baseline, servers, results) : undefined;
  for (const d of ab?.dbs ?? []) {
    log(
      `  A/B ${d.db}: current/baseline ${fmt(d.currentOverBaseline, 2)}× req/s (per round median ${fmt(d.perRound.median, 2)}×, ${fmt(d.perRound.min, 2)}–${fmt(d.perRound.max, 2)}), CPU per update ${fmt(d.cpuCurrentOverBaseline, 2)}×; Joe/floor ${fmt(d.current.overFloor, 2)}× vs ${fmt(d.baseline.overFloor, 2)}×, Joe/bare ${fmt(d.current.overBare, 2)}× vs ${fmt(d.baseline.overBare, 2)}×`,
    );
  }
  return { results: results.sort((x, y) => x.key.localeCompare(y.key)), ab };
}

interface AbSide {
  key: string;
  rps: number;
  /** Joe ÷ the durable floor (e) and ÷ bare Fastify (a), req/s over the whole run. */
  overFloor: number;
  overBare: number;
  cpuPerRequestUs: number;
  p99Ms: number;
  othersCpuPct: number;
  integrityOk?: boolean;
}

interface AbDb {
  db: "sqlite" | "postgres";
  current: AbSide;
  baseline: AbSide;
  /** req/s current ÷ baseline over the whole run, and server CPU per update current ÷ baseline (< 1: cheaper). */
  currentOverBaseline: number;
  cpuCurrentOverBaseline: number;
  /**
   * current ÷ baseline req/s round by round (in each round both had one slice, close in time):
   * the spread is the noise of this comparison. Joe/floor per round likewise.
   */
  perRound: { n: number; median: number; min: number; max: number };
  overFloorPerRound: { current: { median: number; min: number; max: number }; baseline: { median: number; min: number; max: number } };
}

interface AbResult {
  ref: string;
  sha: string;
  subject: string;
  dbs: AbDb[];
}

function spread(xs: number[]): { n: number; median: number; min: number; max: number } {
  const f = xs.filter(Number.isFinite);
  return { n: f.length, median: percentile(f, 50), min: Math.min(...f), max: Math.max(...f) };
}

/** The A/B figures: the baseline's Joe against the current one, on each database both ran on. */
function abOf(baseline: Baseline, servers: IngestServer[], results: IngestResult[]): AbResult {
  const byKey = (k: string) => results.find((x) => x.key === k);
  const slicesOf = (k: string) => servers.find((s) => s.key === k)?.slices ?? [];
  const sliceRps = (s: Slice) => s.raw["2xx"] / s.raw.duration;
  const perRound = (x: string, y: string) => {
    const xs = slicesOf(x),
      ys = slicesOf(y);
    return Array.from({ length: Math.min(xs.length, ys.length) }, (_, i) => sliceRps(xs[i]!) / sliceRps(ys[i]!));
  };
  const a = byKey("a")?.load,
    e = byKey("e")?.load;
  const side = (k: string): AbSide | undefined => {
    const x = byKey(k);
    if (!x?.load) return undefined;
    return {
      key: k,
      rps: x.load.rps,
      overFloor: e ? x.load.rps / e.rps : NaN,
      overBare: a ? x.load.rps / a.rps : NaN,
      cpuPerRequestUs: cpuPerRequestUs(x.load),
      p99Ms: x.load.latency.p99,
      othersCpuPct: x.load.othersCpuPct,
      integrityOk: x.integrity?.ok,
    };
  };
  const dbs: AbDb[] = [];
  for (const [db, k] of [
    ["sqlite", "b"],
    ["postgres", "c"],
  ] as const) {
    const cur = side(k),
      base = side(`${k}0`);
    if (!cur || !base) continue;
    dbs.push({
      db,
      current: cur,
      baseline: base,
      currentOverBaseline: cur.rps / base.rps,
      cpuCurrentOverBaseline: cur.cpuPerRequestUs / base.cpuPerRequestUs,
      perRound: spread(perRound(k, `${k}0`)),
      overFloorPerRound: { current: spread(perRound(k, "e")), baseline: spread(perRound(`${k}0`, "e")) },
    });
  }
  return { ref: baseline.ref, sha: baseline.sha, subject: baseline.subject, dbs };
}

// ---------------------------------------------------------------------------------------------
// CPU profile of Joe (SQLite) under the same load, summarised
// ---------------------------------------------------------------------------------------------

interface ProfileEntry {
  title: string;
  note: string;
  summary: ProfileSummary | { error: string };
}

function readProfile(dir: string): ProfileSummary | { error: string } {
  const file = fs.readdirSync(dir).find((f) => f.endsWith(".cpuprofile"));
  if (!file) return { error: "no .cpuprofile written (the process did not exit cleanly?)" };
  const s = summariseProfile(path.join(dir, file));
  for (const a of s.areas.slice(0, 6)) log(`  ${fmt(a.pct)} %  ${a.area}`);
  return s;
}

function freshDir(name: string): string {
  const dir = path.join(TMP, name);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

async function profileWorker(b: Build): Promise<ProfileEntry> {
  const dir = freshDir("prof-worker");
  const r = await outbox(b, "sqlite", { perChat: CFG.profileOutboxPerChat, profileDir: dir, deadlineS: 30 });
  return {
    title: `Joe's \`worker\` (SQLite, \`--cpu-prof\`) sending ${r.messages} confirmations (${CFG.outboxBots} bots × ${CFG.outboxChats} chats × ${CFG.profileOutboxPerChat})`,
    note: `Under the profiler: ${r.delivered}/${r.messages} delivered in ${fmt(r.firstToLastS, 2)} s${r.complete ? "" : ` (the ${r.deadlineS} s limit)`}, ${fmt(r.ratePerS, 1)} msg/s; the limits allow ${fmt(r.minimumS, 1)} s.`,
    summary: readProfile(dir),
  };
}

async function profileJoe(b: Build, fake: FakeBotApi): Promise<ProfileEntry> {
  const kind = CFG.profileDb;
  log(`profile: Joe on ${kind} with --cpu-prof, ${CFG.profileSeconds} s of load`);
  const profDir = freshDir("prof-serve");
  const db = kind === "postgres" ? await postgresDb() : sqliteDb();
  if ("unavailable" in db) throw new Error(`profile on PostgreSQL: ${db.unavailable}`);
  const dropDb = trackDb(db);
  const fernetKey = generateKey();
  const bots = await createBots(db, fernetKey, CFG.plugins, fake);
  const joe = await startServe({ db, fernetKey, apiRoot: fake.url, cliMain: b.cliMain, cwd: ROOT, nodeArgs: ["--cpu-prof", `--cpu-prof-dir=${profDir}`] });
  const stop = trackChild(joe.child);
  for (const [i, bot] of bots.entries()) await linkChat(fake, joe.baseUrl, bot, chatOf(i));
  const routes: Route[] = bots.map((bot, i) => ({
    path: `/plugins/telegram/webhook/${bot.pluginId}/`,
    secret: bot.secret,
    template: textUpdateTemplate(chatOf(i)),
  }));
  const load = await runLoad({ baseUrl: joe.baseUrl, routes, ids: new IdSource(), seconds: CFG.profileSeconds, connections: CFG.connections });
  log(`  (under the profiler: ${fmt(load.rps, 0)} req/s, p99 ${fmt(load.latency.p99, 2)} ms)`);
  await stop();
  await dropDb();
  return {
    title: `Joe's \`serve\` (${kind === "postgres" ? "PostgreSQL" : "SQLite"}, \`--cpu-prof\`) under ${CFG.profileSeconds} s of the ingest load`,
    note: `Under the profiler: ${fmt(load.rps, 0)} req/s, p99 ${fmt(load.latency.p99, 0)} ms.`,
    summary: readProfile(profDir),
  };
}

// ---------------------------------------------------------------------------------------------
// 2. Outbox
// ---------------------------------------------------------------------------------------------

interface OutboxResult {
  db: string;
  skipped?: string;
  messages: number;
  delivered: number;
  complete: boolean;
  firstToLastS: number;
  spawnToLastS: number;
  minimumS: number;
  minimumRateS: number;
  ratio: number;
  duplicates: number;
  orderViolations: number;
  sendCalls: number;
  status429: number;
  /** 429s that hit the per-chat limit / the per-bot limit. */
  perChat429: number;
  perBot429: number;
  pct429: number;
  otherErrors: number;
  dbStatus: Record<string, number>;
  othersCpuPct: number;
  /** Messages accepted per second, first send to last. */
  ratePerS: number;
  /** The worker's CPU over its life (spawn to the end of the wait), % of one core. */
  workerCpuPct: number;
  /** When not all were delivered within the time limit: how long all would take at that rate. */
  projectedS?: number;
  deadlineS: number;
}

async function outbox(b: Build, kind: "sqlite" | "postgres", opts: { perChat?: number; profileDir?: string; deadlineS?: number } = {}): Promise<OutboxResult> {
  const perChat = opts.perChat ?? CFG.outboxPerChat;
  const perBot = CFG.outboxChats * perChat;
  const total = CFG.outboxBots * perBot;
  // The fastest the limits allow, first send to last: per bot, 30 in any second (a sliding
  // window) → ceil(n/30) - 1 seconds; per chat, 1 a second → n - 1 seconds.
  const minimumS = Math.max(Math.ceil(perBot / TG_PER_BOT_PER_S) - 1, (perChat - 1) / TG_PER_CHAT_PER_S);
  const minimumRateS = Math.max(perBot / TG_PER_BOT_PER_S, perChat / TG_PER_CHAT_PER_S);
  const empty: OutboxResult = {
    db: kind,
    messages: total,
    delivered: 0,
    complete: false,
    firstToLastS: NaN,
    spawnToLastS: NaN,
    minimumS,
    minimumRateS,
    ratio: NaN,
    duplicates: 0,
    orderViolations: 0,
    sendCalls: 0,
    status429: 0,
    perChat429: 0,
    perBot429: 0,
    pct429: NaN,
    otherErrors: 0,
    dbStatus: {},
    othersCpuPct: NaN,
    ratePerS: NaN,
    workerCpuPct: NaN,
    deadlineS: opts.deadlineS ?? CFG.outboxDeadlineS,
  };
  log(
    `${opts.profileDir ? "profile: worker with --cpu-prof," : "2."} outbox on ${kind}: ${total} messages, ${CFG.outboxBots} bots × ${CFG.outboxChats} chats × ${perChat}`,
  );
  const db = kind === "sqlite" ? sqliteDb() : await postgresDb();
  if ("unavailable" in db) return { ...empty, skipped: `PostgreSQL unreachable: ${db.unavailable}` };
  const dropDb = trackDb(db);
  const fake = await startFakeBotApi({ enforceLimits: true });
  const closeFake = onCleanup(() => fake.close());
  const fernetKey = generateKey();
  const bots = await createBots(db, fernetKey, CFG.outboxBots, fake);
  const chatId = (bot: number, chat: number) => 600_000_000 + bot * 1000 + chat;
  const now = Date.now();
  await withStore(db, async ({ db: k }) => {
    const rows: NewOutgoing[] = [];
    // In arrival order: message k of every chat of every bot, then message k+1…
    for (let m = 0; m < perChat; m++) {
      for (let c = 0; c < CFG.outboxChats; c++) {
        for (let bi = 0; bi < CFG.outboxBots; bi++) {
          rows.push({
            plugin_id: bots[bi]!.pluginId,
            chat_id: chatId(bi, c),
            kind: "confirmation",
            text: `✅ Recibido. Encolando... [B${bi}-C${c}-M${m}]`,
            reply_to_message_id: null,
            task_id: null,
            status: "pending",
            next_attempt_at: now,
            created_at: now,
          });
        }
      }
    }
    await k.transaction().execute(async (trx) => {
      for (let i = 0; i < rows.length; i += 500)
        await trx
          .insertInto("outgoing_messages")
          .values(rows.slice(i, i + 500))
          .execute();
    });
  });
  await waitQuiet("outbox");
  const spawnAt = Date.now();
  const worker = startWorkerProcess({
    db,
    fernetKey,
    apiRoot: fake.url,
    cliMain: b.cliMain,
    cwd: ROOT,
    nodeArgs: opts.profileDir ? ["--cpu-prof", `--cpu-prof-dir=${opts.profileDir}`] : [],
  });
  const stop = trackChild(worker);
  await sleep(50);
  const meter = othersCpuMeter(() => [worker.pid, ...(db.name ? pidsWithCmdline(` ${db.name} `) : [])]);
  const deadline = spawnAt + (opts.deadlineS ?? CFG.outboxDeadlineS) * 1000;
  let exited = false;
  void worker.exited.then(() => (exited = true));
  while (fake.sentMessages().length < total && Date.now() < deadline && !exited) await sleep(50);
  const exitedEarly = exited;
  const othersCpuPct = meter.stop();
  const workerCpuS = cpuSecondsOf(worker.pid);
  const workerWallS = (Date.now() - spawnAt) / 1000;
  await sleep(1000); // late duplicates, if any, would show up here
  await stop();
  if (exitedEarly) log(`  worker exited early: ${worker.output().slice(-500)}`);

  const sends = fake.callsOf("sendMessage");
  if (process.env.BENCH_DUMP_CALLS) {
    const file = path.join(TMP, `outbox-calls-${kind}.json`);
    fs.writeFileSync(file, JSON.stringify(sends.map((c) => ({ token: c.token.slice(0, 10), chat: c.params.chat_id, at: c.at, status: c.status }))));
    log(`  sendMessage calls written to ${path.relative(ROOT, file)}`);
  }
  const sent = fake.sentMessages();
  const firstCall = Math.min(...sends.map((c) => c.at));
  const lastSent = Math.max(...sent.map((m) => m.at));
  const seen = new Map<string, number>();
  for (const m of sent) seen.set(`${m.token}|${m.chat_id}|${m.text}`, (seen.get(`${m.token}|${m.chat_id}|${m.text}`) ?? 0) + 1);
  let duplicates = 0;
  for (const c of seen.values()) if (c > 1) duplicates += c - 1;
  // Per chat, confirmations must arrive in the order they were queued.
  const lastM = new Map<string, number>();
  let orderViolations = 0;
  for (const m of [...sent].sort((x, y) => x.message_id - y.message_id || x.at - y.at)) {
    const k = `${m.token}|${m.chat_id}`;
    const n = Number(/-M(\d+)\]/.exec(m.text)?.[1] ?? -1);
    if (n < (lastM.get(k) ?? -1)) orderViolations++;
    lastM.set(k, n);
  }
  const status429 = sends.filter((c) => c.status === 429).length;
  // Which limit each 429 hit: the chat's (a send to that chat accepted < 1 s before) or the bot's (30 accepted < 1 s before).
  const okSends = sends.filter((c) => c.status === 200);
  let perChat429 = 0;
  let perBot429 = 0;
  for (const c of sends.filter((x) => x.status === 429)) {
    const recent = okSends.filter((o) => o.token === c.token && o.at <= c.at && c.at - o.at < 1000);
    if (recent.some((o) => String(o.params.chat_id) === String(c.params.chat_id))) perChat429++;
    else if (recent.length >= TG_PER_BOT_PER_S) perBot429++;
  }
  const otherErrors = sends.filter((c) => c.status !== 429 && c.status !== 200).length;
  const dbStatus = await withStore(db, async ({ db: k }) => {
    const rows = await k
      .selectFrom("outgoing_messages")
      .select(["status"])
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .groupBy("status")
      .execute();
    return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
  });
  await closeFake();
  await dropDb();
  const firstToLastS = (lastSent - firstCall) / 1000;
  const ratePerS = seen.size / firstToLastS;
  const complete = seen.size === total;
  const r: OutboxResult = {
    ...empty,
    delivered: seen.size,
    complete,
    firstToLastS,
    spawnToLastS: (lastSent - spawnAt) / 1000,
    ratio: (complete ? firstToLastS : total / ratePerS) / minimumS,
    ratePerS,
    ...(complete ? {} : { projectedS: total / ratePerS }),
    duplicates,
    orderViolations,
    sendCalls: sends.length,
    status429,
    perChat429,
    perBot429,
    pct429: sends.length ? (status429 / sends.length) * 100 : NaN,
    otherErrors,
    dbStatus,
    othersCpuPct,
    workerCpuPct: (workerCpuS / workerWallS) * 100,
  };
  if (!complete)
    log(`  only ${r.delivered}/${total} delivered within the ${r.deadlineS} s limit (${fmt(ratePerS, 1)} msg/s): all would take ~${fmt(r.projectedS, 0)} s`);
  log(
    `  ${r.delivered}/${total} delivered in ${fmt(firstToLastS, 2)} s (min ${fmt(minimumS, 2)} s → ${fmt(r.ratio, 3)}×${complete ? "" : ", projected"}), spawn→last ${fmt(r.spawnToLastS, 2)} s, ${duplicates} duplicates, ${orderViolations} out of order, ${status429} × 429 (${fmt(r.pct429, 2)} %: ${perChat429} per-chat, ${perBot429} per-bot limit)`,
  );
  return r;
}

// ---------------------------------------------------------------------------------------------
// 3. Confirmation latency, unloaded
// ---------------------------------------------------------------------------------------------

interface LatencyResult {
  db: string;
  skipped?: string;
  n: number;
  /** webhook 200 received → sendMessage arriving at the fake, ms. */
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** webhook POST sent → sendMessage arriving, ms. */
  e2eP50: number;
  /** webhook POST → 200, ms. */
  webhookP50: number;
  status429: number;
  othersCpuPct: number;
}

async function latency(b: Build, kind: "sqlite" | "postgres"): Promise<LatencyResult> {
  const empty: LatencyResult = { db: kind, n: 0, p50: NaN, p90: NaN, p99: NaN, max: NaN, e2eP50: NaN, webhookP50: NaN, status429: 0, othersCpuPct: NaN };
  log(`3. confirmation latency on ${kind}: ${CFG.latencyN} updates, one every ${CFG.latencyGapMs} ms over ${CFG.latencyBots} linked chats`);
  const db = kind === "sqlite" ? sqliteDb() : await postgresDb();
  if ("unavailable" in db) return { ...empty, skipped: `PostgreSQL unreachable: ${db.unavailable}` };
  const dropDb = trackDb(db);
  const fake = await startFakeBotApi({ enforceLimits: true });
  const closeFake = onCleanup(() => fake.close());
  const fernetKey = generateKey();
  const bots = await createBots(db, fernetKey, CFG.latencyBots, fake);
  const joe = await startServe({ db, fernetKey, apiRoot: fake.url, cliMain: b.cliMain, cwd: ROOT });
  const stop = trackChild(joe.child);
  for (const [i, bot] of bots.entries()) await linkChat(fake, joe.baseUrl, bot, chatOf(i));
  await sleep(1200); // the link replies pace their chats for 1 s
  await waitQuiet("latency");
  const meter = othersCpuMeter(() => [joe.child.pid, ...(db.name ? pidsWithCmdline(` ${db.name} `) : [])]);
  const templates = bots.map((_, i) => textUpdateTemplate(chatOf(i)));
  const lat: number[] = [];
  const e2e: number[] = [];
  const hook: number[] = [];
  for (let i = 0; i < CFG.latencyN; i++) {
    const bi = i % bots.length;
    const bot = bots[bi]!;
    const mid = 2_000_000 + i;
    const update = JSON.parse(templates[bi]!.body(mid, mid)) as Record<string, unknown>;
    const tSend = Date.now();
    const r = await fake.deliverUpdate(bot.token, update, { url: webhookUrl(joe.baseUrl, bot.pluginId), secret: bot.secret });
    const t200 = Date.now();
    if (r.status !== 200) throw new Error(`latency: webhook answered ${r.status} ${r.body}`);
    const find = () => fake.sentMessages(bot.token).find((m) => m.reply_to_message_id === mid);
    await fake.waitFor(() => find() !== undefined, 15_000, `confirmation of message ${mid}`);
    const m = find()!;
    lat.push(m.at - t200);
    e2e.push(m.at - tSend);
    hook.push(t200 - tSend);
    const wait = tSend + CFG.latencyGapMs - Date.now();
    if (wait > 0) await sleep(wait);
  }
  const status429 = fake.callsOf("sendMessage").filter((c) => c.status === 429).length;
  const othersCpuPct = meter.stop();
  await stop();
  await closeFake();
  await dropDb();
  const r: LatencyResult = {
    db: kind,
    n: lat.length,
    p50: percentile(lat, 50),
    p90: percentile(lat, 90),
    p99: percentile(lat, 99),
    max: Math.max(...lat),
    e2eP50: percentile(e2e, 50),
    webhookP50: percentile(hook, 50),
    status429,
    othersCpuPct,
  };
  log(`  200 → sendMessage: p50 ${r.p50} ms, p90 ${r.p90} ms, p99 ${r.p99} ms, max ${r.max} ms (webhook p50 ${r.webhookP50} ms)`);
  return r;
}

// ---------------------------------------------------------------------------------------------
// 4. Cold start
// ---------------------------------------------------------------------------------------------

interface ColdStart {
  runsMs: number[];
  medianMs: number;
  idleRssMb: number[];
  othersCpuPctBefore: number[];
}

async function coldStart(b: Build): Promise<ColdStart> {
  log(`4. cold start of compiled \`serve\` (fresh SQLite data dir), ${CFG.coldRuns} runs`);
  const runsMs: number[] = [];
  const idleRssMb: number[] = [];
  const othersCpuPctBefore: number[] = [];
  for (let i = 0; i < CFG.coldRuns; i++) {
    othersCpuPctBefore.push(await waitQuiet("cold start"));
    const db = sqliteDb();
    const dropDb = trackDb(db);
    const env: JoeEnv = { db, fernetKey: generateKey(), apiRoot: "http://127.0.0.1:9", cliMain: b.cliMain, cwd: ROOT };
    const joe = await startServe(env);
    const stop = trackChild(joe.child);
    runsMs.push(joe.readyAt - joe.child.spawnedAt);
    idleRssMb.push(memoryOf(joe.child.pid)?.rssMb ?? NaN);
    await stop();
    await dropDb();
    await sleep(200);
  }
  const r = { runsMs, medianMs: percentile(runsMs, 50), idleRssMb, othersCpuPctBefore };
  log(`  spawn → first 200 on /healthz: median ${fmt(r.medianMs, 0)} ms (${runsMs.map((x) => x.toFixed(0)).join(", ")})`);
  return r;
}

// ---------------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------------

type Noise = Awaited<ReturnType<typeof machineNoise>>;

interface Results {
  date: string;
  command: string;
  git: { commit: string; dirty: string[] };
  machine: { nproc: number; cpu: string; memGb: number; node: string; platform: string; fsyncMs: number; noiseBefore: Noise; noiseAfter?: Noise };
  config: typeof CFG & { bodyBytes: number; textChars: number };
  buildNotes: string[];
  ingest: IngestResult[];
  /** BENCH_BASELINE_REF: the baseline's Joe against the current one in the same ingest rotation. */
  ab?: AbResult;
  profiles: ProfileEntry[];
  outbox: OutboxResult[];
  latency: LatencyResult[];
  coldStart?: ColdStart;
  durationS: number;
}

/** The commit measured, and files of src/ that differ from it (the bench compiles the tree as it is). */
function gitInfo(): { commit: string; dirty: string[] } {
  const git = (args: string[]) => {
    try {
      return execFileSync("git", args, { cwd: ROOT, stdio: ["ignore", "pipe", "ignore"] })
        .toString()
        .trim();
    } catch {
      return "";
    }
  };
  const commit = git(["log", "-1", "--format=%h %s"]) || "unknown (not a git checkout)";
  const dirty = git(["status", "--porcelain", "--", "src"])
    .split("\n")
    .filter(Boolean)
    .map((l) => l.slice(3));
  return { commit, dirty };
}

function commandLine(): string {
  const envs = Object.entries(process.env)
    .filter(([k]) => k.startsWith("BENCH_"))
    .map(([k, v]) => `${k}=${v}`);
  const ev = process.env.npm_lifecycle_event;
  const cmd = ev ? `npm run ${ev}` : `node --import tsx bench/run.ts${process.argv.slice(2).length ? " " + process.argv.slice(2).join(" ") : ""}`;
  return [...envs, cmd].join(" ");
}

type Row = Array<string | number>;
function table(head: string[], rows: Row[]): string {
  const line = (r: Row) => `| ${r.map(String).join(" | ")} |`;
  return [line(head), line(head.map(() => "---")), ...rows.map(line)].join("\n");
}

function targets(r: Results): Row[] {
  const get = (k: string) => r.ingest.find((x) => x.key === k && x.load);
  const a = get("a"),
    b = get("b"),
    c = get("c"),
    d = get("d"),
    e = get("e");
  const ratio = (x?: IngestResult, y?: IngestResult) => (x?.load && y?.load ? x.load.rps / y.load.rps : NaN);
  const rows: Row[] = [];
  const add = (name: string, measured: string, met: boolean | undefined) =>
    rows.push([name, measured, met === undefined ? "not measured" : met ? "**met**" : "**NOT met**"]);
  const measuredIf = (v: number, s: string) => (Number.isFinite(v) ? s : "–");
  const ba = ratio(b, a),
    ca = ratio(c, a),
    bd = ratio(b, d),
    cd = ratio(c, d);
  const ea = ratio(e, a),
    be = ratio(b, e);
  add(
    "Ingest SQLite ≥ 0.5× bare",
    measuredIf(ba, `${fmt(ba, 2)}×${Number.isFinite(ea) ? ` (the durable floor (e) reaches ${fmt(ea, 2)}×; Joe = ${fmt(be, 2)}× the floor)` : ""}`),
    Number.isFinite(ba) ? ba >= 0.5 : undefined,
  );
  add("Ingest SQLite p99 ≤ 10 ms (c=40)", b?.load ? `${fmt(b.load.latency.p99, 0)} ms` : "–", b?.load ? b.load.latency.p99 <= 10 : undefined);
  add("Ingest PostgreSQL ≥ 0.35× bare", measuredIf(ca, `${fmt(ca, 2)}×`), Number.isFinite(ca) ? ca >= 0.35 : undefined);
  add("Ingest SQLite ahead of naive grammY (b/d > 1)", measuredIf(bd, `${fmt(bd, 2)}×`), Number.isFinite(bd) ? bd > 1 : undefined);
  add("Ingest PostgreSQL ahead of naive grammY (c/d > 1)", measuredIf(cd, `${fmt(cd, 2)}×`), Number.isFinite(cd) ? cd > 1 : undefined);
  for (const x of [b, c, get("b0"), get("c0")]) {
    if (x?.integrity)
      add(
        `Every 2xx has exactly one task ${x.key.startsWith("b") ? "(SQLite)" : "(PostgreSQL)"}${x.key.endsWith("0") ? ", baseline" : ""}`,
        `${x.integrity.answered2xx} 2xx, ${x.integrity.missing} missing, ${x.integrity.duplicates} duplicated`,
        x.integrity.ok,
      );
  }
  for (const o of r.outbox.filter((o) => !o.skipped)) {
    add(
      `Outbox ≤ 1.1× limits' minimum (${o.db})`,
      o.complete
        ? `${fmt(o.firstToLastS, 2)} s / ${fmt(o.minimumS, 1)} s = ${fmt(o.ratio, 2)}×`
        : `only ${o.delivered}/${o.messages} sent in ${o.deadlineS} s (${fmt(o.ratePerS, 0)} msg/s): ~${fmt(o.projectedS, 0)} s for all = ~${fmt(o.ratio, 1)}×`,
      o.complete && o.ratio <= 1.1,
    );
    add(`Outbox 0 duplicates (${o.db})`, String(o.duplicates), o.duplicates === 0);
    add(`Outbox ≤ 1 % of sends answered 429 (${o.db})`, `${o.status429} of ${o.sendCalls} (${fmt(o.pct429, 2)} %)`, o.pct429 <= 1);
  }
  for (const l of r.latency.filter((l) => !l.skipped)) add(`Confirmation latency p50 ≤ 20 ms (${l.db})`, `${fmt(l.p50, 0)} ms`, l.p50 <= 20);
  add(
    "Peak RSS ≤ 150 MB (Joe SQLite during 1b)",
    b?.peakRssMb !== undefined ? `${fmt(b.peakRssMb, 2)} MB` : "–",
    b?.peakRssMb !== undefined ? b.peakRssMb <= 150 : undefined,
  );
  if (c?.peakRssMb !== undefined) add("Peak RSS ≤ 150 MB (Joe PostgreSQL during 1c)", `${fmt(c.peakRssMb, 2)} MB`, c.peakRssMb <= 150);
  add(
    "Cold start ≤ 1 s (compiled serve, median)",
    r.coldStart ? `${fmt(r.coldStart.medianMs, 0)} ms` : "–",
    r.coldStart ? r.coldStart.medianMs <= 1000 : undefined,
  );
  return rows;
}

/** Server CPU per 2xx answer, in µs (PostgreSQL's backends included): a noise-resistant cost figure. */
function cpuPerRequestUs(l: LoadSummary): number {
  return ((l.serverCpuPct + l.dbCpuPct) / 100 / l.rps) * 1e6;
}

/** Plain statements read off this run's numbers: where each target's time or CPU goes. */
function bottleneckHints(r: Results): string[] {
  const hints: string[] = [];
  const top = (p: ProfileEntry | undefined, n = 3) =>
    p && !("error" in p.summary)
      ? p.summary.functions
          .filter((f) => !f.fn.startsWith("("))
          .slice(0, n)
          .map((f) => `\`${f.fn}\` ${fmt(f.pct, 0)} %`)
          .join(", ")
      : undefined;
  const a = r.ingest.find((x) => x.key === "a")?.load;
  if (a && a.clientCpuPct + a.serverCpuPct > 150) {
    hints.push(
      `(a) is bounded by the machine, not by Fastify: server ${fmt(a.serverCpuPct, 0)} % + client ${fmt(a.clientCpuPct, 0)} % of ${r.machine.nproc * 100} %. Every ratio to (a) is therefore a ratio to "what 2 cores can do with autocannon on one of them".`,
    );
  }
  for (const key of ["b", "c"] as const) {
    const x = r.ingest.find((i) => i.key === key)?.load;
    if (!x) continue;
    const name = key === "b" ? "Joe on SQLite" : "Joe on PostgreSQL";
    const serve = key === "b" ? r.profiles.find((p) => p.title.includes("`serve`")) : undefined;
    const busy =
      x.serverCpuPct >= 75
        ? `its one Node thread is busy ${fmt(x.serverCpuPct, 0)} % of the time, so it is (close to) CPU-bound and throughput ≈ 1 / CPU per update`
        : `its Node thread is busy only ${fmt(x.serverCpuPct, 0)} % of the time: the rest it waits (round trips to the database, commits)`;
    hints.push(
      `${name}: ${fmt(cpuPerRequestUs(x), 0)} µs of CPU per update${x.dbCpuPct > 0 ? ` (Node ${fmt((x.serverCpuPct / 100 / x.rps) * 1e6, 0)} µs + PostgreSQL ${fmt((x.dbCpuPct / 100 / x.rps) * 1e6, 0)} µs)` : ""}; ${busy}${a ? `. Reaching the target ${key === "b" ? "0.5" : "0.35"}× (a) here means ≤ ${fmt(1e6 / ((key === "b" ? 0.5 : 0.35) * a.rps), 0)} µs per update${x.dbCpuPct > 0 ? " (Node and PostgreSQL together, both sharing the 2 cores with the client)" : " with the client sharing the machine"}` : ""}${top(serve) ? `. Largest self times in the profile: ${top(serve)} (\`executeQuery\` is SQL run synchronously by better-sqlite3, commits' fsync included)` : ""}.`,
    );
  }
  for (const o of r.outbox) {
    if (o.skipped) continue;
    if (!o.complete || o.ratio > 1.1) {
      const worker = r.profiles.find((p) => p.title.includes("`worker`"));
      const sqlShare = worker && !("error" in worker.summary) ? worker.summary.functions.find((f) => f.fn === "executeQuery")?.pct : undefined;
      const cpuBound = o.workerCpuPct >= 80;
      hints.push(
        `Outbox on ${o.db}: ${fmt(o.ratePerS, 0)} msg/s against the ${r.config.outboxBots * 30} msg/s the limits allow (${r.config.outboxBots} bots × 30); Joe's own per-bot pace (29/s) alone makes the floor ${fmt(Math.ceil(o.messages / r.config.outboxBots / 29) - 1, 0)} s = ${fmt((Math.ceil(o.messages / r.config.outboxBots / 29) - 1) / o.minimumS, 3)}× the minimum. The worker used ${fmt(o.workerCpuPct, 0)} % of a core${cpuBound ? `: CPU-bound${o.db === "sqlite" && sqlShare !== undefined ? `, ${fmt(sqlShare, 0)} % of it \`executeQuery\` in the profile (SQL run synchronously on the event loop)` : ""}` : `: not CPU-bound, so the time goes to pacing (1 s per chat counted from the end of the previous send, the per-bot limiter) and to 429 retries`}.`,
      );
    }
    if (o.pct429 > 1) {
      hints.push(
        `Outbox on ${o.db}: ${o.status429} sends answered 429 (${fmt(o.pct429, 1)} %), ${o.perBot429} of them on the per-bot limit and ${o.perChat429} on the per-chat limit. Each costs its message retry_after (≥ 1 s).`,
      );
    }
  }
  return hints;
}

function abMarkdown(ab: AbResult): string[] {
  const out: string[] = [`## A/B: this tree against \`${ab.ref}\` (${ab.sha.slice(0, 7)})`, ""];
  if (ab.dbs.length === 0) return [...out, "No database had both a current and a baseline Joe measured.", ""];
  const x = (v: number) => `${fmt(v, 2)}×`;
  const rng = (s: { median: number; min: number; max: number }) => `${x(s.median)} (${fmt(s.min, 2)}–${fmt(s.max, 2)})`;
  const ok = (v?: boolean) => (v === undefined ? "–" : v ? "OK" : "**FAILED**");
  const db = (d: AbDb) => (d.db === "sqlite" ? "SQLite" : "PostgreSQL");
  out.push(
    table(
      [
        "database",
        "Joe / floor (e): current",
        "baseline",
        "Joe / bare (a): current",
        "baseline",
        "req/s current / baseline",
        "per round: median (min–max)",
        "CPU µs per update: current",
        "baseline",
        "current / baseline",
        "p99 ms current / baseline",
        "others' CPU %: current / baseline",
        "integrity current / baseline",
      ],
      ab.dbs.map((d) => [
        db(d),
        x(d.current.overFloor),
        x(d.baseline.overFloor),
        x(d.current.overBare),
        x(d.baseline.overBare),
        x(d.currentOverBaseline),
        `${rng(d.perRound)}, n = ${d.perRound.n}`,
        fmt(d.current.cpuPerRequestUs, 0),
        fmt(d.baseline.cpuPerRequestUs, 0),
        x(d.cpuCurrentOverBaseline),
        `${fmt(d.current.p99Ms, 0)} / ${fmt(d.baseline.p99Ms, 0)}`,
        `${fmt(d.current.othersCpuPct, 0)} / ${fmt(d.baseline.othersCpuPct, 0)}`,
        `${ok(d.current.integrityOk)} / ${ok(d.baseline.integrityOk)}`,
      ]),
    ),
    "",
  );
  out.push(
    table(
      ["database", "Joe / floor per round, current: median (min–max)", "baseline"],
      ab.dbs.map((d) => [db(d), rng(d.overFloorPerRound.current), rng(d.overFloorPerRound.baseline)]),
    ),
    "",
  );
  out.push(
    'Both Joes ran side by side with (a)–(e), taking turns in the same rounds of slices; the floor and bare servers are the same for both, so "Joe / floor" and "Joe / bare" compare directly. "Per round" divides the two servers\' req/s within each round (their slices were close in time): its spread shows how much of the difference is noise, as does "CPU µs per update", which moves much less with noise than req/s. The baseline\'s database was migrated and filled by the baseline\'s own code.',
  );
  return out;
}

function markdown(r: Results): string {
  const out: string[] = [];
  const m = r.machine;
  out.push("# Benchmark results (issue 5)", "");
  out.push(`- Date: ${r.date}`);
  out.push(`- Command: \`${r.command}\``);
  out.push(
    `- Code measured: commit ${r.git.commit}${r.git.dirty.length ? `, plus uncommitted changes in ${r.git.dirty.join(", ")}` : " (src/ clean)"}; compiled fresh at the start of the run.`,
  );
  if (r.ab)
    out.push(
      `- Baseline (A/B, ingest only): \`${r.ab.ref}\` = commit ${r.ab.sha.slice(0, 7)} ${r.ab.subject}; its src/ compiled the same way, run as (b0) and (c0) in the same rotation.`,
    );
  out.push(
    `- Machine: \`nproc\` = ${m.nproc} (${m.cpu}), ${fmt(m.memGb, 0)} GB RAM, ${m.platform}, Node ${m.node}. A durable 4 KB write (write + fdatasync) in the databases' directory takes ${fmt(m.fsyncMs, 2)} ms (median): a fast disk, which flatters one-transaction-per-update designs such as (d); where a sync costs 2–10 ms, (d) falls to a few hundred req/s while group commit pays it once per batch.`,
  );
  out.push(
    `- Noise: before the run, load average ${m.noiseBefore.loadavg}, other processes used ${fmt(m.noiseBefore.othersPct, 0)} % of a core${m.noiseBefore.busy.length ? ` (${m.noiseBefore.busy.join(", ")})` : ""}; after, load average ${m.noiseAfter?.loadavg ?? "–"}, others ${fmt(m.noiseAfter?.othersPct, 0)} %${m.noiseAfter?.busy.length ? ` (${m.noiseAfter.busy.join(", ")})` : ""}. Each section waited (up to ${CFG.waitQuietS} s) for others to use < ${CFG.quietPct} % of a core; the CPU others used during each measurement is in the tables ("others' CPU %"). The machine is shared: expect ±10–20 % between runs, more where others' CPU is high.`,
  );
  out.push(
    `- With ${m.nproc} cores, the load generator (autocannon, in the bench process) and the server (a child process) compete for CPU. That is the same for all the servers, so ratios are comparable; absolute req/s are lower than on a machine where the client runs elsewhere.`,
  );
  out.push(
    `- Load: ${r.config.connections} connections, pipelining 1, ${r.config.warmup} s warm-up (not counted) then ${r.config.seconds} s measured per server. The servers run side by side and take turns in ${r.config.sliceSeconds} s slices (order rotating each round), so noise from other work on the machine falls on all of them alike; the slices are merged (latency histograms included); every request a ${r.config.bodyBytes}-byte Telegram text update (${r.config.textChars} characters of text, entities, from/chat) with a unique update_id and message_id${r.config.plugins > 1 ? `, rotating over ${r.config.plugins} linked plugins` : ", to one linked plugin/chat"}. Servers run compiled (fresh \`tsc\` into bench/.tmp), LOG_LEVEL=warn, Joe with its workers (confirmations are sent to the fake Bot API during the run).`,
  );
  for (const n of r.buildNotes) out.push(`- Build note: ${n}`);
  out.push(`- Total bench time: ${fmt(r.durationS, 0)} s.`, "");

  out.push("## Targets", "", table(["target", "measured", "verdict"], targets(r)), "");
  out.push("For the targets not met — what limits them, and what was tried — see [NOTES.md](NOTES.md).", "");

  const hints = bottleneckHints(r);
  if (hints.length) out.push("## Bottleneck hints (derived from this run's numbers)", "", ...hints.map((h) => `- ${h}`), "");

  if (r.ab) out.push(...abMarkdown(r.ab), "");
  out.push("## 1. Ingest (concurrency " + r.config.connections + ")", "");
  const rows: Row[] = r.ingest.map((x) =>
    x.load
      ? [
          x.label,
          fmt(x.load.rps, 0),
          fmt(x.load.latency.p50, 0),
          fmt(x.load.latency.p90, 0),
          fmt(x.load.latency.p99, 0),
          fmt(x.load.latency.max, 0),
          x.load.ok2xx,
          x.load.non2xx,
          `${x.load.errors} / ${x.load.timeouts}`,
          fmt(cpuPerRequestUs(x.load), 0),
          x.load.dbCpuPct > 0 ? `${fmt(x.load.serverCpuPct, 0)} + ${fmt(x.load.dbCpuPct, 0)} PG` : fmt(x.load.serverCpuPct, 0),
          fmt(x.load.clientCpuPct, 0),
          fmt(x.load.siblingsCpuPct, 0),
          fmt(x.load.othersCpuPct, 0),
          fmt(x.peakRssMb),
        ]
      : [x.label, `skipped: ${x.skipped}`, "", "", "", "", "", "", "", "", "", "", "", "", ""],
  );
  out.push(
    table(
      [
        "server",
        "req/s (2xx)",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "2xx",
        "non-2xx",
        "errors / timeouts",
        "server CPU µs per request",
        "server CPU %",
        "client CPU %",
        "idle siblings' CPU %",
        "others' CPU %",
        "peak RSS MB",
      ],
      rows,
    ),
    "",
  );
  const by = (k: string) => r.ingest.find((x) => x.key === k)?.load?.rps;
  const ratio = (x?: number, y?: number) => (x !== undefined && y !== undefined ? `${fmt(x / y, 2)}×` : "–");
  out.push(
    table(
      ["ratio", "value"],
      [
        ["b/a (SQLite / bare)", ratio(by("b"), by("a"))],
        ["c/a (PostgreSQL / bare)", ratio(by("c"), by("a"))],
        ["b/d (SQLite / naive grammY)", ratio(by("b"), by("d"))],
        ["c/d (PostgreSQL / naive grammY)", ratio(by("c"), by("d"))],
        ["e/a (durable floor / bare)", ratio(by("e"), by("a"))],
        ["b/e (SQLite / durable floor)", ratio(by("b"), by("e"))],
      ],
    ),
    "",
  );
  out.push(
    'CPU % is of one core (200 % = both cores), over the server\'s own slices: "server" is the server process (for PostgreSQL plus the database backends serving it), "client" is the bench process (autocannon and the fake Bot API), "idle siblings\'" the other servers waiting for their turn (Joe\'s senders keep sending the backlog of confirmations at 1/s), "others\'" everything else on the machine (other people\'s work on this shared machine: noise). "Server CPU µs per request" (server, plus PostgreSQL\'s backends, CPU time ÷ 2xx answers) is the cost of one update, and moves much less with noise than req/s. Latency is autocannon\'s (whole milliseconds), from request written to response read.',
    "",
  );
  out.push("### Integrity after the load", "");
  out.push(
    table(
      ["server", "answered 2xx", "tasks in DB", "2xx without a task", "duplicate message_ids", "tasks whose answer was cut by a slice's end", "verdict"],
      r.ingest
        .filter((x) => x.integrity)
        .map((x) => [
          x.label,
          x.integrity!.answered2xx,
          x.integrity!.tasks,
          x.integrity!.missing,
          x.integrity!.duplicates,
          x.integrity!.inFlightAtStop,
          x.integrity!.ok ? "OK: every 2xx has exactly one task" : "**FAILED**",
        ]),
    ),
    "",
  );
  out.push(
    '"Cut by a slice\'s end": requests in flight when autocannon closed its connections at the end of a slice (≤ 40 per slice); the server committed them but the answer was never read. They are not a violation (no 2xx was seen), and they show that a request whose client went away is still written exactly once.',
    "",
  );
  const cs = r.ingest.filter((x) => x.confirmationsSentDuringRun !== undefined);
  if (cs.length)
    out.push(
      `Confirmations delivered to the fake Bot API during the run (one linked chat is paced to 1 message/s, so the rest stay queued): ${cs.map((x) => `${x.key}: ${x.confirmationsSentDuringRun}`).join(", ")}.`,
      "",
    );

  out.push("## 2. Outbox", "");
  out.push(
    `${r.config.outboxBots} bots × ${r.config.outboxChats} private chats × ${r.config.outboxPerChat} messages, inserted as pending outgoing_messages rows, sent by Joe's \`worker\` (child process) to the fake Bot API enforcing Telegram's limits (1 msg/s per private chat, 30 msg/s per bot, sliding windows, 429 with retry_after beyond). Time is from the first sendMessage arriving to the last message accepted. The limits' minimum for that span is max(⌈msgs per bot / 30⌉ − 1, msgs per chat − 1) s (${fmt(r.outbox[0]?.minimumS, 1)} s); a rate-based reading (msgs per bot / 30) gives ${fmt(r.outbox[0]?.minimumRateS, 2)} s.`,
    "",
  );
  out.push(
    table(
      [
        "database",
        "delivered",
        "first → last s",
        "msg/s",
        "minimum s",
        "ratio",
        "spawn → last s",
        "duplicates",
        "out of order",
        "sendMessage calls",
        "429s (chat / bot limit)",
        "429 %",
        "other errors",
        "rows by status",
        "worker CPU %",
        "others' CPU %",
      ],
      r.outbox.map((o) =>
        o.skipped
          ? [o.db, `skipped: ${o.skipped}`, "", "", "", "", "", "", "", "", "", "", "", "", "", ""]
          : [
              o.db,
              `${o.delivered}/${o.messages}${o.complete ? "" : ` (time limit ${o.deadlineS} s)`}`,
              fmt(o.firstToLastS, 2),
              fmt(o.ratePerS, 0),
              fmt(o.minimumS, 1),
              `${fmt(o.ratio, 2)}×${o.complete ? "" : " (projected)"}`,
              fmt(o.spawnToLastS, 2),
              o.duplicates,
              o.orderViolations,
              o.sendCalls,
              `${o.status429} (${o.perChat429} / ${o.perBot429})`,
              fmt(o.pct429, 2),
              o.otherErrors,
              Object.entries(o.dbStatus)
                .map(([k, v]) => `${k}: ${v}`)
                .join(", "),
              fmt(o.workerCpuPct, 0),
              fmt(o.othersCpuPct, 0),
            ],
      ),
    ),
    "",
  );

  if (r.profiles.length) {
    out.push(
      "## CPU profiles",
      "",
      "Separate short runs with `node --cpu-prof` on the child (not the measured runs above). Self time per area and per function, as % of the busy (non-idle) time.",
      "",
    );
    for (const p of r.profiles) {
      out.push(`### ${p.title}`, "", p.note, "");
      if ("error" in p.summary) {
        out.push(`Profile failed: ${p.summary.error}`, "");
        continue;
      }
      out.push(`Busy ${fmt(p.summary.busyMs, 0)} ms of ${fmt(p.summary.totalMs, 0)} ms profiled.`, "");
      out.push(
        table(
          ["area", "ms", "%"],
          p.summary.areas.map((a) => [a.area, fmt(a.ms, 0), fmt(a.pct)]),
        ),
        "",
      );
      out.push(
        table(
          ["function", "where", "ms", "%"],
          p.summary.functions.map((f) => [`\`${f.fn}\``, f.where, fmt(f.ms, 0), fmt(f.pct)]),
        ),
        "",
      );
    }
  }

  out.push("## 3. Confirmation latency, unloaded", "");
  out.push(
    `One update at a time (a new one every ${r.config.latencyGapMs} ms), rotating over ${r.config.latencyBots} plugins each linked to its own chat, so each chat gets a message every ${fmt((r.config.latencyGapMs * r.config.latencyBots) / 1000, 1)} s, well clear of the 1 msg/s pacing. Measured from the webhook's 200 (received by the bench) to the sendMessage arriving at the fake Bot API (both clocks are this process's Date.now(), ms resolution).`,
    "",
  );
  out.push(
    table(
      ["database", "n", "p50 ms", "p90 ms", "p99 ms", "max ms", "POST → sendMessage p50 ms", "webhook POST → 200 p50 ms", "429s", "others' CPU %"],
      r.latency.map((l) =>
        l.skipped
          ? [l.db, `skipped: ${l.skipped}`, "", "", "", "", "", "", "", ""]
          : [
              l.db,
              l.n,
              fmt(l.p50, 0),
              fmt(l.p90, 0),
              fmt(l.p99, 0),
              fmt(l.max, 0),
              fmt(l.e2eP50, 0),
              fmt(l.webhookP50, 0),
              l.status429,
              fmt(l.othersCpuPct, 0),
            ],
      ),
    ),
    "",
  );

  out.push("## 4. Memory and cold start", "");
  const b = r.ingest.find((x) => x.key === "b");
  const c = r.ingest.find((x) => x.key === "c");
  out.push(
    table(
      ["measure", "value"],
      [
        [
          "Peak RSS of Joe (SQLite) during 1b, VmHWM",
          b?.peakRssMb !== undefined ? `${fmt(b.peakRssMb)} MB (largest VmRSS sample every 200 ms: ${fmt(b.sampledRssMb)} MB)` : "–",
        ],
        ["Peak RSS of Joe (PostgreSQL) during 1c, VmHWM", c?.peakRssMb !== undefined ? `${fmt(c.peakRssMb)} MB (sampled: ${fmt(c.sampledRssMb)} MB)` : "–"],
        [
          "Cold start, compiled `serve`, fresh data dir (spawn → first 200 on /healthz)",
          r.coldStart ? `median ${fmt(r.coldStart.medianMs, 0)} ms; runs: ${r.coldStart.runsMs.map((x) => fmt(x, 0)).join(", ")} ms` : "–",
        ],
        ["RSS right after start (idle)", r.coldStart ? `${r.coldStart.idleRssMb.map((x) => fmt(x, 0)).join(", ")} MB` : "–"],
        [
          "Others' CPU in the second before each cold start",
          r.coldStart ? `${r.coldStart.othersCpuPctBefore.map((x) => fmt(x, 0)).join(", ")} % of a core` : "–",
        ],
      ],
    ),
    "",
  );
  out.push("Raw numbers: `bench/results.json`.", "");
  return out.join("\n");
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const t0 = performance.now();
  fs.mkdirSync(TMP, { recursive: true });
  log(`benchmark: ${QUICK ? "quick" : "full"} run, ${CFG.seconds} s per ingest server, results to ${path.relative(ROOT, OUT_DIR) || "."}/`);
  const noiseBefore = await machineNoise();
  log(`machine: ${os.availableParallelism()} cores, load ${noiseBefore.loadavg}${noiseBefore.busy.length ? `, busy: ${noiseBefore.busy.join(", ")}` : ""}`);
  const baselineSha = CFG.baselineRef && runs("ingest") ? resolveCommit(CFG.baselineRef) : undefined;
  log("build: tsc src/ → bench/.tmp/dist, bench/servers → bench/.tmp/servers");
  const b = build();
  for (const n of b.notes) log(`  ${n}`);
  let baseline: Baseline | undefined;
  if (CFG.baselineRef && !runs("ingest")) log(`baseline ${CFG.baselineRef}: ignored (only the ingest section runs an A/B, and BENCH_ONLY leaves it out)`);
  else if (CFG.baselineRef && baselineSha) {
    log(`build: the baseline ${CFG.baselineRef}: git archive → bench/.tmp/baseline-${baselineSha.slice(0, 12)}, tsc → its dist/`);
    baseline = await buildBaseline(CFG.baselineRef, baselineSha);
    log(`  baseline = ${baseline.sha.slice(0, 12)} ${baseline.subject}`);
    b.notes.push(...baseline.notes);
    for (const n of baseline.notes) log(`  ${n}`);
  }

  const template = textUpdateTemplate(chatOf(0));
  const results: Results = {
    date: new Date().toISOString(),
    command: commandLine(),
    git: gitInfo(),
    machine: {
      nproc: os.availableParallelism(),
      cpu: os.cpus()[0]?.model ?? "?",
      memGb: os.totalmem() / 2 ** 30,
      node: process.version,
      platform: `${os.type()} ${os.release()}`,
      fsyncMs: fsyncMs(),
      noiseBefore,
    },
    config: { ...CFG, bodyBytes: template.approxBytes, textChars: UPDATE_TEXT_CHARS },
    buildNotes: b.notes,
    ingest: [],
    outbox: [],
    latency: [],
    profiles: [],
    durationS: 0,
  };

  const fake = await startFakeBotApi();
  onCleanup(() => fake.close());
  if (runs("ingest")) {
    const r = await ingest(b, fake, baseline);
    results.ingest = r.results;
    results.ab = r.ab;
  }
  if (CFG.profile && runs("profile")) {
    results.profiles.push(await profileJoe(b, fake));
    results.profiles.push(await profileWorker(b));
  }
  if (runs("outbox")) {
    results.outbox.push(await outbox(b, "sqlite"));
    if (CFG.pg) results.outbox.push(await outbox(b, "postgres"));
  }
  if (runs("latency")) {
    results.latency.push(await latency(b, "sqlite"));
    if (CFG.pg) results.latency.push(await latency(b, "postgres"));
  }
  if (runs("start")) results.coldStart = await coldStart(b);

  results.machine.noiseAfter = await machineNoise();
  results.durationS = (performance.now() - t0) / 1000;
  fs.mkdirSync(OUT_DIR, { recursive: true });
  const md = markdown(results);
  fs.writeFileSync(path.join(OUT_DIR, PARTIAL ? "RESULTS-partial.md" : "RESULTS.md"), md + "\n");
  fs.writeFileSync(path.join(OUT_DIR, PARTIAL ? "results-partial.json" : "results.json"), JSON.stringify(results, null, 2) + "\n");
  process.stdout.write("\n" + table(["target", "measured", "verdict"], targets(results)) + "\n\n");
  log(`done in ${fmt(results.durationS, 0)} s → ${path.relative(ROOT, path.join(OUT_DIR, PARTIAL ? "RESULTS-partial.md" : "RESULTS.md"))}`);
}

let interrupted = false;
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.once(sig, () => {
    interrupted = true;
    log(`${sig}: cleaning up`);
    void cleanupAll().finally(() => process.exit(130));
  });
}

/** `--render`: rewrite RESULTS.md from results.json (after changing the report, without measuring again). */
function renderOnly(): void {
  const r = JSON.parse(fs.readFileSync(path.join(OUT_DIR, PARTIAL ? "results-partial.json" : "results.json"), "utf8")) as Results;
  r.profiles ??= [];
  fs.writeFileSync(path.join(OUT_DIR, PARTIAL ? "RESULTS-partial.md" : "RESULTS.md"), markdown(r) + "\n");
  log(`rendered ${path.relative(ROOT, path.join(OUT_DIR, PARTIAL ? "RESULTS-partial.md" : "RESULTS.md"))} from the JSON`);
}

try {
  if (process.argv.includes("--render")) renderOnly();
  else await main();
} catch (err) {
  process.exitCode = 1;
  process.stderr.write(`benchmark failed: ${(err as Error).stack ?? String(err)}\n`);
} finally {
  if (!interrupted) await cleanupAll();
  // After a failure, timers of the aborted section (RSS samplers, pools) would keep the process alive.
  if (process.exitCode) process.exit(process.exitCode);
}
