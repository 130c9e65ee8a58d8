// The API's task list: a user's tasks, newest first, filtered, searched, and paged by an opaque
// cursor that is a keyset on the id (never an offset: a page costs the same at any depth, and
// tasks written meanwhile neither shift nor repeat the pages already read).
import { sql } from "kysely";
import type { Db, DialectSeam } from "../db/dialect.ts";
import { JoeError } from "../errors.ts";
import { toApiTask, type ApiTask } from "./lifecycle.ts";

export interface TaskFilter {
  usuarioId: number;
  estado?: string;
  tipo?: string;
  pluginId?: number;
  pendienteStt?: boolean;
  q?: string;
  cursor?: string;
  limit: number;
}

const CURSOR_PREFIX = "t1.";

export function encodeCursor(lastId: number): string {
  return Buffer.from(`${CURSOR_PREFIX}${lastId}`).toString("base64url");
}

export function decodeCursor(cursor: string): number {
  const s = Buffer.from(cursor, "base64url").toString();
  const m = /^t1\.(\d{1,15})$/.exec(s);
  if (!m) throw new JoeError("INVALID_INPUT", "querystring/cursor is not a cursor this API gave out (use next_cursor as it came)");
  return Number(m[1]);
}

/** `%term%` for LIKE, with the pattern's own wildcards escaped (a search for "50%" finds "50%"). */
function likePattern(q: string): string {
  return `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

export async function listUserTasks(db: Db, seam: DialectSeam, f: TaskFilter): Promise<{ items: ApiTask[]; next_cursor: string | null }> {
  let q = db.selectFrom("tasks").selectAll().where("usuario_id", "=", f.usuarioId);
  if (f.cursor !== undefined) q = q.where("id", "<", decodeCursor(f.cursor));
  if (f.estado !== undefined) q = q.where("estado", "=", f.estado);
  if (f.tipo !== undefined) q = q.where("tipo", "=", f.tipo);
  if (f.pluginId !== undefined) q = q.where("plugin_id", "=", f.pluginId);
  if (f.pendienteStt === true) q = q.where(seam.json.flagIsTrue("metadatos_extra", "pendiente_stt"));
  if (f.pendienteStt === false) q = q.where(sql<boolean>`not coalesce(${seam.json.flagIsTrue("metadatos_extra", "pendiente_stt")}, false)`);
  if (f.q !== undefined) {
    const p = likePattern(f.q);
    // Case-insensitive substring search over the title and the full text. PostgreSQL: ILIKE
    // (Unicode case folding); SQLite: LIKE, whose case folding covers ASCII only.
    const like = seam.search.likeIgnoringCase;
    q = q.where(sql<boolean>`(titulo ${like} ${p} escape '\\' or ${seam.json.text("metadatos_extra", "texto_original")} ${like} ${p} escape '\\')`);
  }
  // One row more than asked tells whether another page exists.
  const rows = await q
    .orderBy("id", "desc")
    .limit(f.limit + 1)
    .execute();
  const page = rows.slice(0, f.limit);
  const next = rows.length > f.limit ? encodeCursor(Number(page[page.length - 1]!.id)) : null;
  return { items: page.map((r) => toApiTask(r, seam)), next_cursor: next };
}
