// Summarise a V8 .cpuprofile (from `node --cpu-prof`): self time per function and per area
// (Joe's own files, each npm package, Node internals, GC), as shares of the busy (non-idle) time.
import fs from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileSummary {
  file: string;
  totalMs: number;
  busyMs: number;
  areas: Array<{ area: string; ms: number; pct: number }>;
  functions: Array<{ fn: string; where: string; ms: number; pct: number }>;
}

function areaOf(url: string, fn: string): string {
  if (!url) return fn.startsWith("(") ? fn : "(native / V8 builtins)";
  if (url.startsWith("node:")) return "node internals";
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return `npm: ${nm[1]}`;
  const joe = /\/(?:dist|src)\/(.+)$/.exec(url);
  if (joe) return `joe: ${joe[1]!.replace(/\.js$/, "")}`;
  return url;
}

function shortWhere(url: string, line: number): string {
  if (!url) return "";
  const nm = /node_modules\/(.+)$/.exec(url);
  const joe = /\/(?:dist|src)\/(.+)$/.exec(url);
  const file = nm ? nm[1]! : joe ? joe[1]! : url.replace(/^file:\/\//, "");
  return `${file}:${line + 1}`;
}

export function summariseProfile(file: string, top = 15): ProfileSummary {
  const p = JSON.parse(fs.readFileSync(file, "utf8")) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  for (const [i, id] of p.samples.entries()) selfUs.set(id, (selfUs.get(id) ?? 0) + (p.timeDeltas[i] ?? 0));
  const areas = new Map<string, number>();
  const fns = new Map<string, { fn: string; where: string; us: number }>();
  let total = 0;
  let idle = 0;
  for (const [id, us] of selfUs) {
    const n = byId.get(id)!;
    const { functionName, url, lineNumber } = n.callFrame;
    total += us;
    if (functionName === "(idle)") {
      idle += us;
      continue;
    }
    const area = areaOf(url, functionName);
    areas.set(area, (areas.get(area) ?? 0) + us);
    const name = functionName || "(anonymous)";
    const key = `${name}@${url}:${lineNumber}`;
    const f = fns.get(key) ?? { fn: name, where: shortWhere(url, lineNumber), us: 0 };
    f.us += us;
    fns.set(key, f);
  }
  const busy = total - idle;
  const pct = (us: number) => (busy > 0 ? (us / busy) * 100 : 0);
  return {
    file,
    totalMs: total / 1000,
    busyMs: busy / 1000,
    areas: [...areas]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([area, us]) => ({ area, ms: us / 1000, pct: pct(us) })),
    functions: [...fns.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((f) => ({ fn: f.fn, where: f.where, ms: f.us / 1000, pct: pct(f.us) })),
  };
}
