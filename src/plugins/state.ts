// A plugin as the webhook decides on it: the row read into the shape the decision function
// takes, its metadatos, and the one question every path asks of it ("is this the linked chat?").
import type { PluginRow } from "../db/schema.ts";
import type { DialectSeam } from "../db/dialect.ts";

export interface PluginState {
  id: number;
  usuarioId: number;
  /** Bot username, "@joe_bot". */
  identificador: string;
  codigoVerificacion: string;
  verificado: boolean;
  chatIdVerificado: number | null;
  intentosFallidos: number;
  bloqueadoEn: number | null;
  /** metadatos.idioma: "es" | "en" to force the bot's language. */
  idioma?: unknown;
}

/** True when `chatId` is the chat the plugin is linked to (its messages become tasks). */
export function isLinkedChat(plugin: Pick<PluginState, "verificado" | "chatIdVerificado">, chatId: number): boolean {
  return plugin.verificado && plugin.chatIdVerificado !== null && plugin.chatIdVerificado === chatId;
}

/**
 * True when a decision made on `a` is still right on `b` for a chat that is not the linked one:
 * the link, the code and the brute-force counters are the same.
 */
export function sameLinkingState(a: PluginState, b: PluginState): boolean {
  return (
    a.verificado === b.verificado &&
    a.chatIdVerificado === b.chatIdVerificado &&
    a.codigoVerificacion === b.codigoVerificacion &&
    a.intentosFallidos === b.intentosFallidos &&
    a.bloqueadoEn === b.bloqueadoEn
  );
}

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
