// The dashboard's weight and speed: bytes of the first page (HTML + assets), time until it is
// interactive in chromium (local link, and an emulated slow phone link), and the memory of `serve`
// while 100 open dashboards poll for live updates (the live view polls /live.json every 2 s; it
// is not SSE). Runs a real `serve` on SQLite with the fake Bot API, bounded in time.
//   node --import tsx bench/dashboard.ts        (results in bench/NOTES.md, "Dashboard")
import fs from "node:fs";
import { dbTargets } from "../test/support/databases.ts";
import { createBots, linkBots, openWorld, startServerProcess, stopWorld } from "../test/support/server-process.ts";
import { freePort } from "../test/support/child-process.ts";
import { launchBrowser } from "../test/support/browser.ts";
import { createLoginLink } from "../src/dashboard/auth-store.ts";
import { DashClient } from "../test/support/dashboard.ts";

const TASKS = 50;
const CLIENTS = 100;
const LIVE_SECONDS = 30;

/** CPU time (user + system) the process has used, in ms (/proc/<pid>/stat, clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const f = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(f[11]) + Number(f[12])) * 10;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

const world = await openWorld(dbTargets()[0]!);
const { fake, env, rt } = world;
const port = await freePort();
const [bot] = await createBots(rt, fake, `http://127.0.0.1:${port}`, 1);
const server = await startServerProcess({ env, port, logLevel: "warn" });
const base = server.url;
try {
  await linkBots(fake, [bot!]);
  for (let i = 0; i < TASKS; i++) {
    await fake.deliverUpdate(
      bot!.token,
      fake.makeTextUpdate(bot!.token, { chatId: bot!.chatId, text: `Tarea de prueba número ${i}: llamar, comprar, escribir` }),
    );
  }
  const owner = Number(
    (await rt.store.db.selectFrom("plugin_configs").select("usuario_id").where("id", "=", bot!.pluginId).executeTakeFirstOrThrow()).usuario_id,
  );

  // -- first page in chromium ------------------------------------------------------------
  const browser = await launchBrowser({ viewport: { width: 390, height: 844 }, isMobile: true });
  const results: Record<string, unknown> = {};
  try {
    const page = await browser.context.newPage();
    const { token } = await createLoginLink(rt.store.db, owner);
    await page.goto(`${base}/login/${token}`);
    await page.click("#sign-in");
    await page.waitForSelector("#tasks");
    await page.goto(`${base}/`, { waitUntil: "load" }); // warm-up: the server's first render compiles code
    for (const [label, net] of [
      ["local", null],
      ["slow phone link (1.6 Mbit/s, 150 ms RTT)", { latency: 150, downloadThroughput: 200_000, uploadThroughput: 90_000 }],
    ] as const) {
      const cdp = await browser.context.newCDPSession(page);
      await cdp.send("Network.enable");
      await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
      if (net) await cdp.send("Network.emulateNetworkConditions", { offline: false, ...net });
      let sizes: Array<{ url: string; bytes: number }> = [];
      const tti: number[] = [];
      const load: number[] = [];
      const onResponse = async (r: import("playwright-core").Response) => {
        try {
          sizes.push({ url: new URL(r.url()).pathname, bytes: (await r.body()).length });
        } catch {
          /* redirects have no body */
        }
      };
      for (let run = 0; run < 3; run++) {
        sizes = [];
        page.on("response", onResponse);
        await page.goto(`${base}/`, { waitUntil: "load" });
        await page.waitForTimeout(200); // let the last response bodies be read
        page.off("response", onResponse);
        const nav = await page.evaluate(() => {
          const n = performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming;
          return { domContentLoaded: Math.round(n.domContentLoadedEventEnd), load: Math.round(n.loadEventEnd) };
        });
        // Deferred scripts run before DOMContentLoaded: from then on the page is live.
        tti.push(nav.domContentLoaded);
        load.push(nav.load);
      }
      const firstPage = sizes.filter((s) => !s.url.endsWith(".json"));
      results[label] = {
        bytes: firstPage.reduce((a, s) => a + s.bytes, 0),
        files: Object.fromEntries(firstPage.map((s) => [s.url, s.bytes])),
        time_to_interactive_ms_median_of_3: median(tti),
        load_ms_median_of_3: median(load),
      };
      await cdp.detach();
    }
  } finally {
    await browser.close();
  }

  // -- 100 open dashboards polling ------------------------------------------------------------
  const clients = await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      const c = new DashClient(base);
      await c.signIn(rt.store.db, owner);
      return c;
    }),
  );
  const rssIdle = rssMb(server.pid);
  const cpuBefore = cpuMs(server.pid);
  let requests = 0;
  let failures = 0;
  let rssPeak = rssIdle;
  const latencies: number[] = [];
  const until = Date.now() + LIVE_SECONDS * 1000;
  await Promise.all(
    clients.map(async (c, i) => {
      await new Promise((r) => setTimeout(r, (i * 2000) / CLIENTS)); // spread like real pages
      let after = 0;
      while (Date.now() < until) {
        const t0 = performance.now();
        const page = await c.get(`/live.json?after=${after}&ev=0`);
        latencies.push(performance.now() - t0);
        requests++;
        if (page.status !== 200) failures++;
        else after = (JSON.parse(page.body) as { after: number }).after;
        rssPeak = Math.max(rssPeak, rssMb(server.pid));
        await new Promise((r) => setTimeout(r, 2000));
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  results.live = {
    clients: CLIENTS,
    seconds: LIVE_SECONDS,
    requests,
    failures,
    p50_ms: Math.round(latencies[Math.floor(latencies.length * 0.5)]!),
    p99_ms: Math.round(latencies[Math.floor(latencies.length * 0.99)]!),
    serve_rss_mb_before: rssIdle,
    serve_rss_mb_peak: rssPeak,
    serve_cpu_ms_per_request: Math.round(((cpuMs(server.pid) - cpuBefore) / requests) * 100) / 100,
  };
  process.stdout.write(JSON.stringify(results, null, 2) + "\n");
} finally {
  await server.stop("SIGTERM");
  await stopWorld(world);
}
