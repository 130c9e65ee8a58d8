// Any `joe-telegram <command>` as a separate OS process, the way it is deployed (launched by
// child-process.ts); used for `worker` processes (`serve` has startServerProcess in
// ./server-process.ts, which waits for /healthz). Output (stdout and stderr, line by line) is
// captured for assertions and failure messages; kill() stops only the process it started.
import type { ChildProcess } from "node:child_process";
import { spawnJoe } from "./child-process.ts";

export interface JoeProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** Every line written to stdout or stderr so far. */
  readonly lines: string[];
  /** Resolves with the exit code (or the signal's name) when the process has ended. */
  readonly exited: Promise<number | string>;
  /** The last lines of output, for failure messages. */
  tail(n?: number): string;
  /** Wait until a line matches (or the process ends first, which rejects). */
  waitForLine(re: RegExp, timeoutMs?: number): Promise<string>;
  /** SIGTERM (graceful stop), then SIGKILL after `graceMs`. Resolves with the exit code/signal. */
  kill(graceMs?: number): Promise<number | string>;
}

/** Spawn `joe-telegram <args>` from the sources with `env` as its own variables (child-process.ts). */
export function startJoeProcess(name: string, args: string[], env: Record<string, string>): JoeProcess {
  const child = spawnJoe(args, env);
  const lines: string[] = [];
  const listeners = new Set<() => void>();
  const collect = (stream: NodeJS.ReadableStream | null) => {
    let partial = "";
    stream?.setEncoding("utf8");
    stream?.on("data", (chunk: string) => {
      const parts = (partial + chunk).split("\n");
      partial = parts.pop()!;
      lines.push(...parts.filter((l) => l.length > 0));
      for (const l of listeners) l();
    });
    stream?.on("end", () => {
      if (partial) lines.push(partial);
      partial = "";
      for (const l of listeners) l();
    });
  };
  collect(child.stdout);
  collect(child.stderr);
  let ended = false;
  const exited = new Promise<number | string>((resolve) => {
    child.once("exit", (code, signal) => {
      ended = true;
      for (const l of listeners) l();
      resolve(code ?? signal ?? "unknown");
    });
  });

  const proc: JoeProcess = {
    name,
    child,
    lines,
    exited,
    tail: (n = 20) => lines.slice(-n).join("\n"),
    waitForLine(re, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const hit = lines.find((l) => re.test(l));
          if (hit !== undefined) return finish(() => resolve(hit));
          if (ended) return finish(() => reject(new Error(`${name} exited before printing ${re}:\n${proc.tail()}`)));
        };
        const timer = setTimeout(() => finish(() => reject(new Error(`${name}: no line matching ${re} within ${timeoutMs} ms:\n${proc.tail()}`))), timeoutMs);
        const finish = (f: () => void) => {
          clearTimeout(timer);
          listeners.delete(check);
          f();
        };
        listeners.add(check);
        check();
      });
    },
    async kill(graceMs = 10_000) {
      if (!ended && child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => {
          if (!ended) child.kill("SIGKILL");
        }, graceMs);
        const r = await exited;
        clearTimeout(timer);
        return r;
      }
      return exited;
    },
  };
  return proc;
}

/**
 * Start a `worker`; resolved once it logs that it has started (after its migrations), so
 * LOG_LEVEL must let info through. Rejects (and stops it) if it exits or is not up in `timeoutMs`.
 */
export async function startJoeWorker(name: string, env: Record<string, string>, timeoutMs = 30_000): Promise<JoeProcess> {
  const proc = startJoeProcess(name, ["worker"], { LOG_LEVEL: "info", ...env });
  try {
    await proc.waitForLine(/joe-telegram: worker started/, timeoutMs);
  } catch (err) {
    await proc.kill(2000);
    throw err;
  }
  return proc;
}
