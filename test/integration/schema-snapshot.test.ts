// The schema the migrations build, per dialect, is the one checked in under test/schema/: a
// migration's effect on the schema is then visible in review as a change to that file. After a
// deliberate change, `npm run schema:dump` rewrites the files (with TEST_DATABASE_URL, or the
// local default, for PostgreSQL).
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { dbTargets } from "../support/databases.ts";
import { lineDiff, migratedSchema, snapshotFile, UPDATE_COMMAND } from "../support/schema-snapshot.ts";

for (const target of dbTargets()) {
  describe(`schema snapshot (${target.name})`, () => {
    test("a fresh database migrated to the latest version has the checked-in schema", async () => {
      const file = snapshotFile(target.name);
      const expected = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
      const actual = await migratedSchema(target);
      if (actual !== expected) {
        assert.fail(
          `the ${target.name} schema differs from ${file} (- checked in, + migrated):\n` +
            `${lineDiff(expected, actual)}\n\nIf the change is intended, run \`${UPDATE_COMMAND}\` and commit the file.`,
        );
      }
    });
  });
}
