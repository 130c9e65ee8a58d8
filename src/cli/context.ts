// What a CLI command needs: the runtime (database migrated, keys loaded), opened once, closed after.
import { openRuntime, type Runtime } from "../runtime.ts";
import { loadConfig } from "../config.ts";
import { createLogger } from "../log.ts";
import { JoeError } from "../errors.ts";
import { printError, type OutputOptions } from "./output.ts";

/** Run a command with an open runtime; exit code 1 with a clear message on any error. */
export async function withRuntime(opts: OutputOptions, fn: (rt: Runtime) => Promise<void>): Promise<void> {
  let rt: Runtime | undefined;
  try {
    const config = loadConfig();
    // Commands log only warnings (to stderr), so stdout stays clean for --json.
    rt = await openRuntime({ config, logger: createLogger(config.LOG_LEVEL === "info" ? "warn" : config.LOG_LEVEL) });
    await fn(rt);
  } catch (err) {
    process.exitCode = printError(opts, err);
  } finally {
    await rt?.close().catch(() => {});
  }
}

export function parseId(value: string, what = "id"): number {
  if (!/^\d{1,15}$/.test(value)) throw new JoeError("INVALID_INPUT", `${what} must be a number`);
  return Number(value);
}
