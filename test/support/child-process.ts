// The one way the tests start `joe-telegram` as a separate OS process: `node --import tsx
// src/cli/main.ts <args>` in the project root (the sources, never a stale dist/), with an
// environment built from this process's minus everything that configures Joe (so a variable set
// on the developer's shell or by another test never leaks into a child), plus what the test
// gives. Every child is tracked and SIGKILLed if the test process exits while it still runs.
// Also the port and HTTP probes every process test needs.
import { spawn, type ChildProcess, type StdioOptions } from "node:child_process";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { CONFIG_VARIABLES } from "../../src/config.ts";

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const MAIN = path.join("src", "cli", "main.ts");

/**
 * Whether a variable of this process must not reach a child: every configuration variable
 * (src/config.ts), every JOE_* knob (e.g. JOE_SSE_HEARTBEAT_MS, which a test sets on itself), and
 * the test runner's marker. JOE_STT_RUNTIME_DIR passes: it only says where a downloaded speech
 * runtime is cached, not how Joe behaves.
 */
export function isStrippedVariable(name: string): boolean {
  if (CONFIG_VARIABLES.includes(name)) return true;
  if (name.startsWith("JOE_")) return name !== "JOE_STT_RUNTIME_DIR";
  return name === "NODE_TEST_CONTEXT";
}

export type ChildVars = Record<string, string | undefined>;

/** process.env without the stripped variables, plus `vars` (undefined values are left out). */
export function childEnv(vars: ChildVars): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!isStrippedVariable(k)) env[k] = v;
  for (const [k, v] of Object.entries(vars)) if (v !== undefined) env[k] = v;
  return env;
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

/** Spawn `joe-telegram <args>` from the sources with `childEnv(vars)`; tracked until it exits. */
export function spawnJoe(args: string[], vars: ChildVars, opts: { stdin?: "pipe" | "ignore" } = {}): ChildProcess {
  const stdio: StdioOptions = [opts.stdin ?? "ignore", "pipe", "pipe"];
  const child = spawn(process.execPath, ["--import", "tsx", MAIN, ...args], { cwd: PROJECT_ROOT, env: childEnv(vars), stdio });
  trackChild(child);
  return child;
}

/** A port nobody listens on right now: bind port 0 on 127.0.0.1, read it, close. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
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
