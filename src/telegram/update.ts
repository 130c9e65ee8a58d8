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

/** Update kinds Telegram sends (Bot API 9.x); the first one present names the update. */
const UPDATE_KINDS = [
  "message", "edited_message", "channel_post", "edited_channel_post", "business_connection",
  "business_message", "edited_business_message", "deleted_business_messages", "message_reaction",
  "message_reaction_count", "inline_query", "chosen_inline_result", "callback_query", "shipping_query",
  "pre_checkout_query", "purchased_paid_media", "poll", "poll_answer", "my_chat_member", "chat_member",
  "chat_join_request", "chat_boost", "removed_chat_boost",
] as const;

/** Message fields that mean "a service message" (members joining, title changes…): never answered. */
const SERVICE_FIELDS = [
  "new_chat_members", "left_chat_member", "new_chat_title", "new_chat_photo", "delete_chat_photo",
  "group_chat_created", "supergroup_chat_created", "channel_chat_created", "migrate_to_chat_id",
  "migrate_from_chat_id", "pinned_message", "message_auto_delete_timer_changed", "forum_topic_created",
  "forum_topic_edited", "forum_topic_closed", "forum_topic_reopened", "video_chat_started",
  "video_chat_ended", "video_chat_scheduled", "video_chat_participants_invited", "write_access_allowed",
  "users_shared", "chat_shared", "boost_added", "chat_background_set", "proximity_alert_triggered",
];

export type Voice = z.infer<typeof voiceSchema>;

/** U+0000 and lone surrogates (valid JSON escapes) cannot be stored by PostgreSQL (text / jsonb): U+FFFD instead. */
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const storable = (s: string): string => s.replace(UNSTORABLE, "\uFFFD");

export interface IncomingMessage {
  messageId: number;
  chatId: number;
  chatType: string;
  languageCode?: string;
  fromBot: boolean;
  /** text: a text message; voice: a voice note; service: members/title changes; other: photo, sticker… */
  kind: "text" | "voice" | "service" | "other";
  /** The message's text; for a voice note, the text or caption sent with it (if any). */
  text?: string;
  voice?: Voice;
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
  if (kind !== "message") return { ok: true, update };

  const m = messageSchema.safeParse(raw.message);
  if (!m.success) {
    const where = m.error.issues[0]?.path.join(".") ?? "";
    return { ok: false, error: `message not understood (${where}: ${m.error.issues[0]?.message ?? "invalid"})` };
  }
  const msg = m.data;
  const rawMsg = raw.message as Record<string, unknown>;
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
  } else if (SERVICE_FIELDS.some((f) => rawMsg[f] !== undefined)) {
    message.kind = "service";
  }
  update.message = message;
  return { ok: true, update };
}
