// What a client gets when its request never reached a route: a request that did not arrive
// within the timeouts (408), or bytes that are not HTTP (400). Answered in the project's error
// format, then the connection is closed.
import type { Socket } from "node:net";
import { STATUS_CODES } from "node:http";
import { ERRORS, errorBody } from "../errors.ts";
import { CLIENT_ERRORS } from "./errors.ts";

export function answerClientError(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === "ECONNRESET" || socket.destroyed) return;
  // Anything else node's parser refuses is bytes that are not HTTP: 400.
  const code = (err.code !== undefined && Object.hasOwn(CLIENT_ERRORS, err.code) ? CLIENT_ERRORS[err.code] : undefined) ?? "INVALID_INPUT";
  const { status } = ERRORS[code];
  const body = JSON.stringify(errorBody(code));
  const reason = STATUS_CODES[status] ?? "Error";
  // The socket may be half-closed by the client already; a failed write is nothing to report.
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
