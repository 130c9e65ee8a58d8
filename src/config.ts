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

export type Config = z.infer<typeof schema> & { databaseUrl: string; production: boolean };

export class ConfigError extends Error {}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const names = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new ConfigError(`invalid configuration (${names})`);
  }
  const c = parsed.data;
  if (c.STT_PROVIDER === "openai" && !c.STT_URL) throw new ConfigError("invalid configuration (STT_URL: required when STT_PROVIDER=openai, e.g. https://api.openai.com/v1)");
  if (c.STT_PROVIDER === "local" && !c.WHISPER_MODEL) throw new ConfigError("invalid configuration (WHISPER_MODEL: required when STT_PROVIDER=local: the path of a ggml whisper model, e.g. from `npx joe-telegram stt fetch-model base`)");
  const databaseUrl = c.DATABASE_URL ?? `sqlite:${path.join(c.DATA_DIR, "joe-telegram.sqlite")}`;
  return { ...c, databaseUrl, production: c.NODE_ENV === "production" };
}
