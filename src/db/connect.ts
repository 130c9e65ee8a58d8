// Open the database named by DATABASE_URL: `postgres://…` selects PostgreSQL, anything else
// (`sqlite:path`, a bare path, or nothing) the embedded SQLite file.
import type { Db, DialectSeam } from "./dialect.ts";

export interface Store {
  db: Db;
  seam: DialectSeam;
  close: () => Promise<void>;
}

export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//i.test(url);
}

/** Only the selected driver is loaded (the other would cost memory for nothing: bench/NOTES.md). */
export async function openStore(url: string, opts: { poolSize?: number } = {}): Promise<Store> {
  if (isPostgresUrl(url)) return (await import("./dialects/postgres/index.ts")).openPostgres(url, opts.poolSize);
  const file = url.replace(/^sqlite:(\/\/)?/i, "");
  return (await import("./dialects/sqlite/index.ts")).openSqlite(file);
}

/** A URL safe to print: the password (if any) is removed. */
export function describeUrl(url: string): string {
  return url.replace(/(\/\/[^:/@]+):[^@]*@/, "$1:***@");
}
