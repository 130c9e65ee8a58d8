// The load generator: autocannon, programmatic, in the bench process (servers are children).
// Every request is built by setupRequest with a fresh update_id AND message_id; onResponse sees
// the same per-request context (one request in flight per connection, pipelining 1), so we know
// exactly which message ids were answered 2xx and can check each has exactly one task.
//
// A measurement may be made of several slices (the servers take turns, so noise from other
// people's work on a shared machine falls on all of them alike); slices are merged with
// autocannon.aggregateResult, latency histograms included.
import autocannon, { type RawResult } from "autocannon";
import { cpuSecondsOf, machineBusySeconds } from "./proc.ts";
import type { UpdateTemplate } from "./update.ts";

/** Where requests go: one route per plugin (path, secret header, the linked chat's update); requests rotate over them. */
export interface Route {
  path: string;
  secret?: string;
  template: UpdateTemplate;
}

/** Hands out ids and remembers which message ids were answered 2xx. */
export class IdSource {
  private next: number;
  readonly ok = new Set<number>();
  constructor(start = 1_000_000) {
    this.next = start;
  }
  take(): number {
    return this.next++;
  }
}

export interface LoadOptions {
  baseUrl: string;
  routes: Route[];
  ids: IdSource;
  seconds: number;
  connections: number;
  serverPid?: number;
  /** Other benchmark children, idle during this slice: their CPU is accounted separately. */
  siblingPids?: number[];
  /** Database server processes working for this server (PostgreSQL backends). */
  /** The database's processes serving this server (listed at the start and the end of the slice). */
  dbPids?: () => number[];
}

export interface Slice {
  raw: RawResult;
  wallS: number;
  serverCpuS: number;
  clientCpuS: number;
  siblingsCpuS: number;
  dbCpuS: number;
  machineBusyS: number;
}

export interface LoadSummary {
  seconds: number;
  slices: number;
  connections: number;
  sent: number;
  ok2xx: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  /** 2xx answers per second of load. */
  rps: number;
  latency: { mean: number; p50: number; p90: number; p99: number; max: number };
  /** CPU used while loaded, as % of one core: the server child, the bench process (client), … */
  serverCpuPct: number;
  clientCpuPct: number;
  /** … the other benchmark servers, idle meanwhile, … */
  siblingsCpuPct: number;
  /** … the database server's processes working for it (PostgreSQL backends), … */
  dbCpuPct: number;
  /** … and everything else on the machine (other people's work: noise). */
  othersCpuPct: number;
  bodyBytes: number;
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const cpuOf = (pids: number[]) => sum(pids.map((p) => cpuSecondsOf(p)).filter(Number.isFinite));

export async function runSlice(o: LoadOptions): Promise<Slice> {
  const { routes } = o;
  let rr = 0;
  const siblings = o.siblingPids ?? [];
  const server0 = o.serverPid ? cpuSecondsOf(o.serverPid) : NaN;
  const siblings0 = cpuOf(siblings);
  const dbPids = o.dbPids ?? (() => []);
  // Per process: a connection pool may close idle backends and open new ones between or during
  // slices; a backend that appears during the slice counts from zero.
  const db0 = new Map(dbPids().map((p) => [p, cpuSecondsOf(p)]));
  const client0 = process.cpuUsage();
  const machine0 = machineBusySeconds();
  const t0 = performance.now();
  const raw = await autocannon({
    url: o.baseUrl,
    connections: o.connections,
    pipelining: 1,
    duration: o.seconds,
    timeout: 10,
    skipAggregateResult: true,
    requests: [
      {
        method: "POST",
        setupRequest(req, ctx) {
          const id = o.ids.take();
          ctx.mid = id;
          const route = routes[rr++ % routes.length]!;
          const headers: Record<string, string> = { "content-type": "application/json" };
          if (route.secret) headers["x-telegram-bot-api-secret-token"] = route.secret;
          return { ...req, path: route.path, headers, body: route.template.body(id, id) };
        },
        onResponse(status, _body, ctx) {
          if (status >= 200 && status < 300) o.ids.ok.add(ctx.mid as number);
        },
      },
    ],
  });
  const wallS = (performance.now() - t0) / 1000;
  const client = process.cpuUsage(client0);
  return {
    raw,
    wallS,
    serverCpuS: o.serverPid ? cpuSecondsOf(o.serverPid) - server0 : NaN,
    clientCpuS: (client.user + client.system) / 1e6,
    siblingsCpuS: cpuOf(siblings) - siblings0,
    dbCpuS: sum(
      dbPids()
        .map((p) => cpuSecondsOf(p) - (db0.get(p) ?? 0))
        .filter(Number.isFinite),
    ),
    machineBusyS: machineBusySeconds() - machine0,
  };
}

export function summarise(slices: Slice[], o: { baseUrl: string; connections: number; bodyBytes: number }): LoadSummary {
  const r = autocannon.aggregateResult(
    slices.map((s) => s.raw),
    { url: o.baseUrl, connections: o.connections, pipelining: 1 },
  );
  const seconds = sum(slices.map((s) => s.raw.duration));
  const wall = sum(slices.map((s) => s.wallS));
  const statusCodes: Record<string, number> = {};
  for (const [k, v] of Object.entries(r.statusCodeStats ?? {})) statusCodes[k] = Number(v.count);
  const server = sum(slices.map((s) => s.serverCpuS));
  const client = sum(slices.map((s) => s.clientCpuS));
  const siblings = sum(slices.map((s) => s.siblingsCpuS));
  const dbCpu = sum(slices.map((s) => s.dbCpuS));
  const machine = sum(slices.map((s) => s.machineBusyS));
  const ok2xx = sum(slices.map((s) => s.raw["2xx"]));
  return {
    seconds,
    slices: slices.length,
    connections: o.connections,
    sent: sum(slices.map((s) => s.raw.totalRequests)),
    ok2xx,
    non2xx: sum(slices.map((s) => s.raw.non2xx)),
    errors: sum(slices.map((s) => s.raw.errors)),
    timeouts: sum(slices.map((s) => s.raw.timeouts)),
    statusCodes,
    rps: ok2xx / seconds,
    latency: { mean: r.latency.mean, p50: r.latency.p50, p90: r.latency.p90, p99: r.latency.p99, max: r.latency.max },
    serverCpuPct: (server / wall) * 100,
    clientCpuPct: (client / wall) * 100,
    siblingsCpuPct: (siblings / wall) * 100,
    dbCpuPct: (dbCpu / wall) * 100,
    othersCpuPct: (Math.max(0, machine - client - (Number.isFinite(server) ? server : 0) - siblings - dbCpu) / wall) * 100,
    bodyBytes: o.bodyBytes,
  };
}

/** One uninterrupted run (warm-ups, the profile run). */
export async function runLoad(o: LoadOptions): Promise<LoadSummary> {
  const s = await runSlice(o);
  return summarise([s], { baseUrl: o.baseUrl, connections: o.connections, bodyBytes: o.routes[0]!.template.approxBytes });
}
