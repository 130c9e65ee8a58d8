// Helpers for the feed's tests: an API client with a bearer token, an SSE client that parses the
// stream as a browser's EventSource would, and a subscriber: a real HTTP server on loopback that
// records every delivery (headers and raw body) and can be told to fail or to hang.
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export async function apiGet<T = any>(
  baseUrl: string,
  token: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: T }> {
  const r = await fetch(`${baseUrl}/api/v1${path}`, { headers: { authorization: `Bearer ${token}`, ...headers } });
  return { status: r.status, body: (await r.json()) as T };
}

export async function apiSend<T = any>(baseUrl: string, token: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const r = await fetch(`${baseUrl}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, body: (text ? JSON.parse(text) : null) as T };
}

export interface SseMessage {
  id?: string;
  event?: string;
  data: string;
}

export interface SseClient {
  status: Promise<number>;
  messages: SseMessage[];
  comments: string[];
  /** Resolves when the server ended the stream. */
  ended: Promise<void>;
  close(): void;
}

export function openSse(url: string, token: string, headers: Record<string, string> = {}): SseClient {
  const messages: SseMessage[] = [];
  const comments: string[] = [];
  let resolveStatus!: (n: number) => void;
  let resolveEnded!: () => void;
  const status = new Promise<number>((r) => (resolveStatus = r));
  const ended = new Promise<void>((r) => (resolveEnded = r));
  const req = http.get(url, { headers: { authorization: `Bearer ${token}`, accept: "text/event-stream", ...headers }, agent: false }, (res) => {
    resolveStatus(res.statusCode ?? 0);
    res.setEncoding("utf8");
    let buf = "";
    res.on("data", (d: string) => {
      buf += d;
      for (let i = buf.indexOf("\n\n"); i >= 0; i = buf.indexOf("\n\n")) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const m: SseMessage = { data: "" };
        let isData = false;
        for (const line of block.split("\n")) {
          if (line.startsWith(":")) comments.push(line.slice(1).trim());
          else if (line.startsWith("id: ")) m.id = line.slice(4);
          else if (line.startsWith("event: ")) m.event = line.slice(7);
          else if (line.startsWith("data: ")) {
            m.data += line.slice(6);
            isData = true;
          }
        }
        if (isData) messages.push(m);
      }
    });
    res.on("end", () => resolveEnded());
    res.on("close", () => resolveEnded());
  });
  req.on("error", () => {
    resolveStatus(0);
    resolveEnded();
  });
  return { status, messages, comments, ended, close: () => req.destroy() };
}

export interface Delivery {
  headers: Record<string, string>;
  body: string;
  at: number;
}

export interface Subscriber {
  url: string;
  deliveries: Delivery[];
  /** What to answer: a status code, or "hang" (never answer until closed). */
  mode: number | "hang";
  /** Requests received, answered or not. */
  received: number;
  close(): Promise<void>;
}

export async function startSubscriber(mode: number | "hang" = 200): Promise<Subscriber> {
  const hanging = new Set<ServerResponse>();
  const sub: Subscriber = { url: "", deliveries: [], mode, received: 0, close: async () => {} };
  const server = http.createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      sub.received++;
      const current = sub.mode;
      if (current === "hang") {
        hanging.add(res);
        return;
      }
      if (current >= 200 && current < 300) {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers[k] = v;
        sub.deliveries.push({ headers, body: Buffer.concat(chunks).toString("utf8"), at: Date.now() });
      }
      res.writeHead(current).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  sub.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  sub.close = async () => {
    for (const res of hanging) res.destroy();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  };
  return sub;
}
