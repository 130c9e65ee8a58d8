// Request bodies compressed with gzip are decoded before they are parsed; any other encoding is
// refused with 415. The body limit applies to the *decoded* size (Fastify counts what this
// stream yields, and checks Content-Length against the encoded bytes it reports), so a small
// gzip that inflates beyond the limit — a zip bomb — is cut off at the limit and refused with 413.
import zlib from "node:zlib";
import type { Readable } from "node:stream";
import type { FastifyInstance } from "fastify";
import { JoeError } from "../errors.ts";

export function registerContentEncoding(app: FastifyInstance): void {
  app.addHook("preParsing", (req, _reply, payload, done) => {
    const header = req.headers["content-encoding"];
    const encoding = (Array.isArray(header) ? header.join(",") : (header ?? "")).trim().toLowerCase();
    if (encoding === "" || encoding === "identity") return done(null, payload);
    if (encoding !== "gzip" && encoding !== "x-gzip") {
      // Only the name of a standard encoding is echoed back, never arbitrary client bytes.
      const known = /^[a-z0-9-]{1,20}$/.test(encoding) ? ` (got ${encoding})` : "";
      return done(new JoeError("UNSUPPORTED_ENCODING", `only gzip is accepted${known}`));
    }
    const gunzip = zlib.createGunzip() as zlib.Gunzip & { receivedEncodedLength: number };
    gunzip.receivedEncodedLength = 0;
    // Not gzip after all, or truncated: the client's fault (400), not ours (500).
    gunzip.on("error", (err: Error & { statusCode?: number }) => {
      err.statusCode = 400;
    });
    payload.on("data", (chunk: Buffer) => {
      gunzip.receivedEncodedLength += chunk.length;
    });
    payload.on("error", (err) => gunzip.destroy(err));
    payload.pipe(gunzip);
    done(null, gunzip as unknown as Readable & typeof payload);
  });
}
