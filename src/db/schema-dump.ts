// A readable, deterministic text of the schema the migrations built: checked in per dialect
// (test/schema/*.sql, written by `npm run schema:dump`) and compared by a test, so the effect of a
// migration shows in review as a diff. Sorted throughout; nothing that varies between runs (OIDs,
// sequence positions, timestamps) is printed. Kysely's own bookkeeping tables are left out; the
// names of the applied migrations head the text instead.
import { sql, type Kysely } from "kysely";

const KYSELY_TABLES = ["kysely_migration", "kysely_migration_lock"];

// biome-ignore lint/suspicious/noExplicitAny: a dump reads whatever tables the database has, not the typed schema
export async function dumpSchema(db: Kysely<any>, dialect: "sqlite" | "postgres"): Promise<string> {
  const migrations = (await sql<{ name: string }>`select name from kysely_migration order by name`.execute(db)).rows;
  const head = [`-- ${dialect} schema after the migrations (npm run schema:dump writes this file)`, ...migrations.map((m) => `-- migration ${m.name}`)].join(
    "\n",
  );
  const body = dialect === "sqlite" ? await dumpSqlite(db) : await dumpPostgres(db);
  return `${head}\n\n${body.join("\n\n")}\n`;
}

// --- SQLite: the statements sqlite_master keeps, whitespace normalised ------------------------

const SQLITE_KIND_ORDER: Record<string, number> = { table: 0, view: 1, index: 2, trigger: 3 };

// biome-ignore lint/suspicious/noExplicitAny: a dump reads whatever tables the database has, not the typed schema
async function dumpSqlite(db: Kysely<any>): Promise<string[]> {
  // Entries without SQL are the indexes SQLite makes for a table's own PRIMARY KEY/UNIQUE
  // constraints (sqlite_autoindex_*): already visible in the table's statement.
  const rows = (
    await sql<{ type: string; name: string; sql: string }>`
    select type, name, sql from sqlite_master
    where sql is not null and substr(name, 1, 7) <> 'sqlite_'`.execute(db)
  ).rows.filter((r) => !KYSELY_TABLES.includes(r.name));
  rows.sort((a, b) => (SQLITE_KIND_ORDER[a.type] ?? 9) - (SQLITE_KIND_ORDER[b.type] ?? 9) || cmp(a.name, b.name));
  return rows.map((r) => {
    const text = normaliseWhitespace(r.sql);
    return `${r.type === "table" ? splitTableBody(text) : text};`;
  });
}

function normaliseWhitespace(s: string): string {
  return s.replace(/\s+/g, " ").replace(/\( /g, "(").replace(/ \)/g, ")").trim();
}

/** One column or table constraint per line: the top-level commas of `create table x (…)`. */
function splitTableBody(stmt: string): string {
  const open = stmt.indexOf("(");
  if (open < 0) return stmt;
  const parts: string[] = [];
  let depth = 0,
    quote: string | null = null,
    start = open + 1,
    end = -1;
  for (let i = open; i < stmt.length && end < 0; i++) {
    const ch = stmt[i]!;
    if (quote) {
      if (ch === quote) quote = null;
      continue;
    }
    if (ch === "'" || ch === '"' || ch === "`") quote = ch;
    else if (ch === "(") depth++;
    else if (ch === ")") {
      if (--depth === 0) end = i;
    } else if (ch === "," && depth === 1) {
      parts.push(stmt.slice(start, i).trim());
      start = i + 1;
    }
  }
  if (end < 0) return stmt;
  parts.push(stmt.slice(start, end).trim());
  return `${stmt.slice(0, open).trimEnd()} (\n${parts.map((p) => `  ${p}`).join(",\n")}\n)${stmt.slice(end + 1)}`;
}

// --- PostgreSQL: from the catalog, written like the DDL that would build it -------------------

// biome-ignore lint/suspicious/noExplicitAny: a dump reads whatever tables the database has, not the typed schema
async function dumpPostgres(db: Kysely<any>): Promise<string[]> {
  const out: string[] = [];
  // pg_get_indexdef and friends qualify names with the schema ("ON public.tasks"); a test
  // database may live in a schema of its own, so the dump names objects unqualified, as the
  // migrations do.
  const schema = (await sql<{ s: string }>`select quote_ident(current_schema()) as s`.execute(db)).rows[0]!.s;
  const prefix = new RegExp(`(?<![\\w"$])${schema.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\.`, "g");
  const unqualify = (def: string) => def.replace(prefix, "");
  const tables = (
    await sql<{ oid: number; name: string }>`
    select c.oid, quote_ident(c.relname) as name from pg_class c
    where c.relnamespace = current_schema()::regnamespace and c.relkind in ('r', 'p')
      and c.relname <> all(${sql.val(KYSELY_TABLES)}::text[])`.execute(db)
  ).rows;
  tables.sort((a, b) => cmp(a.name, b.name));

  for (const t of tables) {
    // Columns in their physical order (it is what `select *` returns).
    const cols = (
      await sql<{ name: string; type: string; notnull: boolean; def: string | null }>`
      select quote_ident(a.attname) as name, format_type(a.atttypid, a.atttypmod) as type, a.attnotnull as notnull,
        pg_get_expr(d.adbin, d.adrelid) as def
      from pg_attribute a left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
      where a.attrelid = ${t.oid} and a.attnum > 0 and not a.attisdropped
      order by a.attnum`.execute(db)
    ).rows;
    // NOT NULL is shown on its column (PostgreSQL 18 also lists it as a constraint, 'n').
    const cons = (
      await sql<{ name: string; def: string }>`
      select quote_ident(conname) as name, pg_get_constraintdef(oid) as def from pg_constraint
      where conrelid = ${t.oid} and contype <> 'n'`.execute(db)
    ).rows;
    cons.sort((a, b) => cmp(a.name, b.name));
    const lines = [
      ...cols.map((c) => `${c.name} ${c.type}${c.notnull ? " NOT NULL" : ""}${c.def !== null ? ` DEFAULT ${c.def}` : ""}`),
      ...cons.map((c) => `CONSTRAINT ${c.name} ${c.def}`),
    ];
    out.push(`CREATE TABLE ${t.name} (\n${lines.map((l) => `  ${l}`).join(",\n")}\n);`);
  }

  // Indexes of their own (those behind a constraint are shown by the constraint).
  const indexes = (
    await sql<{ name: string; def: string }>`
    select quote_ident(i.relname) as name, pg_get_indexdef(i.oid) as def
    from pg_index x join pg_class i on i.oid = x.indexrelid join pg_class t on t.oid = x.indrelid
    where t.relnamespace = current_schema()::regnamespace
      and t.relname <> all(${sql.val(KYSELY_TABLES)}::text[])
      and not exists (select 1 from pg_constraint c where c.conindid = x.indexrelid)`.execute(db)
  ).rows;
  indexes.sort((a, b) => cmp(a.name, b.name));
  out.push(...indexes.map((i) => `${unqualify(i.def)};`));

  const seqs = (
    await sql<{ name: string; type: string; start: string; inc: string; min: string; max: string; cache: string; cycle: boolean; owner: string | null }>`
    select quote_ident(s.sequencename) as name, s.data_type::text as type, s.start_value::text as start,
      s.increment_by::text as inc, s.min_value::text as min, s.max_value::text as max, s.cache_size::text as cache,
      s.cycle,
      (select quote_ident(t.relname) || '.' || quote_ident(a.attname)
         from pg_depend d join pg_class t on t.oid = d.refobjid
         join pg_attribute a on a.attrelid = d.refobjid and a.attnum = d.refobjsubid
        where d.objid = format('%I.%I', s.schemaname, s.sequencename)::regclass and d.classid = 'pg_class'::regclass
          and d.refclassid = 'pg_class'::regclass and d.deptype in ('a', 'i')) as owner
    from pg_sequences s where s.schemaname = current_schema()`.execute(db)
  ).rows;
  seqs.sort((a, b) => cmp(a.name, b.name));
  out.push(
    ...seqs.map(
      (s) =>
        `CREATE SEQUENCE ${s.name} AS ${s.type} START ${s.start} INCREMENT ${s.inc} MINVALUE ${s.min} MAXVALUE ${s.max} CACHE ${s.cache}${s.cycle ? " CYCLE" : ""}${s.owner ? ` OWNED BY ${s.owner}` : ""};`,
    ),
  );

  const views = (
    await sql<{ name: string; def: string }>`
    select quote_ident(viewname) as name, definition as def from pg_views where schemaname = current_schema()`.execute(db)
  ).rows;
  views.sort((a, b) => cmp(a.name, b.name));
  out.push(...views.map((v) => `CREATE VIEW ${v.name} AS ${normaliseWhitespace(v.def).replace(/;$/, "")};`));

  // Functions (of this schema, not of extensions) and the triggers users wrote (not the internal
  // ones behind foreign keys).
  const functions = (
    await sql<{ sig: string; def: string }>`
    select p.oid::regprocedure::text as sig, pg_get_functiondef(p.oid) as def from pg_proc p
    where p.pronamespace = current_schema()::regnamespace and p.prokind in ('f', 'p')
      and not exists (select 1 from pg_depend d where d.objid = p.oid and d.deptype = 'e')`.execute(db)
  ).rows;
  functions.sort((a, b) => cmp(a.sig, b.sig));
  out.push(...functions.map((f) => `${unqualify(f.def.trim())};`));
  const triggers = (
    await sql<{ name: string; def: string }>`
    select quote_ident(t.relname) || '.' || quote_ident(g.tgname) as name, pg_get_triggerdef(g.oid) as def
    from pg_trigger g join pg_class t on t.oid = g.tgrelid
    where t.relnamespace = current_schema()::regnamespace and not g.tgisinternal`.execute(db)
  ).rows;
  triggers.sort((a, b) => cmp(a.name, b.name));
  out.push(...triggers.map((g) => `${unqualify(g.def)};`));
  return out;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
