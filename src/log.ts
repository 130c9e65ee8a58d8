// One pino logger for the whole service. Secrets are redacted by key name at every level, and
// the Bot API URL (which carries the token as /bot<TOKEN>/) is never logged by our code.
import { pino, destination, type Logger } from "pino";

export type { Logger };

export const REDACT_PATHS = [
  "token",
  "*.token",
  "bot_token",
  "*.bot_token",
  "token_cifrado",
  "*.token_cifrado",
  "secret",
  "*.secret",
  "webhook_secret",
  "*.webhook_secret",
  "*.*.webhook_secret",
  "secret_token",
  "*.secret_token",
  "key",
  "*.key",
  "keys",
  "*.keys",
  "FERNET_KEYS",
  "*.FERNET_KEYS",
  'req.headers["x-telegram-bot-api-secret-token"]',
  'headers["x-telegram-bot-api-secret-token"]',
];

const TOKEN_RE = /\d{5,}:[A-Za-z0-9_-]{20,}/g;

/** Scrub anything shaped like a bot token from free text (error messages from libraries). */
export function scrub(text: string): string {
  return text.replace(TOKEN_RE, "<bot-token>").replace(/\/bot[^/\s]+\//g, "/bot<redacted>/");
}

export function createLogger(level: string, dest?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      redact: { paths: REDACT_PATHS, censor: "[redacted]" },
      base: undefined,
      formatters: { level: (label) => ({ level: label }) },
      serializers: {
        err: (e: unknown) => {
          const err = e as { name?: string; message?: string; code?: unknown };
          return { type: err?.name, message: scrub(String(err?.message ?? e)), code: err?.code };
        },
      },
    },
    dest ?? destination({ dest: 2, sync: false }),
  );
}
