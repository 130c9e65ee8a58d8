// GET /metrics (Prometheus text format) and the webhook's latency / verification counters,
// taken from Fastify's onResponse hook so the webhook's own code stays as it is.
import type { FastifyInstance } from "fastify";
import type { Db } from "../db/dialect.ts";
import { WEBHOOK_PATH } from "../telegram/webhook-setup.ts";
import { outboxDepth, registry, verificationFailures, webhookDuration } from "./registry.ts";

export function registerMetrics(app: FastifyInstance, deps: { db: Db }): void {
  app.addHook("onResponse", async (req, reply) => {
    if (req.routeOptions.url !== WEBHOOK_PATH) return;
    webhookDuration.observe({ status: String(reply.statusCode) }, reply.elapsedTime / 1000);
    if (reply.statusCode === 401) verificationFailures.inc();
  });

  app.get("/metrics", async (_req, reply) => {
    const rows = await deps.db
      .selectFrom("outgoing_messages")
      .select(["status", (eb) => eb.fn.countAll().as("n")])
      .where("status", "in", ["pending", "sending"])
      .groupBy("status")
      .execute();
    outboxDepth.reset();
    outboxDepth.set({ status: "pending" }, 0);
    outboxDepth.set({ status: "sending" }, 0);
    for (const r of rows) outboxDepth.set({ status: r.status }, Number(r.n));
    reply.type(registry.contentType);
    return registry.metrics();
  });
}
