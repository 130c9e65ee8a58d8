// Graceful shutdown of the HTTP side. Once close() starts, a request that arrives on a connection
// still open is answered 503 in the project's error format (with `Connection: close`, so a
// proxy or Telegram tries again elsewhere or later); requests already past this gate finish and
// are answered. Whatever clients do, every connection is closed once the grace period is over:
// an idle TCP connect or a body trickling in cannot keep the process alive.
import type { FastifyInstance } from "fastify";
import { sendError } from "./errors.ts";

/** Answer requests that start while the app is closing with 503 SHUTTING_DOWN. */
export function registerShutdownGate(app: FastifyInstance): void {
  let closing = false;
  app.addHook("preClose", (done) => {
    closing = true;
    done();
  });
  // Callback style on purpose: it runs in the same tick the request is dispatched in, so a
  // request whose headers were read before close() began is never refused.
  app.addHook("onRequest", (_req, reply, done) => {
    if (!closing) return done();
    sendError(reply.header("connection", "close"), "SHUTTING_DOWN");
  });
}

/**
 * Stop accepting, let requests in flight finish for up to `graceMs`, then close every remaining
 * connection (idle, half-sent, kept alive) and wait for the server to be closed.
 */
export async function closeGracefully(app: FastifyInstance, graceMs: number): Promise<{ forced: boolean }> {
  let forced = false;
  const timer = setTimeout(() => {
    forced = true;
    app.server.closeAllConnections();
  }, graceMs);
  try {
    await app.close();
  } finally {
    clearTimeout(timer);
  }
  return { forced };
}
