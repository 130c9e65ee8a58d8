// Configuration: read once from the environment and validated with zod, so a bad value fails
// at start-up with a message naming the variable (never its value, which may be a secret).
import { z } from "zod";
import path from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The package folder (where package.json is; this file is in its src/ or dist/). The default data
 * folder is resolved against it, not against the current folder: a command run from a subfolder
 * must find the same database and key as `npm start`, not silently create a second pair.
 */
export const PROJECT_ROOT = fileURLToPath(new URL("..", import.meta.url));

const schema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().default("0.0.0.0"),
  /** Default: <project root>/data. A relative value is taken from the current folder, like any path typed by hand. */
  DATA_DIR: z.string().optional(),
  DATABASE_URL: z.string().optional(),
  FERNET_KEYS: z.string().optional(),
  PUBLIC_URL: z.string().url().optional(),
  TELEGRAM_API_ROOT: z.string().url().default("https://api.telegram.org"),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  NODE_ENV: z.string().optional(),
  /** How long an old webhook secret keeps working after `plugin rotate-secret` (seconds). */
  SECRET_GRACE_SECONDS: z.coerce.number().int().min(0).default(600),
  /** HTTP timeouts and the shutdown grace period (ms); defaults and reasons in http/timeouts.ts. */
  HTTP_HEADERS_TIMEOUT_MS: z.coerce.number().int().min(1).optional(),
  HTTP_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(1).optional(),
  HTTP_KEEPALIVE_TIMEOUT_MS: z.coerce.number().int().min(1).optional(),
  HTTP_IDLE_TIMEOUT_MS: z.coerce.number().int().min(1).optional(),
  SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).optional(),
  /** How long the outbox waits for the Bot API's answer to a sent message (outbox/policy.ts). */
  SEND_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(600).default(60),
  /** Requests per minute per API token on /api/v1 (429 RATE_LIMITED beyond). */
  API_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(600),
  /** Polling mode (src/polling/): getUpdates' timeout, the poller lease, how long a 409 is left alone. */
  POLL_TIMEOUT_SECONDS: z.coerce.number().int().min(0).max(50).default(50),
  POLL_LEASE_SECONDS: z.coerce.number().int().min(2).default(30),
  POLL_CONFLICT_BACKOFF_SECONDS: z.coerce.number().int().min(1).default(600),
  /** Voice transcription (src/stt/): none (the seed's behaviour), local (whisper.cpp), openai (any compatible API). */
  STT_PROVIDER: z.enum(["none", "local", "openai"]).default("none"),
  /** Base of an OpenAI-compatible API, as OpenAI's SDKs take it: https://api.openai.com/v1 */
  STT_URL: z.string().url().optional(),
  STT_API_KEY: z.string().optional(),
  STT_MODEL: z.string().default("whisper-1"),
  /** Path of a ggml whisper model file (STT_PROVIDER=local). */
  WHISPER_MODEL: z.string().optional(),
  /** whisper.cpp threads per transcription (default: all cores but one, at least 1). */
  WHISPER_THREADS: z.coerce.number().int().min(1).max(64).optional(),
  /** Transcriptions running at once per process. */
  STT_CONCURRENCY: z.coerce.number().int().min(1).max(16).default(1),
  /** Give up a transcription after this many failed attempts. */
  STT_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(5),
  /** First retry after this long, doubling up to an hour. */
  STT_RETRY_BASE_SECONDS: z.coerce.number().min(0.1).max(3600).default(30),
  /** A provider request may take this long plus half a second per second of audio. */
  STT_TIMEOUT_SECONDS: z.coerce.number().min(1).max(3600).default(60),
  /** A job's lease (renewed while it runs); a crashed worker's job is retaken after it. */
  STT_LEASE_SECONDS: z.coerce.number().min(2).max(3600).default(60),
});

/** The names of every variable the configuration reads (test/support strips them from child processes). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(schema.shape);

export type Config = Omit<z.infer<typeof schema>, "DATA_DIR"> & { DATA_DIR: string; databaseUrl: string; production: boolean };

export class ConfigError extends Error {}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const names = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new ConfigError(`invalid configuration (${names})`);
  }
  const c = parsed.data;
  if (c.STT_URL && /^[a-z]+:\/\/[^/]*@/i.test(c.STT_URL))
    throw new ConfigError("invalid configuration (STT_URL: put no user or password in the URL; give the key in STT_API_KEY)");
  if (c.STT_PROVIDER === "openai" && !c.STT_URL)
    throw new ConfigError("invalid configuration (STT_URL: required when STT_PROVIDER=openai, e.g. https://api.openai.com/v1)");
  if (c.STT_PROVIDER === "local" && !c.WHISPER_MODEL)
    throw new ConfigError(
      "invalid configuration (WHISPER_MODEL: required when STT_PROVIDER=local: the path of a ggml whisper model, e.g. from `npx joe-telegram stt fetch-model base`)",
    );
  const dataDir = path.resolve(c.DATA_DIR ?? path.join(PROJECT_ROOT, "data"));
  const databaseUrl = c.DATABASE_URL ?? `sqlite:${path.join(dataDir, "joe-telegram.sqlite")}`;
  return { ...c, DATA_DIR: dataDir, databaseUrl, production: c.NODE_ENV === "production" };
}
