// Child processes for the benchmark: spawn with a bounded output buffer, wait for an HTTP 200,
// read memory and CPU from /proc, stop gracefully. Servers always run in their own process so
// the load generator (in the bench process) never shares their event loop.
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { childEnv, getStatus } from "../../test/support/child-process.ts";
import { sleep } from "../../test/support/wait.ts";

export const CLK_TCK = 100; // `getconf CLK_TCK` on Linux

export interface Child {
  name: string;
  proc: ChildProcess;
  pid: number;
  spawnedAt: number;
  /** The last ~64 KB of stdout+stderr, for error messages. */
  output(): string;
  exited: Promise<number | null>;
  /** SIGTERM, wait up to `ms` for the exit, then SIGKILL. Resolves with the exit code. */
  stop(ms?: number): Promise<number | null>;
}

export function startChild(name: string, args: string[], env: Record<string, string | undefined>, cwd: string): Child {
  const spawnedAt = performance.now();
  // The same environment hygiene as the tests: the shell's Joe configuration never reaches a child.
  const proc = spawn(process.execPath, args, { cwd, env: childEnv(env), stdio: ["ignore", "pipe", "pipe"] });
  let buf = "";
  const keep = (c: Buffer) => {
    buf += c.toString("utf8");
    if (buf.length > 65_536) buf = buf.slice(-65_536);
  };
  proc.stdout!.on("data", keep);
  proc.stderr!.on("data", keep);
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (code, sig) => resolve(code ?? (sig ? -1 : null))));
  let done = false;
  void exited.then(() => (done = true));
  return {
    name,
    proc,
    pid: proc.pid!,
    spawnedAt,
    exited,
    output: () => buf,
    async stop(ms = 10_000) {
      if (done) return exited;
      proc.kill("SIGTERM");
      const t = setTimeout(() => {
        if (!done) proc.kill("SIGKILL");
      }, ms);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}

/** Poll until `url` answers 200; returns performance.now() at that answer. Fails if the child exits. */
export async function waitForOk(child: Child, url: string, timeoutMs = 30_000, intervalMs = 5): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  let exited = false;
  void child.exited.then(() => (exited = true));
  for (;;) {
    if (exited) throw new Error(`${child.name} exited before answering ${url}:\n${child.output()}`);
    if ((await getStatus(url, 1000)) === 200) return performance.now();
    if (performance.now() > deadline) throw new Error(`${child.name} did not answer 200 on ${url} within ${timeoutMs} ms:\n${child.output()}`);
    await sleep(intervalMs);
  }
}

/** VmHWM (peak RSS) and VmRSS of a live process, in MB. */
export function memoryOf(pid: number): { peakMb: number; rssMb: number } | null {
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)\\s+kB`, "m").exec(s)?.[1] ?? NaN);
    return { peakMb: kb("VmHWM") / 1024, rssMb: kb("VmRSS") / 1024 };
  } catch {
    return null;
  }
}

/** CPU seconds (user+system) a live process has used so far, from /proc/<pid>/stat. */
export function cpuSecondsOf(pid: number): number {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the ")" that closes the command name; utime and stime are fields 14 and 15.
    const fields = s.slice(s.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return NaN;
  }
}

/** Sample VmRSS every `ms` while running; `stop()` returns the largest sample (MB). */
export function sampleRss(pid: number, ms = 200): { stop(): number } {
  let max = 0;
  const t = setInterval(() => {
    const m = memoryOf(pid);
    if (m && m.rssMb > max) max = m.rssMb;
  }, ms);
  return {
    stop() {
      clearInterval(t);
      return max;
    },
  };
}

/** CPU ticks per process right now (all of /proc), with the command names. */
function allCpuTicks(): Map<number, { ticks: number; comm: string }> {
  const out = new Map<number, { ticks: number; comm: string }>();
  for (const d of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const s = fs.readFileSync(`/proc/${d}/stat`, "utf8");
      const comm = s.slice(s.indexOf("(") + 1, s.lastIndexOf(")"));
      const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
      out.set(Number(d), { ticks: Number(f[11]) + Number(f[12]), comm });
    } catch {
      // gone in between
    }
  }
  return out;
}

/**
 * Noise on the machine: the load average, and other processes that used more than 5 % of a core
 * over `ms` while the benchmark was idle.
 */
export async function machineNoise(ms = 1000, exclude: number[] = [process.pid]): Promise<{ loadavg: string; busy: string[]; othersPct: number }> {
  const a = allCpuTicks();
  const m0 = machineBusySeconds();
  await sleep(ms);
  const b = allCpuTicks();
  const m1 = machineBusySeconds();
  const busy: string[] = [];
  let mine = 0;
  for (const [pid, v] of b) {
    const before = a.get(pid)?.ticks ?? v.ticks;
    if (exclude.includes(pid)) {
      mine += (v.ticks - before) / CLK_TCK;
      continue;
    }
    const pct = ((v.ticks - before) / CLK_TCK / (ms / 1000)) * 100;
    if (pct >= 5) busy.push(`${v.comm}[${pid}] ${pct.toFixed(0)}%`);
  }
  const loadavg = fs.readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  // Whole-machine busy time (catches short-lived processes the per-process view misses), minus ours.
  const othersPct = (Math.max(0, m1 - m0 - mine) / (ms / 1000)) * 100;
  return { loadavg, busy, othersPct };
}

/** CPU used by everything except this process and `pids()` (asked at start and at stop) meanwhile, as % of one core. */
export function othersCpuMeter(pids: () => number[]): { stop(): number } {
  const t0 = performance.now();
  const m0 = machineBusySeconds();
  const own0 = new Map(pids().map((p) => [p, cpuSecondsOf(p)]));
  const self0 = process.cpuUsage();
  return {
    stop() {
      const wall = (performance.now() - t0) / 1000;
      const self = process.cpuUsage(self0);
      let own = (self.user + self.system) / 1e6;
      // Processes that appeared meanwhile (e.g. database backends) count from zero.
      for (const p of new Set([...own0.keys(), ...pids()])) {
        const c1 = cpuSecondsOf(p);
        if (Number.isFinite(c1)) own += c1 - (own0.get(p) ?? 0);
      }
      return (Math.max(0, machineBusySeconds() - m0 - own) / wall) * 100;
    },
  };
}

/** Busy CPU seconds of the whole machine so far (all cores), from /proc/stat. */
export function machineBusySeconds(): number {
  const line = fs.readFileSync("/proc/stat", "utf8").split("\n")[0]!; // "cpu  user nice system idle iowait irq softirq steal ..."
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = f;
  return (user + nice + system + irq + softirq + steal) / CLK_TCK;
}

/** Processes whose command line contains `needle` (e.g. PostgreSQL backends serving one database). */
export function pidsWithCmdline(needle: string): number[] {
  const out: number[] = [];
  for (const d of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (fs.readFileSync(`/proc/${d}/cmdline`, "utf8").includes(needle)) out.push(Number(d));
    } catch {
      // gone in between
    }
  }
  return out;
}

/**
 * How long a small durable write takes on the disk the databases live on (os.tmpdir()): 4 KB
 * written then fdatasync'd, median of `n`. Group commit matters in proportion to this.
 */
export function fsyncMs(n = 200): number {
  const file = path.join(os.tmpdir(), `joe-bench-fsync-${process.pid}`);
  const fd = fs.openSync(file, "w");
  const buf = Buffer.alloc(4096, 1);
  const times: number[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      fs.writeSync(fd, buf, 0, buf.length, (i % 64) * 4096);
      fs.fdatasyncSync(fd);
      times.push(performance.now() - t);
    }
  } finally {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(n / 2)]!;
}
