// Reading a plugin row into the shape the decision function takes, and its metadatos.
import type { PluginRow } from "../db/schema.ts";
import type { DialectSeam } from "../db/dialect.ts";
import type { PluginState } from "../webhook/decide.ts";

export interface PluginMetadatos {
  webhook_secret?: string;
  /** Kept for a grace period after `plugin rotate-secret`, so updates in flight are not refused. */
  webhook_secret_anterior?: string;
  webhook_secret_anterior_hasta?: number;
  idioma?: "es" | "en";
  [k: string]: unknown;
}

export function metadatosOf(row: Pick<PluginRow, "metadatos">, seam: DialectSeam): PluginMetadatos {
  const v = seam.json.parse(row.metadatos);
  return v && typeof v === "object" ? (v as PluginMetadatos) : {};
}

export function pluginState(row: PluginRow, seam: DialectSeam): PluginState {
  const meta = metadatosOf(row, seam);
  return {
    id: Number(row.id),
    usuarioId: Number(row.usuario_id),
    identificador: row.identificador,
    codigoVerificacion: row.codigo_verificacion,
    verificado: Boolean(row.verificado),
    chatIdVerificado: row.chat_id_verificado === null ? null : Number(row.chat_id_verificado),
    intentosFallidos: Number(row.intentos_fallidos),
    bloqueadoEn: row.bloqueado_en === null ? null : Number(row.bloqueado_en),
    idioma: meta.idioma,
  };
}
