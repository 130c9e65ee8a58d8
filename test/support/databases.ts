// The databases the suite runs against: SQLite always; PostgreSQL when TEST_DATABASE_URL names a
// server (CI sets it). Each test gets a database of its own, dropped afterwards.
import path from "node:path";
import pg from "pg";
import { removeDir, tempDir } from "./temp-dir.ts";

export interface TestDatabase {
  url: string;
  dataDir: string;
  drop(): Promise<void>;
}

export interface DbTarget {
  name: "sqlite" | "postgres";
  create(): Promise<TestDatabase>;
}

export const PG_URL = process.env.TEST_DATABASE_URL;
let printedSkip = false;

const sqlite: DbTarget = {
  name: "sqlite",
  async create() {
    const dataDir = tempDir("tg-test");
    return { url: `sqlite:${path.join(dataDir, "joe.sqlite")}`, dataDir, drop: async () => removeDir(dataDir) };
  },
};

let counter = 0;
const postgres: DbTarget = {
  name: "postgres",
  async create() {
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    const name = `joe_t_${process.pid}_${Date.now().toString(36)}_${counter++}`;
    await admin.query(`create database ${name}`);
    await admin.end();
    const u = new URL(PG_URL!);
    u.pathname = `/${name}`;
    const dataDir = tempDir("tg-test");
    return {
      url: u.toString(),
      dataDir,
      async drop() {
        removeDir(dataDir);
        const c = new pg.Client({ connectionString: PG_URL });
        await c.connect();
        await c.query(`drop database if exists ${name} with (force)`);
        await c.end();
      },
    };
  },
};

/** SQLite, plus PostgreSQL when TEST_DATABASE_URL is set (one line says how to enable it otherwise). */
export function dbTargets(): DbTarget[] {
  if (PG_URL) return [sqlite, postgres];
  if (!printedSkip) {
    printedSkip = true;
    process.stdout.write("# PostgreSQL tests skipped: set TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test to run them\n");
  }
  return [sqlite];
}
