// CLI output: human-readable by default, one JSON object (or array) on stdout with --json.
// Errors go to stderr (or stdout as JSON) and never carry a secret.
import { JoeError, ERRORS, errorBody, type ErrorCode } from "../errors.ts";
import { ConfigError } from "../config.ts";
import { scrub } from "../log.ts";

export interface OutputOptions {
  json?: boolean;
}

export function print(opts: OutputOptions, data: unknown, human: () => string): void {
  process.stdout.write(opts.json ? JSON.stringify(data, null, 2) + "\n" : human() + "\n");
}

export function printError(opts: OutputOptions, err: unknown): number {
  let code: ErrorCode = "INTERNAL";
  let description: string;
  if (err instanceof JoeError) {
    code = err.code;
    description = err.message;
  } else if (err instanceof ConfigError) {
    code = "CONFIG";
    description = err.message;
  } else {
    description = `${ERRORS.INTERNAL.message}: ${scrub((err as Error)?.message ?? String(err))}`;
  }
  if (opts.json) process.stdout.write(JSON.stringify(errorBody(code, description)) + "\n");
  else process.stderr.write(`error: ${description}\n`);
  return 1;
}

/** Align "label: value" rows. */
export function table(rows: Array<[string, unknown]>): string {
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `  ${k.padEnd(w)}  ${v === null || v === undefined ? "-" : String(v)}`).join("\n");
}
