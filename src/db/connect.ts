// Open the database named by DATABASE_URL: `postgres://…` selects PostgreSQL, anything else
// (`sqlite:path`, a bare path, or nothing) the embedded SQLite file.
import type { Db, DialectSeam } from "./dialect.ts";
import { openSqlite } from "./dialects/sqlite.ts";
import { openPostgres } from "./dialects/postgres.ts";

export interface Store {
  db: Db;
  seam: DialectSeam;
  close: () => Promise<void>;
}

export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//i.test(url);
}

export function openStore(url: string, opts: { poolSize?: number } = {}): Store {
  if (isPostgresUrl(url)) return openPostgres(url, opts.poolSize);
  const file = url.replace(/^sqlite:(\/\/)?/i, "");
  return openSqlite(file);
}

/** A URL safe to print: the password (if any) is removed. */
export function describeUrl(url: string): string {
  return url.replace(/(\/\/[^:/@]+):[^@]*@/, "$1:***@");
}
