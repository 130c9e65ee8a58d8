// Reading tasks back (the CLI's `tasks list`).
import type { Db, DialectSeam } from "../db/dialect.ts";
import type { TaskRow } from "../db/schema.ts";

export interface PublicTask {
  id: number;
  codigo: string;
  usuario_id: number;
  plugin_id: number;
  tipo: string;
  titulo: string;
  estado: string;
  metadatos_extra: Record<string, unknown>;
  created_at: string;
}

export function toPublicTask(r: TaskRow, seam: DialectSeam): PublicTask {
  return {
    id: Number(r.id),
    codigo: r.codigo,
    usuario_id: Number(r.usuario_id),
    plugin_id: Number(r.plugin_id),
    tipo: r.tipo,
    titulo: r.titulo,
    estado: r.estado,
    metadatos_extra: (seam.json.parse(r.metadatos_extra) ?? {}) as Record<string, unknown>,
    created_at: r.created_at,
  };
}

export async function listTasks(db: Db, seam: DialectSeam, f: { pluginId?: number; pendingStt?: boolean; limit?: number } = {}): Promise<PublicTask[]> {
  let q = db
    .selectFrom("tasks")
    .selectAll()
    .orderBy("id", "desc")
    .limit(f.limit ?? 100);
  if (f.pluginId !== undefined) q = q.where("plugin_id", "=", f.pluginId);
  if (f.pendingStt) q = q.where(seam.json.flagIsTrue("metadatos_extra", "pendiente_stt"));
  return (await q.execute()).map((r) => toPublicTask(r, seam));
}
