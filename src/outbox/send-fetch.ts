// The HTTP client under the sender's grammY `Api` (grammY takes a `fetch`). It exists for one
// thing node-fetch cannot tell us: whether the request had been handed to the network when it
// failed. Before that (connection refused, DNS, TLS, a reset while connecting, a connect that never
// completes) Telegram surely did not get the message and it may be sent again; after it (no answer
// in time, a reset while waiting) Telegram may have delivered it: the outcome is unknown, and
// sending again could show the chat the same confirmation twice (outbox/policy.ts decides).
import http from "node:http";
import https from "node:https";
import { Api, type ApiClientOptions } from "grammy";

/** A send that failed without an HTTP answer, saying whether the request had left this process. */
export class SendAttemptError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly requestSent: boolean,
  ) {
    super(message);
    this.name = "SendAttemptError";
  }
}

export interface SendFetchOptions {
  /** Wait this long for the answer once the request is sent (Telegram answers well within 60 s). */
  timeoutMs: number;
  /** Wait this long for the connection and for handing over the request (nothing sent yet). */
  connectTimeoutMs?: number;
}

// Keep-alive so a busy sender does not pay a handshake per message. Idle sockets are closed by us
// after 4 s, long before any server drops them: a request written to a socket the server is
// closing would be reset after it left, an unknown outcome that is only a race of our making.
const agentOptions = { keepAlive: true, maxSockets: 64, timeout: 4000 };
const httpAgent = new http.Agent(agentOptions);
const httpsAgent = new https.Agent(agentOptions);

interface FetchInit {
  method?: string;
  headers?: Record<string, string>;
  body?: unknown;
  signal?: { aborted: boolean; addEventListener(type: "abort", fn: () => void): void; removeEventListener(type: "abort", fn: () => void): void };
}

export interface SendResponse {
  status: number;
  json(): Promise<unknown>;
}

export function createSendFetch(o: SendFetchOptions): (input: unknown, init?: FetchInit) => Promise<SendResponse> {
  const connectTimeoutMs = o.connectTimeoutMs ?? Math.min(10_000, o.timeoutMs);
  return (input, init = {}) =>
    new Promise<SendResponse>((resolve, reject) => {
      if (typeof init.body !== "string") {
        // The sender only sends JSON; grammY streams multipart (file uploads) through other methods.
        reject(new SendAttemptError("only JSON bodies are supported", "EUNSUPPORTED", false));
        return;
      }
      const body = init.body;
      const url = new URL(String(input));
      const tls = url.protocol === "https:";
      let sent = false;
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const req = (tls ? https : http).request(url, {
        method: init.method ?? "POST",
        headers: { ...init.headers, "content-length": String(Buffer.byteLength(body)) },
        agent: tls ? httpsAgent : httpAgent,
      });
      const onAbort = () => fail("EABORTED", "request aborted");
      const cleanup = () => {
        settled = true;
        if (timer) clearTimeout(timer);
        init.signal?.removeEventListener("abort", onAbort);
      };
      function fail(code: string, message: string): void {
        if (settled) return;
        cleanup();
        req.destroy();
        // The message never names the URL: it holds the bot token.
        reject(new SendAttemptError(message, code, sent));
      }
      const arm = (ms: number, what: string) => {
        if (timer) clearTimeout(timer);
        timer = setTimeout(() => fail("ETIMEDOUT", `${what} within ${ms} ms`), ms);
      };
      arm(connectTimeoutMs, "could not connect and send");
      // 'finish': the whole request was handed to the operating system. From here on Telegram may
      // have it; the answer gets the long timeout.
      req.on("finish", () => {
        sent = true;
        if (!settled) arm(o.timeoutMs, "no answer");
      });
      req.on("error", (err: NodeJS.ErrnoException) => fail(err.code ?? "EUNKNOWN", err.code ?? "request failed"));
      req.on("response", (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", (err: NodeJS.ErrnoException) => fail(err.code ?? "EUNKNOWN", "answer interrupted"));
        res.on("aborted", () => fail("ECONNRESET", "answer interrupted"));
        res.on("end", () => {
          if (settled) return;
          cleanup();
          const text = Buffer.concat(chunks).toString("utf8");
          resolve({ status: res.statusCode ?? 0, json: async () => JSON.parse(text) as unknown });
        });
      });
      if (init.signal?.aborted) return onAbort();
      init.signal?.addEventListener("abort", onAbort);
      req.end(body);
    });
}

/** A grammY `Api` for one bot whose failures say whether the request was sent (see above). */
export function createSendApi(token: string, apiRoot: string, timeoutMs: number): Api {
  return new Api(token, {
    apiRoot,
    fetch: createSendFetch({ timeoutMs }) as unknown as ApiClientOptions["fetch"],
    // grammY's own timeout is only a backstop: ours ends the request first and knows whether it left.
    timeoutSeconds: Math.ceil(timeoutMs / 1000) + 30,
  });
}
