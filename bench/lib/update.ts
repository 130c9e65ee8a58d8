// The load's payload: a realistic Telegram text-message update (~1 KB of JSON: ~900 characters
// of text with entities, the from/chat objects Telegram sends), with a unique update_id and a
// unique message_id per request. The JSON is pre-split around the two ids so building one costs
// a string concatenation, not a JSON.stringify: the load generator shares 2 cores with the server.

const TEXT = [
  "Recordatorio para mañana: llamar a Marta por el presupuesto de la reforma de la cocina y",
  " preguntarle si el fontanero puede venir el jueves por la tarde. Revisar también la factura",
  " de la luz de marzo, que parece el doble de lo normal, y reclamar a la compañía si hace falta.",
  " Comprar: leche, pan integral, tomates, café en grano, pilas AA para el mando, bolsas de basura.",
  " Idea para el proyecto: usar colas con confirmación por lotes para las escrituras, medir antes",
  " de optimizar, y documentar los límites de Telegram (1 mensaje/s por chat, 30/s por bot).",
  " Leer el artículo que mandó Javier sobre group commit en PostgreSQL y SQLite en modo WAL.",
  " Pagar la cuota del gimnasio antes del día 5. Reservar mesa para el cumpleaños de Lucía,",
  " somos ocho, mejor el sábado a las nueve. Enlace: https://example.org/notas/2024/reforma",
  " y mencionar a @marta_obras en el grupo. #pendiente #casa",
].join("");

function entity(type: string, needle: string): { type: string; offset: number; length: number } {
  const offset = TEXT.indexOf(needle);
  if (offset < 0) throw new Error(`bench update: "${needle}" not in the text`);
  return { type, offset, length: needle.length };
}

const ENTITIES = [
  entity("bold", "Recordatorio para mañana"),
  entity("italic", "group commit"),
  entity("url", "https://example.org/notas/2024/reforma"),
  entity("mention", "@marta_obras"),
  entity("hashtag", "#pendiente"),
  entity("hashtag", "#casa"),
];

export interface UpdateTemplate {
  /** The JSON body for these ids. */
  body(updateId: number, messageId: number): string;
  /** Byte length of a body with typical (7-digit) ids. */
  approxBytes: number;
}

/** A text update from `chatId` (a private chat: from.id == chat.id). */
export function textUpdateTemplate(chatId: number, date = Math.floor(Date.now() / 1000)): UpdateTemplate {
  const from = { id: chatId, is_bot: false, first_name: "Lucía", last_name: "Fernández", username: "lucia_f", language_code: "es" };
  const chat = { id: chatId, first_name: "Lucía", last_name: "Fernández", username: "lucia_f", type: "private" };
  const rest = JSON.stringify({ from, chat, date, text: TEXT, entities: ENTITIES }).slice(1); // drop "{"
  const head = '{"update_id":';
  const mid = ',"message":{"message_id":';
  const body = (u: number, m: number) => head + u + mid + m + "," + rest + "}";
  return { body, approxBytes: Buffer.byteLength(body(1_000_000, 1_000_000)) };
}

export const UPDATE_TEXT_CHARS = TEXT.length;
