// Raw TCP clients for the timeout and shutdown tests: a connection that never sends a byte, a
// request whose body trickles in, a request held between its headers and its body. Each one
// records everything the server wrote back and when the server closed the connection.
import net from "node:net";

export interface RawClient {
  socket: net.Socket;
  /** Everything received so far. */
  received(): string;
  readonly closed: boolean;
  /** Resolves when the connection is closed (by either side). */
  readonly whenClosed: Promise<void>;
  /** Resolves once `text` has been received. */
  waitFor(text: string, timeoutMs?: number): Promise<void>;
  stop(): void;
}

export async function rawConnect(port: number): Promise<RawClient> {
  const socket = net.connect({ port, host: "127.0.0.1" });
  socket.on("error", () => {}); // a reset by the server is an outcome, not a failure
  let data = "";
  let closed = false;
  let trickle: NodeJS.Timeout | undefined;
  socket.setEncoding("utf8").on("data", (d: string) => {
    data += d;
  });
  const whenClosed = new Promise<void>((r) =>
    socket.once("close", () => {
      closed = true;
      clearInterval(trickle);
      r();
    }),
  );
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  const client: RawClient & { trickle(bytes: string, everyMs: number): void } = {
    socket,
    whenClosed,
    received: () => data,
    get closed() {
      return closed;
    },
    async waitFor(text, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (!data.includes(text)) {
        if (Date.now() > deadline) throw new Error(`raw client: "${text}" not received within ${timeoutMs} ms (got ${JSON.stringify(data)})`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    stop() {
      clearInterval(trickle);
      socket.destroy();
    },
    trickle(bytes, everyMs) {
      let i = 0;
      trickle = setInterval(() => {
        if (closed || socket.destroyed) return clearInterval(trickle);
        socket.write(bytes[i % bytes.length]!);
        i++;
      }, everyMs);
    },
  };
  return client;
}

/** A POST whose headers arrive at once and whose body then comes one byte every `everyMs`. */
export async function slowBody(port: number, path: string, everyMs = 200): Promise<RawClient> {
  const c = (await rawConnect(port)) as RawClient & { trickle(bytes: string, everyMs: number): void };
  c.socket.write(
    `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nX-Telegram-Bot-Api-Secret-Token: wrong\r\nContent-Length: 100000\r\n\r\n{"update_id":`,
  );
  c.trickle("1", everyMs);
  return c;
}

/** Headers that come one byte every `everyMs` (never finished). */
export async function slowHeaders(port: number, everyMs = 200): Promise<RawClient> {
  const c = (await rawConnect(port)) as RawClient & { trickle(bytes: string, everyMs: number): void };
  c.socket.write("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n");
  c.trickle("X-Slow: aaaaaaaaaa", everyMs);
  return c;
}
