// JSON Schemas shared by the /api/v1 routes: they validate input, shape output, and are what
// @fastify/swagger turns into the OpenAPI document. Field names are the contract's (Spanish).
import { ERRORS, type ErrorCode } from "../errors.ts";

/** errorBody() of errors.ts, for the document. */
export const errorBody = {
  type: "object",
  description: "Every error: the code from the server's one table and what to do about it.",
  properties: {
    ok: { type: "boolean", enum: [false] },
    error_code: { type: "string", enum: Object.keys(ERRORS) as ErrorCode[] },
    description: { type: "string" },
  },
  required: ["ok", "error_code", "description"],
} as const;

export const estadoSchema = { type: "string", enum: ["queued", "in_progress", "done", "failed", "cancelled"] } as const;
export const tipoSchema = { type: "string", pattern: "^[a-z_]{1,32}$", description: "telegram | telegram_voice (more kinds may come)" } as const;
export const idSchema = { type: "integer", minimum: 1, maximum: 9007199254740991 } as const;

export const taskSchema = {
  type: "object",
  properties: {
    id: { type: "integer" },
    codigo: { type: "string", description: "the code shown in the chat, e.g. T-4KQ2" },
    usuario_id: { type: "integer" },
    plugin_id: { type: "integer" },
    tipo: { type: "string" },
    titulo: { type: "string" },
    estado: estadoSchema,
    metadatos_extra: {
      type: "object",
      additionalProperties: true,
      description: "chat_id, message_id, plugin_id, owner_id, texto_original, pendiente_stt, resultado, error, …",
    },
    created_at: { type: "string", format: "date-time" },
    lease_until: { type: "string", format: "date-time", description: "while in_progress: when the claim runs out" },
    lease_id: { type: "string", description: "while in_progress: names this claim; send it with complete / fail" },
  },
  required: ["id", "codigo", "usuario_id", "plugin_id", "tipo", "titulo", "estado", "metadatos_extra", "created_at"],
} as const;

export const pluginSchema = {
  type: "object",
  properties: {
    id: { type: "integer" },
    usuario_id: { type: "integer" },
    servicio: { type: "string" },
    identificador: { type: "string", description: "the bot's username, e.g. @joe_bot" },
    metadatos: { type: "object", additionalProperties: true, description: 'webhook_secret is shown as "[set]", never its value' },
    codigo_verificacion: { type: "string" },
    verificado: { type: "boolean" },
    chat_id_verificado: { type: "integer", nullable: true },
    bloqueado: { type: "boolean" },
    deep_link: { type: "string" },
    created_at: { type: "string" },
  },
  required: ["id", "usuario_id", "servicio", "identificador", "codigo_verificacion", "verificado", "chat_id_verificado", "deep_link"],
} as const;

/** Error responses a route may give, for the document. */
export function errors(...codes: number[]): Record<number, typeof errorBody> {
  return Object.fromEntries([401, 429, ...codes].map((c) => [c, errorBody]));
}
