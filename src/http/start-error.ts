// A server that could not start says why in words an operator can act on.
import { JoeError } from "../errors.ts";

export function startError(err: unknown, where: { PORT: number; HOST: string }): unknown {
  const code = (err as { code?: string })?.code;
  if (code === "EADDRINUSE") {
    return new JoeError(
      "PORT_IN_USE",
      `port ${where.PORT} on ${where.HOST} is taken by another process (EADDRINUSE); stop it, or choose another port with PORT=<port> or --port <port>`,
    );
  }
  if (code === "EACCES") {
    return new JoeError(
      "PORT_IN_USE",
      `not allowed to listen on port ${where.PORT} on ${where.HOST} (EACCES); choose a port above 1023 with PORT=<port> or --port <port>`,
    );
  }
  return err;
}
