// How an error raised while serving a request becomes our answer. Our own JoeError is answered
// as it is; Fastify's (and its plugins', and node's) errors are recognised by their `err.code`,
// never by their message text, which changes between versions; a storage outage is 503 (so
// Telegram delivers again); anything else is 500. Every body is errorBody() from errors.ts.
import type { FastifyReply } from "fastify";
import { ERRORS, JoeError, errorBody, type ErrorCode } from "../errors.ts";

/** Error codes of Fastify, the Fastify plugins we use and node, and the table code each is answered with. */
export const FRAMEWORK_ERRORS: Readonly<Record<string, ErrorCode>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: "BODY_TOO_LARGE",
  FST_ERR_CTP_INVALID_MEDIA_TYPE: "UNSUPPORTED_MEDIA_TYPE",
  FST_ERR_CTP_INVALID_JSON_BODY: "INVALID_JSON",
  // `Content-Type: application/json` with nothing after it: not JSON either.
  FST_ERR_CTP_EMPTY_JSON_BODY: "INVALID_JSON",
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: "INVALID_INPUT",
  // Routes without our schema error formatter (api/contract.ts throws INVALID_INPUT itself).
  FST_ERR_VALIDATION: "INVALID_INPUT",
  FST_ERR_NOT_FOUND: "NOT_FOUND",
  // @fastify/csrf-protection (the dashboard's forms).
  FST_CSRF_INVALID_TOKEN: "CSRF_INVALID",
  FST_CSRF_MISSING_SECRET: "CSRF_INVALID",
  // node:zlib while decoding a gzip body (http/content-encoding.ts): not gzip after all, or cut short.
  Z_DATA_ERROR: "INVALID_INPUT",
  Z_BUF_ERROR: "INVALID_INPUT",
};

/** Errors node's HTTP parser reports before a request reaches Fastify (http/client-errors.ts). */
export const CLIENT_ERRORS: Readonly<Record<string, ErrorCode>> = {
  ERR_HTTP_REQUEST_TIMEOUT: "REQUEST_TIMEOUT",
  HPE_HEADER_OVERFLOW: "HEADERS_TOO_LARGE",
};

export interface Classified {
  code: ErrorCode;
  description: string;
  /** Unexpected, so worth an error log line (the answer never says more than the table); a JoeError was raised on purpose. */
  log: boolean;
}

export function classifyError(err: unknown, isUnavailable: (err: unknown) => boolean): Classified {
  if (err instanceof JoeError) return { code: err.code, description: err.message, log: false };
  const e = (err ?? {}) as { code?: unknown; statusCode?: unknown };
  const mapped = typeof e.code === "string" && Object.hasOwn(FRAMEWORK_ERRORS, e.code) ? FRAMEWORK_ERRORS[e.code] : undefined;
  if (mapped) return { code: mapped, description: ERRORS[mapped].message, log: false };
  if (isUnavailable(err)) return { code: "STORAGE_UNAVAILABLE", description: ERRORS.STORAGE_UNAVAILABLE.message, log: true };
  // A client error whose code is not in the map above (a plugin's own): still the client's
  // doing, so 400 rather than a 500 that would make Telegram deliver it again forever.
  if (typeof e.statusCode === "number" && e.statusCode >= 400 && e.statusCode < 500) {
    return { code: "INVALID_INPUT", description: ERRORS.INVALID_INPUT.message, log: false };
  }
  return { code: "INTERNAL", description: ERRORS.INTERNAL.message, log: true };
}

/** Answer `code` with its status and errorBody(); `description` defaults to the table's message. */
export function sendError(reply: FastifyReply, code: ErrorCode, description?: string): FastifyReply {
  return reply.status(ERRORS[code].status).send(errorBody(code, description));
}
