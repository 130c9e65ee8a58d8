// npm run schema:dump — rewrite the checked-in schema snapshots (test/schema/sqlite.sql and
// postgres.sql) from fresh databases migrated to the latest version. PostgreSQL is reached
// through TEST_DATABASE_URL (a scratch database is created there and dropped), by default
// postgres://postgres@127.0.0.1:5432/test. Commit the files with the migration that changed them.
import fs from "node:fs";

// databases.ts reads TEST_DATABASE_URL when it is loaded: set the default first.
process.env.TEST_DATABASE_URL ||= "postgres://postgres@127.0.0.1:5432/test";
const { dbTargets } = await import("../test/support/databases.ts");
const { migratedSchema, snapshotFile } = await import("../test/support/schema-snapshot.ts");

let failed = false;
for (const target of dbTargets()) {
  const file = snapshotFile(target.name);
  try {
    const text = await migratedSchema(target);
    const before = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : null;
    fs.writeFileSync(file, text);
    process.stdout.write(`${target.name}: ${before === text ? "unchanged" : "written"} ${file}\n`);
  } catch (err) {
    failed = true;
    process.stderr.write(`${target.name}: could not dump the schema: ${(err as Error).message}\n`);
  }
}
process.exitCode = failed ? 1 : 0;
