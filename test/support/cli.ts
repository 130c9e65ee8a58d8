// Running the `joe-telegram` CLI the way a user does: a child process (`node --import tsx
// src/cli/main.ts …`) in the project root, with an environment built from scratch for the test
// (the parent's Joe variables never leak in), and stdin closed unless the test gives it input.
// Every byte any child printed is kept in `cliOutputs`, so a test can check no secret was shown.
import type { ChildProcess } from "node:child_process";
import { spawnJoe, type ChildVars } from "./child-process.ts";

/** Every stdout and stderr of every CLI process started through this module, in order. */
export const cliOutputs: string[] = [];

/** Every finished run, for checks over the whole file (e.g. "each --json run printed one JSON value"). */
export const cliRuns: Array<{ args: string[]; result: CliResult }> = [];

/** The child's own variables (the parent's Joe configuration is stripped: child-process.ts). */
export type CliEnv = ChildVars;

export interface CliResult {
  /** Exit code; null when the process was ended by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** JSON.parse of the whole stdout (throws, showing both streams, when it is not exactly one JSON value). */
  json<T = any>(): T;
}

function parseJson(stdout: string, stderr: string): unknown {
  try {
    return JSON.parse(stdout);
  } catch {
    throw new Error(`stdout is not exactly one JSON value:\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`);
  }
}

function spawnCli(args: string[], env: CliEnv): ChildProcess {
  return spawnJoe(args, env, { stdin: "pipe" });
}

/**
 * Run one command to completion. `stdin` is written and then closed; without it stdin is closed
 * at once (a command that reads it sees end of input). A command still running after `timeoutMs`
 * is killed and reported with code null.
 */
export function runCli(args: string[], opts: { env: CliEnv; stdin?: string; timeoutMs?: number }): Promise<CliResult> {
  const child = spawnCli(args, opts.env);
  let stdout = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8").on("data", (c: string) => {
    stdout += c;
  });
  child.stderr!.setEncoding("utf8").on("data", (c: string) => {
    stderr += c;
  });
  child.stdin!.on("error", () => {}); // the command may exit before reading it
  child.stdin!.end(opts.stdin ?? "");
  const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 60_000);
  return new Promise((resolve, reject) => {
    child.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      cliOutputs.push(stdout, stderr);
      const result: CliResult = { code, signal, stdout, stderr, json: <T>() => parseJson(stdout, stderr) as T };
      cliRuns.push({ args, result });
      resolve(result);
    });
  });
}

/** A long-running command (`serve`, `worker`). Its output is recorded as it arrives. */
export interface CliProcess {
  pid: number;
  stdout(): string;
  stderr(): string;
  /** Resolves when the process has exited (and its streams closed). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Send a signal, then wait (at most `timeoutMs`) for the exit; SIGKILL and throw if it does not come. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startCli(args: string[], opts: { env: CliEnv }): CliProcess {
  const child = spawnCli(args, opts.env);
  let stdout = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8").on("data", (c: string) => {
    stdout += c;
  });
  child.stderr!.setEncoding("utf8").on("data", (c: string) => {
    stderr += c;
  });
  child.stdin!.on("error", () => {});
  child.stdin!.end();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("close", (code, signal) => {
      cliOutputs.push(stdout, stderr);
      resolve({ code, signal });
    });
  });
  return {
    pid: child.pid!,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    async stop(signal = "SIGTERM", timeoutMs = 20_000) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<"timeout">((r) => {
        timer = setTimeout(() => r("timeout"), timeoutMs);
      });
      const r = await Promise.race([exited, timeout]);
      clearTimeout(timer);
      if (r === "timeout") {
        child.kill("SIGKILL");
        await exited;
        throw new Error(`${args.join(" ")} did not exit within ${timeoutMs} ms of ${signal}`);
      }
      return r;
    },
  };
}

/** Poll `url` until it answers 200 (or the process exits, or `timeoutMs` passes). */
export async function waitForHttp(url: string, proc: CliProcess, timeoutMs = 30_000): Promise<void> {
  let exited = false;
  void proc.exited.then(() => {
    exited = true;
  });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited) throw new Error(`process exited before ${url} answered:\n${proc.stderr()}`);
    try {
      const r = await fetch(url);
      if (r.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer 200 within ${timeoutMs} ms:\n${proc.stderr()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
