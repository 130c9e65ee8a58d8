// Prometheus metrics (prom-client), in one registry of Joe's own. Counters are bumped where the
// thing happens (reportOutcome, countSend, observePollingLag); the outbox depth is read from the
// database at scrape time (route.ts). Labels never carry a secret, a chat or a text.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { Logger } from "../log.ts";

export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: "joe_" });

export const updatesTotal = new Counter({
  name: "joe_updates_total",
  help: "Telegram updates written, by how they came and what became of them",
  labelNames: ["source", "outcome"] as const,
  registers: [registry],
});
export const webhookDuration = new Histogram({
  name: "joe_webhook_duration_seconds",
  help: "Time to answer a webhook request (including its commit)",
  labelNames: ["status"] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  registers: [registry],
});
export const verificationFailures = new Counter({
  name: "joe_webhook_verification_failures_total",
  help: "Webhook requests refused for a missing or wrong secret (401)",
  registers: [registry],
});
export const sendResults = new Counter({
  name: "joe_outbox_send_results_total",
  help: "sendMessage attempts by result: ok, or the Bot API's error code (network for no answer)",
  labelNames: ["result"] as const,
  registers: [registry],
});
export const pollingLag = new Histogram({
  name: "joe_polling_lag_seconds",
  help: "From a polled message's date (Telegram's clock) to its commit",
  buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300],
  registers: [registry],
});
export const outboxDepth = new Gauge({
  name: "joe_outbox_depth",
  help: "Outgoing messages not sent yet (pending or sending), read at scrape",
  labelNames: ["status"] as const,
  registers: [registry],
});

/** One info line and one count per update outcome (no text, no secret). */
export function reportOutcome(logger: Logger, source: "webhook" | "polling", pluginId: number, updateId: number, outcome: string, codigo?: string): void {
  updatesTotal.inc({ source, outcome });
  logger.info({ plugin_id: pluginId, update_id: updateId, source, outcome, ...(codigo ? { codigo } : {}) }, "update committed");
}

export function observePollingLag(seconds: number): void {
  pollingLag.observe(Math.max(0, seconds));
}

/** "403 Forbidden: bot was blocked" → "403"; "network: ECONNREFUSED" → "network". */
export function countSend(result: "ok" | string): void {
  const m = /^(\d{3})\b/.exec(result);
  sendResults.inc({ result: result === "ok" ? "ok" : m ? m[1]! : result.startsWith("network") ? "network" : "other" });
}
