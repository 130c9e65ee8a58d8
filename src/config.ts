// Configuration: read once from the environment and validated with zod, so a bad value fails
// at start-up with a message naming the variable (never its value, which may be a secret).
import { z } from "zod";
import path from "node:path";

const schema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().default("0.0.0.0"),
  DATA_DIR: z.string().default("./data"),
  DATABASE_URL: z.string().optional(),
  FERNET_KEYS: z.string().optional(),
  PUBLIC_URL: z.string().url().optional(),
  TELEGRAM_API_ROOT: z.string().url().default("https://api.telegram.org"),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  NODE_ENV: z.string().optional(),
  /** How long an old webhook secret keeps working after `plugin rotate-secret` (seconds). */
  SECRET_GRACE_SECONDS: z.coerce.number().int().min(0).default(600),
  /** Polling mode (src/polling/): getUpdates' timeout, the poller lease, how long a 409 is left alone. */
  POLL_TIMEOUT_SECONDS: z.coerce.number().int().min(0).max(50).default(50),
  POLL_LEASE_SECONDS: z.coerce.number().int().min(2).default(30),
  POLL_CONFLICT_BACKOFF_SECONDS: z.coerce.number().int().min(1).default(600),
});

export type Config = z.infer<typeof schema> & { databaseUrl: string; production: boolean };

export class ConfigError extends Error {}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const names = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new ConfigError(`invalid configuration (${names})`);
  }
  const c = parsed.data;
  const databaseUrl = c.DATABASE_URL ?? `sqlite:${path.join(c.DATA_DIR, "joe-telegram.sqlite")}`;
  return { ...c, databaseUrl, production: c.NODE_ENV === "production" };
}
