// The part of a Telegram Update Joe reads, validated with zod. Anything else in the update is
// allowed and ignored (Telegram adds fields over time); an update whose shape we cannot read is
// "not understood" and kept for inspection by the caller.
import { z } from "zod";

const id = z.number().int().safe();

const voiceSchema = z.object({
  file_id: z.string().min(1),
  file_unique_id: z.string().min(1),
  duration: z.number().int().nonnegative(),
  mime_type: z.string().optional(),
  file_size: z.number().int().nonnegative().optional(),
});

const messageSchema = z.object({
  message_id: id,
  date: z.number().int().optional(),
  chat: z.object({ id, type: z.string() }),
  from: z.object({ id, is_bot: z.boolean().optional(), language_code: z.string().optional() }).optional(),
  text: z.string().optional(),
  voice: voiceSchema.optional(),
});

const updateSchema = z.object({ update_id: id.nonnegative() });

// What a photo, a document, a reply and a forward carry. Read leniently (each on its own): a
// field of these we cannot read leaves the message as it was before they were read ("other",
// or a task without its origin), never "not understood".
const photoSizeSchema = z.object({
  file_id: z.string().min(1),
  file_unique_id: z.string().min(1),
  width: z.number().int().nonnegative(),
  height: z.number().int().nonnegative(),
  file_size: z.number().int().nonnegative().optional(),
});
const photoSchema = z.array(photoSizeSchema).min(1);
const documentSchema = z.object({
  file_id: z.string().min(1),
  file_unique_id: z.string().min(1),
  file_name: z.string().optional(),
  mime_type: z.string().optional(),
  file_size: z.number().int().nonnegative().optional(),
});
/** Unix seconds that a Date can hold (through year 9999), so turning them into ISO text cannot throw. */
const unixTime = z.number().int().min(0).max(253_402_300_799);
const originChat = z.object({ id, title: z.string().optional(), username: z.string().optional() });
const forwardOriginSchema = z.object({
  type: z.string(),
  date: unixTime,
  sender_user: z.object({ id, first_name: z.string().optional(), last_name: z.string().optional(), username: z.string().optional() }).optional(),
  sender_user_name: z.string().optional(),
  sender_chat: originChat.optional(),
  chat: originChat.optional(),
  message_id: id.optional(),
  author_signature: z.string().optional(),
});
const replySchema = z.object({ message_id: id });

/** Update kinds Telegram sends (Bot API 9.x); the first one present names the update. */
const UPDATE_KINDS = [
  "message",
  "edited_message",
  "channel_post",
  "edited_channel_post",
  "business_connection",
  "business_message",
  "edited_business_message",
  "deleted_business_messages",
  "message_reaction",
  "message_reaction_count",
  "inline_query",
  "chosen_inline_result",
  "callback_query",
  "shipping_query",
  "pre_checkout_query",
  "purchased_paid_media",
  "poll",
  "poll_answer",
  "my_chat_member",
  "chat_member",
  "chat_join_request",
  "chat_boost",
  "removed_chat_boost",
] as const;

/** Message fields that mean "a service message" (members joining, title changes…): never answered. */
const SERVICE_FIELDS = [
  "new_chat_members",
  "left_chat_member",
  "new_chat_title",
  "new_chat_photo",
  "delete_chat_photo",
  "group_chat_created",
  "supergroup_chat_created",
  "channel_chat_created",
  "migrate_to_chat_id",
  "migrate_from_chat_id",
  "pinned_message",
  "message_auto_delete_timer_changed",
  "forum_topic_created",
  "forum_topic_edited",
  "forum_topic_closed",
  "forum_topic_reopened",
  "video_chat_started",
  "video_chat_ended",
  "video_chat_scheduled",
  "video_chat_participants_invited",
  "write_access_allowed",
  "users_shared",
  "chat_shared",
  "boost_added",
  "chat_background_set",
  "proximity_alert_triggered",
];

export type Voice = z.infer<typeof voiceSchema>;

/** A photo (its largest size) or a document, as recorded in a task's `metadatos_extra.adjunto`. */
export interface Attachment {
  kind: "photo" | "document";
  file_id: string;
  file_unique_id: string;
  file_name: string | null;
  mime_type: string | null;
  file_size: number | null;
  width?: number;
  height?: number;
}

/** Where a forwarded message came from (`metadatos_extra.reenviado_de`), from Telegram's forward_origin. */
export interface ForwardOrigin {
  /** forward_origin.type: "user", "hidden_user", "chat" or "channel". */
  type: string;
  /** The sender's or chat's name as Telegram shows it (null if it has none). */
  name: string | null;
  /** The sender user's or chat's id (absent for hidden users). */
  id?: number;
  username?: string;
  /** The message's id in the channel it came from. */
  message_id?: number;
  author_signature?: string;
  /** When the original message was sent (ISO 8601). */
  date: string;
}

/** U+0000 and lone surrogates (valid JSON escapes) cannot be stored by PostgreSQL (text / jsonb): U+FFFD instead. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: U+0000 is the very character to replace
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const storable = (s: string): string => s.replace(UNSTORABLE, "\uFFFD");

export interface IncomingMessage {
  messageId: number;
  chatId: number;
  chatType: string;
  languageCode?: string;
  fromBot: boolean;
  /** text: a text message; voice: a voice note; photo, document; service: members/title changes; other: sticker, video… */
  kind: "text" | "voice" | "photo" | "document" | "service" | "other";
  /** The message's text; for a voice note, the text or caption sent with it (if any). */
  text?: string;
  voice?: Voice;
  /** A photo's or document's caption. */
  caption?: string;
  attachment?: Attachment;
  /** The message this one answers (Telegram's reply_to_message.message_id). */
  replyToMessageId?: number;
  forwardOrigin?: ForwardOrigin;
  /** An `edited_message` update: the message's new content (same message_id as the original). */
  edited?: boolean;
  /** edit_date of an edited message (Unix seconds). */
  editDate?: number;
}

export interface ParsedUpdate {
  updateId: number;
  /** Which kind of update this is ("message", "edited_message", …, or "unknown"). */
  kind: string;
  message?: IncomingMessage;
}

export type ParseResult = { ok: true; update: ParsedUpdate } | { ok: false; error: string };

export function parseUpdate(body: unknown): ParseResult {
  const base = updateSchema.safeParse(body);
  if (!base.success) return { ok: false, error: "not a Telegram Update (no valid update_id)" };
  const raw = body as Record<string, unknown>;
  const kind = UPDATE_KINDS.find((k) => raw[k] !== undefined && raw[k] !== null) ?? "unknown";
  const update: ParsedUpdate = { updateId: base.data.update_id, kind };
  if (kind !== "message" && kind !== "edited_message") return { ok: true, update };

  const m = messageSchema.safeParse(raw[kind]);
  // An edit we cannot read is only an edit we do not apply: nothing to keep for inspection.
  if (!m.success && kind === "edited_message") return { ok: true, update };
  if (!m.success) {
    const where = m.error.issues[0]?.path.join(".") ?? "";
    return { ok: false, error: `message not understood (${where}: ${m.error.issues[0]?.message ?? "invalid"})` };
  }
  const msg = m.data;
  const rawMsg = raw[kind] as Record<string, unknown>;
  const message: IncomingMessage = {
    messageId: msg.message_id,
    chatId: msg.chat.id,
    chatType: msg.chat.type,
    languageCode: msg.from?.language_code,
    fromBot: msg.from?.is_bot === true,
    kind: "other",
  };
  if (msg.voice) {
    message.kind = "voice";
    const v = msg.voice;
    message.voice = { ...v, file_id: storable(v.file_id), file_unique_id: storable(v.file_unique_id) };
    if (v.mime_type !== undefined) message.voice.mime_type = storable(v.mime_type);
    // Words sent along with the voice note are kept, not dropped (decide.ts stores them).
    // A caption that is not a string is ignored, as any other field Joe does not read.
    const words = msg.text ?? (typeof rawMsg.caption === "string" ? rawMsg.caption : undefined);
    if (words !== undefined) message.text = storable(words);
  } else if (typeof msg.text === "string") {
    message.kind = "text";
    message.text = storable(msg.text);
  } else if (readAttachment(rawMsg, message)) {
    // kind, attachment and caption set by readAttachment
  } else if (SERVICE_FIELDS.some((f) => rawMsg[f] !== undefined)) {
    message.kind = "service";
  }
  if (kind === "edited_message") {
    message.edited = true;
    const editDate = optional(unixTime, rawMsg.edit_date);
    if (editDate !== undefined) message.editDate = editDate;
    // An edited photo or document brings its caption as its new text.
    if (message.kind !== "text" && message.caption !== undefined) message.text = message.caption;
  }
  // Only fields that are there are read: zod builds an error object for every absent one it is
  // asked to parse, the slowdown measured in bench/NOTES.md, "One write path".
  const reply = optional(replySchema, rawMsg.reply_to_message);
  if (reply) message.replyToMessageId = reply.message_id;
  const origin = optional(forwardOriginSchema, rawMsg.forward_origin);
  if (origin) message.forwardOrigin = forwardOrigin(origin);
  update.message = message;
  return { ok: true, update };
}

/** `value` read by `schema` when it is there and readable; undefined otherwise. */
function optional<T>(schema: z.ZodType<T>, value: unknown): T | undefined {
  if (value === undefined || value === null) return undefined;
  const r = schema.safeParse(value);
  return r.success ? r.data : undefined;
}

/** A photo (largest size) or a document with its caption; false when the message has neither (readable). */
function readAttachment(rawMsg: Record<string, unknown>, message: IncomingMessage): boolean {
  if (rawMsg.photo === undefined && rawMsg.document === undefined) return false;
  const photo = photoSchema.safeParse(rawMsg.photo);
  const doc = photo.success ? null : documentSchema.safeParse(rawMsg.document);
  if (photo.success) {
    // The largest size: Telegram lists them smallest first, but compare anyway.
    const big = photo.data.reduce((a, b) => (b.width * b.height > a.width * a.height ? b : a));
    message.kind = "photo";
    message.attachment = {
      kind: "photo",
      file_id: storable(big.file_id),
      file_unique_id: storable(big.file_unique_id),
      file_name: null,
      mime_type: null,
      file_size: big.file_size ?? null,
      width: big.width,
      height: big.height,
    };
  } else if (doc?.success) {
    const d = doc.data;
    message.kind = "document";
    message.attachment = {
      kind: "document",
      file_id: storable(d.file_id),
      file_unique_id: storable(d.file_unique_id),
      file_name: d.file_name === undefined ? null : storable(d.file_name),
      mime_type: d.mime_type === undefined ? null : storable(d.mime_type),
      file_size: d.file_size ?? null,
    };
  } else return false;
  if (typeof rawMsg.caption === "string") message.caption = storable(rawMsg.caption);
  return true;
}

function forwardOrigin(o: z.infer<typeof forwardOriginSchema>): ForwardOrigin {
  const out: ForwardOrigin = { type: storable(o.type), name: null, date: new Date(o.date * 1000).toISOString() };
  const u = o.sender_user;
  const c = o.sender_chat ?? o.chat;
  if (u) {
    out.name = storable([u.first_name, u.last_name].filter(Boolean).join(" ")) || null;
    out.id = u.id;
    if (u.username !== undefined) out.username = storable(u.username);
  } else if (c) {
    out.name = c.title === undefined ? null : storable(c.title);
    out.id = c.id;
    if (c.username !== undefined) out.username = storable(c.username);
  } else if (o.sender_user_name !== undefined) {
    out.name = storable(o.sender_user_name);
  }
  if (o.message_id !== undefined) out.message_id = o.message_id;
  if (o.author_signature !== undefined) out.author_signature = storable(o.author_signature);
  return out;
}
