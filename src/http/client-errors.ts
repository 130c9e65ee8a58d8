// What a client gets when its request never reached a route: a request that did not arrive
// within the timeouts (408), or bytes that are not HTTP (400). Answered in the project's error
// format, then the connection is closed.
import type { Socket } from "node:net";
import { STATUS_CODES } from "node:http";
import { ERRORS, type ErrorCode } from "../errors.ts";

export function answerClientError(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === "ECONNRESET" || socket.destroyed) return;
  const code: ErrorCode = err.code === "ERR_HTTP_REQUEST_TIMEOUT" ? "REQUEST_TIMEOUT"
    : err.code === "HPE_HEADER_OVERFLOW" ? "HEADERS_TOO_LARGE" : "INVALID_INPUT";
  const { status, message } = ERRORS[code];
  const body = JSON.stringify({ ok: false, error_code: code, description: message });
  const reason = STATUS_CODES[status] ?? "Error";
  // The socket may be half-closed by the client already; a failed write is nothing to report.
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}
