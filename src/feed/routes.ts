// GET /api/v1/events (cursor + long-poll) and GET /api/v1/events/stream (Server-Sent Events), for
// the token's user only, in commit order. Both read the events table (read.ts) and sleep on the
// process's FeedNotifier between reads.
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type {} from "@fastify/swagger"; // route schemas carry OpenAPI fields (summary)
import type { Db, DialectSeam } from "../db/dialect.ts";
import type { Logger } from "../log.ts";
import { JoeError } from "../errors.ts";
import { parseCursor, formatCursor, type FeedPosition } from "./cursor.ts";
import { readEvents, type PositionedItem } from "./read.ts";
import { readWhenReady, type FeedNotifier } from "./notifier.ts";
import { parseTypes, feedItemSchema } from "./query.ts";

export interface FeedDeps {
  db: Db;
  seam: DialectSeam;
  logger: Logger;
  feed: FeedNotifier;
}

export const MAX_WAIT_S = 30;
const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 500;
/** SSE comment sent when nothing happened for this long (keeps proxies from closing the stream). */
export const HEARTBEAT_MS = Number(process.env.JOE_SSE_HEARTBEAT_MS ?? 15_000);

interface EventsQuery {
  after?: string;
  wait?: number;
  types?: string;
  limit?: number;
}

const querySchema = {
  type: "object",
  properties: {
    after: { type: "string", maxLength: 64, description: "a next_cursor (or SSE id) from an earlier answer; none = from the beginning" },
    wait: { type: "integer", minimum: 0, maximum: MAX_WAIT_S, description: "seconds to wait for an event when there is none (long-poll)" },
    types: { type: "string", maxLength: 200, description: "comma-separated event types (default: all)" },
    limit: { type: "integer", minimum: 1, maximum: MAX_LIMIT },
  },
} as const;

/** Fastify validated the request against the schema: answer 400 saying which field, as every input error. */
export function rejectInvalid(req: FastifyRequest): void {
  if (req.validationError) throw new JoeError("INVALID_INPUT", req.validationError.message);
}

export function registerFeedRoutes(scope: FastifyInstance, deps: FeedDeps): void {
  const streams = new Set<() => void>();
  // A graceful shutdown ends the streams first (app.close() waits for open requests).
  scope.addHook("preClose", async () => {
    for (const end of [...streams]) end();
  });

  scope.get<{ Querystring: EventsQuery }>(
    "/events",
    {
      attachValidation: true,
      schema: {
        summary: "The user's events after a cursor, in commit order (long-poll with wait)",
        querystring: querySchema,
        response: {
          200: {
            type: "object",
            required: ["items", "next_cursor"],
            properties: { items: { type: "array", items: feedItemSchema }, next_cursor: { type: "string" } },
          },
        },
      },
    },
    async (req) => {
      rejectInvalid(req);
      const after = parseCursor(deps.seam, req.query.after);
      const types = parseTypes(req.query.types);
      const limit = req.query.limit ?? DEFAULT_LIMIT;
      const usuarioId = req.principal!.usuarioId;
      const gone = new AbortController();
      req.raw.once("close", () => gone.abort());
      const read = () => readEvents(deps.db, deps.seam, { usuarioId, after, types, limit });
      const items = await readWhenReady(deps.feed, read, (req.query.wait ?? 0) * 1000, gone.signal);
      return { items: items.map((i) => i.item), next_cursor: items.length > 0 ? items[items.length - 1]!.cursor : formatCursor(deps.seam, after) };
    },
  );

  scope.get<{ Querystring: Omit<EventsQuery, "wait"> }>(
    "/events/stream",
    {
      attachValidation: true,
      schema: {
        summary: "The same events as Server-Sent Events (id: cursor, event: type, data: the event JSON); resumes from Last-Event-ID",
        querystring: { type: "object", properties: { after: querySchema.properties.after, types: querySchema.properties.types } },
        headers: { type: "object", properties: { "last-event-id": { type: "string", maxLength: 64 } } },
      },
    },
    async (req, reply) => stream(req, reply, deps, streams),
  );
}

async function stream(
  req: FastifyRequest<{ Querystring: Omit<EventsQuery, "wait"> }>,
  reply: FastifyReply,
  deps: FeedDeps,
  streams: Set<() => void>,
): Promise<void> {
  rejectInvalid(req);
  const header = req.headers["last-event-id"];
  // Last-Event-ID (the browser's reconnect) wins over ?after= (the first connect).
  let position: FeedPosition = parseCursor(deps.seam, typeof header === "string" && header !== "" ? header : req.query.after, "Last-Event-ID / after");
  const types = parseTypes(req.query.types);
  const usuarioId = req.principal!.usuarioId;

  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", connection: "keep-alive", "x-accel-buffering": "no" });
  res.write("retry: 1000\n\n");
  const gone = new AbortController();
  const end = () => gone.abort();
  streams.add(end);
  req.raw.once("close", end);
  res.once("close", end);
  try {
    while (!gone.signal.aborted) {
      const items: PositionedItem[] = await readWhenReady(
        deps.feed,
        () => readEvents(deps.db, deps.seam, { usuarioId, after: position, types, limit: DEFAULT_LIMIT }),
        HEARTBEAT_MS,
        gone.signal,
      );
      if (gone.signal.aborted) break;
      if (items.length === 0) {
        res.write(": heartbeat\n\n");
        continue;
      }
      let chunk = "";
      for (const it of items) chunk += `id: ${it.cursor}\nevent: ${it.item.type}\ndata: ${JSON.stringify(it.item)}\n\n`;
      position = items[items.length - 1]!.position;
      // Respect back-pressure: a slow client holds its own stream, nobody else's.
      if (!res.write(chunk))
        await new Promise<void>((r) => {
          res.once("drain", r);
          gone.signal.addEventListener("abort", () => r(), { once: true });
        });
    }
  } catch (err) {
    // Database unavailable or similar: end the stream; the client reconnects with Last-Event-ID.
    deps.logger.warn({ err: (err as Error).message }, "feed: SSE stream ended by an error");
  } finally {
    streams.delete(end);
    res.end();
  }
}
