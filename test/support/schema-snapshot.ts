// The checked-in schema snapshots (test/schema/<dialect>.sql): where they live, how a fresh
// database's schema is read for them, and a line diff to show how the two differ. Used by
// test/integration/schema-snapshot.test.ts and scripts/dump-schema.ts.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { openStore } from "../../src/db/connect.ts";
import { migrate } from "../../src/db/migrations.ts";
import { dumpSchema } from "../../src/db/schema-dump.ts";
import type { DbTarget } from "./databases.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export const UPDATE_COMMAND = "npm run schema:dump";

export function snapshotFile(dialect: DbTarget["name"]): string {
  return path.join(root, "test", "schema", `${dialect}.sql`);
}

/** The schema of a database of its own, freshly created and migrated, then dropped. */
export async function migratedSchema(target: DbTarget): Promise<string> {
  const database = await target.create();
  try {
    const store = await openStore(database.url);
    try {
      await migrate(store.db, store.seam);
      return await dumpSchema(store.db, store.seam.name);
    } finally {
      await store.close();
    }
  } finally {
    await database.drop();
  }
}

/**
 * A unified-style diff of two texts, line by line (`-` expected, `+` actual), with `context`
 * unchanged lines around each change. Longest common subsequence: the texts are a few hundred lines.
 */
export function lineDiff(expected: string, actual: string, context = 3): string {
  const a = expected.split("\n"),
    b = actual.split("\n");
  const n = a.length,
    m = b.length;
  // lcs[i][j]: length of the longest common subsequence of a[i..] and b[j..].
  const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  }
  const ops: { tag: " " | "-" | "+"; line: string; a: number; b: number }[] = [];
  let i = 0,
    j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) ops.push({ tag: " ", line: a[i]!, a: i++, b: j++ });
    // Removals before additions, as diff(1) prints them.
    else if (i < n && (j === m || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) ops.push({ tag: "-", line: a[i]!, a: i++, b: j });
    else ops.push({ tag: "+", line: b[j]!, a: i, b: j++ });
  }
  const out: string[] = [];
  let k = 0;
  while (k < ops.length) {
    if (ops[k]!.tag === " ") {
      k++;
      continue;
    }
    // A hunk: this change and those within 2×context lines of it.
    let start = Math.max(0, k - context),
      end = k;
    while (end < ops.length) {
      let next = end;
      while (next < ops.length && ops[next]!.tag !== " ") next++;
      let gap = next;
      while (gap < ops.length && ops[gap]!.tag === " ") gap++;
      end = next;
      if (gap >= ops.length || gap - next > 2 * context) break;
      end = gap;
    }
    const stop = Math.min(ops.length, end + context);
    out.push(`@@ expected line ${ops[start]!.a + 1}, actual line ${ops[start]!.b + 1} @@`);
    for (let x = start; x < stop; x++) out.push(`${ops[x]!.tag}${ops[x]!.line}`);
    k = stop;
  }
  return out.join("\n");
}
