// How long the HTTP server waits for a client, and how long shutdown waits for the rest.
// Telegram waits about 60 s for an answer and sends small bodies at once, so the bounds on
// receiving a request are well inside that: a real delivery never meets them, while an idle or trickling client (which
// would otherwise hold a socket, and a graceful shutdown, forever) is cut off in bounded time.
import type { ServerOptions } from "node:http";

export interface HttpTimeouts {
  /** All request headers must arrive within this (Node's headersTimeout). */
  headersMs: number;
  /** The whole request, body included, must arrive within this (Node's requestTimeout → 408). */
  requestMs: number;
  /** A kept-alive connection with no request is closed after this (keepAliveTimeout). */
  keepAliveMs: number;
  /**
   * A socket with no traffic at all for this long is destroyed (Fastify's connectionTimeout).
   * This is what reaps a TCP connect that never sends a byte: Node's header and request timers
   * only start with the first byte of a request.
   */
  idleMs: number;
  /** After SIGTERM: how long requests in flight may take before every connection is closed. */
  shutdownGraceMs: number;
}

export const DEFAULT_TIMEOUTS: HttpTimeouts = {
  headersMs: 10_000,
  requestMs: 30_000,
  // Longer than the clients' own idle limits (nginx's upstream keep-alive: 60 s): a server that
  // closes a kept-alive connection first races the client reusing it, and that request is lost
  // (measured: 5 s here lost updates posted by the scale-out test's keep-alive agent).
  keepAliveMs: 72_000,
  // Above keepAliveMs, so that a kept-alive connection is closed cleanly by that timer first.
  idleMs: 75_000,
  shutdownGraceMs: 10_000,
};

/** Node checks header/request timers on this period (its default, 30 s, would triple them). */
const CHECK_EVERY_MS = 1_000;

/** The timeouts from the environment's optional overrides (config.ts: HTTP_*_TIMEOUT_MS, SHUTDOWN_GRACE_MS). */
export function timeoutsFrom(c: {
  HTTP_HEADERS_TIMEOUT_MS?: number;
  HTTP_REQUEST_TIMEOUT_MS?: number;
  HTTP_KEEPALIVE_TIMEOUT_MS?: number;
  HTTP_IDLE_TIMEOUT_MS?: number;
  SHUTDOWN_GRACE_MS?: number;
}): HttpTimeouts {
  const requestMs = c.HTTP_REQUEST_TIMEOUT_MS ?? DEFAULT_TIMEOUTS.requestMs;
  return {
    // Node refuses a header timeout longer than the request timeout.
    headersMs: Math.min(c.HTTP_HEADERS_TIMEOUT_MS ?? DEFAULT_TIMEOUTS.headersMs, requestMs),
    requestMs,
    keepAliveMs: c.HTTP_KEEPALIVE_TIMEOUT_MS ?? DEFAULT_TIMEOUTS.keepAliveMs,
    idleMs: c.HTTP_IDLE_TIMEOUT_MS ?? DEFAULT_TIMEOUTS.idleMs,
    shutdownGraceMs: c.SHUTDOWN_GRACE_MS ?? DEFAULT_TIMEOUTS.shutdownGraceMs,
  };
}

/** The Fastify (and underlying http.Server) options that enforce `t`. */
export function serverTimeoutOptions(t: HttpTimeouts): { connectionTimeout: number; requestTimeout: number; keepAliveTimeout: number; http: ServerOptions } {
  return {
    connectionTimeout: t.idleMs,
    requestTimeout: t.requestMs,
    keepAliveTimeout: t.keepAliveMs,
    http: {
      headersTimeout: t.headersMs,
      requestTimeout: t.requestMs,
      keepAliveTimeout: t.keepAliveMs,
      connectionsCheckingInterval: Math.min(CHECK_EVERY_MS, t.headersMs),
    },
  };
}
