// The seed's rules as one pure function: given an update and the plugin's (and chat's) state,
// what should happen? No I/O here, so every rule is a plain unit test. `plan.ts` turns decisions into plans and `write-plans.ts` carries them
// decision out inside the webhook's transaction.
import type { ParsedUpdate, IncomingMessage } from "../telegram/update.ts";
import { TEXTS, chooseLang, type Lang } from "../telegram/texts.ts";
import { titleFromText, formatDuration } from "../tasks/title.ts";
import { safeEqual } from "../crypto/random.ts";
import { LOCKOUT, botLockedUntil, chatFailuresInWindow, chatLockedUntil, botLockDurationMs, wrongCodeLocksBot } from "./lockout.ts";
import { parseChatCommand, type ChatIntent, type ChatOutcome } from "./decide-chat.ts";
import { isLinkedChat, type PluginState } from "../plugins/state.ts";

export const LIMITS = {
  /**
   * A chat is warned (not linked, linked elsewhere, locked…) at most once per this interval (a
   * wrong code's reply counts as one): while a lock holds, a chat hammering the bot gets at most
   * one reply a minute, so the replies cannot be used as an amplifier.
   */
  warnEveryMs: 60_000,
  /** The /start brute-force limits: per chat, and per bot with expiring, doubling locks (lockout.ts). */
  ...LOCKOUT,
} as const;

export interface ChatState {
  lastWarnedAt: number | null;
  failedStarts: number;
  failedWindowStartedAt: number | null;
}

export const EMPTY_CHAT: ChatState = { lastWarnedAt: null, failedStarts: 0, failedWindowStartedAt: null };

export interface TaskDraft {
  tipo: "telegram" | "telegram_voice";
  titulo: string;
  metadatos_extra: Record<string, unknown>;
}

/** A reply to a chat that is not (or not yet) the linked one; at most one a minute per chat. */
export type WarnKind = "linked_elsewhere" | "not_linked" | "bot_locked" | "chat_locked" | "missing_code";

/** What a webhook reply is (outgoing_messages.kind; the outbox and STT add kinds of their own). */
export type ReplyKind =
  | WarnKind
  | "wrong_code"
  | "linked"
  | "already_linked"
  | "confirmation"
  | "empty_text"
  | "unsupported"
  | "task_list"
  | "undo"
  | "edit_applied"
  | "edit_noted";

/**
 * What became of an update: stored with its processed-update mark, logged and counted
 * (metrics label). `ignored:<kind>` names the update kind Telegram sent (update.ts).
 */
export type Outcome =
  | "task"
  | "linked"
  | "already_linked"
  | "wrong_code"
  | "wrong_code:bot_locked"
  | "unsupported"
  | "edit"
  | `warned:${WarnKind}`
  | `warn_suppressed:${WarnKind}`
  | `ignored:${string}`
  | ChatOutcome
  /** Decided by the writer, not by decide(): see webhook/write-plans.ts. */
  | "duplicate"
  | "duplicate_message"
  | "plugin_gone";

export interface Reply {
  kind: ReplyKind;
  /** The text, or a function of the task code for confirmations. */
  text: string | ((codigo: string) => string);
  replyTo?: number;
}

export interface Decision {
  /** Short label stored with the processed-update mark and logged. */
  outcome: Outcome;
  chatId?: number;
  messageId?: number;
  task?: TaskDraft;
  reply?: Reply;
  /** Link this chat (conditionally: only if the plugin is still unlinked). */
  link?: { chatId: number };
  chatPatch?: Partial<ChatState>;
  pluginPatch?: { intentosFallidos?: number; bloqueadoEn?: number };
  /** A chat command or an edit: the writer reads the tasks it needs and carries it out (write-intent.ts). */
  intent?: ChatIntent;
}

const START_RE = /^\/start(?:@([A-Za-z0-9_]+))?(?:\s+(\S+))?\s*$/i;

function parseStart(text: string | undefined): { bot?: string; arg?: string } | null {
  if (!text) return null;
  const m = START_RE.exec(text.trim());
  return m ? { bot: m[1], arg: m[2] } : null;
}

export function decide(update: ParsedUpdate, plugin: PluginState, chat: ChatState, now: number): Decision {
  const msg = update.message;
  if (!msg) return { outcome: `ignored:${update.kind}` };
  const base = { chatId: msg.chatId, messageId: msg.messageId };
  if (msg.fromBot) return { ...base, outcome: "ignored:from_bot" };
  if (msg.kind === "service") return { ...base, outcome: "ignored:service" };

  const lang = chooseLang(plugin.idioma, msg.languageCode);
  // An edit matters only in the linked chat (elsewhere no task was made of the message).
  if (msg.edited) {
    // Only texts and captions can make a task's text (a live location, for one, is edited every few seconds).
    const editable = msg.kind === "text" || msg.kind === "photo" || msg.kind === "document";
    if (!editable || !isLinkedChat(plugin, msg.chatId)) return { ...base, outcome: "ignored:edited_message" };
    return { ...base, outcome: "edit", intent: editIntent(msg, lang, now) };
  }
  const start = msg.kind === "text" ? parseStart(msg.text) : null;
  if (start?.bot && start.bot.toLowerCase() !== plugin.identificador.replace(/^@/, "").toLowerCase()) {
    return { ...base, outcome: "ignored:other_bot_command" };
  }

  const warn = (kind: WarnKind, text: string): Decision => {
    if (chat.lastWarnedAt !== null && now - chat.lastWarnedAt < LIMITS.warnEveryMs) {
      return { ...base, outcome: `warn_suppressed:${kind}` };
    }
    return { ...base, outcome: `warned:${kind}`, reply: { kind, text }, chatPatch: { lastWarnedAt: now } };
  };

  if (plugin.verificado) {
    if (!isLinkedChat(plugin, msg.chatId)) return warn("linked_elsewhere", TEXTS.linkedElsewhere[lang]);
    if (start) return { ...base, outcome: "already_linked", reply: { kind: "already_linked", text: TEXTS.alreadyLinked[lang], replyTo: msg.messageId } };
    return decideLinkedMessage(msg, plugin, lang, base);
  }

  if (!start) return warn("not_linked", TEXTS.notLinked[lang]);
  return decideStart(start.arg, msg, plugin, chat, now, lang, warn, base);
}

function decideStart(
  arg: string | undefined,
  msg: IncomingMessage,
  plugin: PluginState,
  chat: ChatState,
  now: number,
  lang: Lang,
  warn: (kind: WarnKind, text: string) => Decision,
  base: { chatId: number; messageId: number },
): Decision {
  // Locked: the code is not even looked at, and the chat is told until when (at most once a minute).
  const botUntil = botLockedUntil(plugin, now);
  if (botUntil !== null) return warn("bot_locked", TEXTS.botLockedOut[lang](botUntil, now));
  const chatUntil = chatLockedUntil(chat, now);
  if (chatUntil !== null) return warn("chat_locked", TEXTS.chatLockedOut[lang](chatUntil, now));
  if (!arg) return warn("missing_code", TEXTS.missingCode[lang]);

  if (safeEqual(arg.toUpperCase(), plugin.codigoVerificacion.toUpperCase())) {
    return {
      ...base,
      outcome: "linked",
      link: { chatId: msg.chatId },
      reply: { kind: "linked", text: TEXTS.linked[lang], replyTo: msg.messageId },
      chatPatch: { failedStarts: 0, failedWindowStartedAt: null },
    };
  }

  const failedInWindow = chatFailuresInWindow(chat, now);
  const failedStarts = failedInWindow + 1;
  const windowStart = failedInWindow > 0 ? chat.failedWindowStartedAt! : now;
  const chatPatch: Partial<ChatState> = { failedStarts, failedWindowStartedAt: windowStart, lastWarnedAt: now };
  const intentosFallidos = plugin.intentosFallidos + 1;
  if (wrongCodeLocksBot(intentosFallidos)) {
    const until = now + botLockDurationMs(intentosFallidos / LIMITS.botFailures);
    return {
      ...base,
      outcome: "wrong_code:bot_locked",
      chatPatch,
      pluginPatch: { intentosFallidos, bloqueadoEn: now },
      reply: { kind: "bot_locked", text: TEXTS.botLockedOut[lang](until, now) },
    };
  }
  const left = LIMITS.chatFailures - failedStarts;
  const text = left > 0 ? TEXTS.wrongCode[lang](left) : TEXTS.chatLockedOut[lang](windowStart + LIMITS.chatWindowMs, now);
  return { ...base, outcome: "wrong_code", chatPatch, pluginPatch: { intentosFallidos }, reply: { kind: "wrong_code", text } };
}

function editIntent(msg: IncomingMessage, lang: Lang, now: number): ChatIntent {
  const editedAt = new Date(msg.editDate !== undefined ? msg.editDate * 1000 : now).toISOString();
  const text = msg.kind === "text" ? (msg.text ?? "") : (msg.caption ?? "");
  const fallbackTitle = msg.attachment ? attachmentTitle(msg, lang) : undefined;
  return { kind: "edit", lang, messageId: msg.messageId, text, editedAt, ...(fallbackTitle ? { fallbackTitle } : {}) };
}

/** The title of a photo or document without a caption. */
function attachmentTitle(msg: IncomingMessage, lang: Lang): string {
  return msg.kind === "photo" ? TEXTS.photoTitle[lang] : TEXTS.documentTitle[lang](msg.attachment?.file_name ?? null);
}

function decideLinkedMessage(msg: IncomingMessage, plugin: PluginState, lang: Lang, base: { chatId: number; messageId: number }): Decision {
  const common: Record<string, unknown> = { chat_id: msg.chatId, message_id: msg.messageId, plugin_id: plugin.id, owner_id: plugin.usuarioId };
  if (msg.forwardOrigin) common.reenviado_de = msg.forwardOrigin;
  const confirm: Reply = { kind: "confirmation", text: (codigo) => TEXTS.received[lang](codigo), replyTo: msg.messageId };

  const command = msg.kind === "text" ? parseChatCommand(msg.text) : null;
  if (command) {
    if (command.bot && command.bot.toLowerCase() !== plugin.identificador.replace(/^@/, "").toLowerCase()) {
      return { ...base, outcome: "ignored:other_bot_command" };
    }
    if (command.command === "list_tasks") return { ...base, outcome: "command:list_tasks", intent: { kind: "list_tasks", lang, replyTo: msg.messageId } };
    const target = msg.replyToMessageId !== undefined ? { kind: "reply" as const, messageId: msg.replyToMessageId } : { kind: "last" as const };
    return { ...base, outcome: "command:undo", intent: { kind: "undo", lang, replyTo: msg.messageId, target } };
  }

  if ((msg.kind === "photo" || msg.kind === "document") && msg.attachment) {
    const caption = msg.caption?.trim() ? msg.caption : undefined;
    return {
      ...base,
      outcome: "task",
      task: {
        tipo: "telegram",
        titulo: caption ? titleFromText(caption) : attachmentTitle(msg, lang),
        metadatos_extra: { ...common, ...(caption ? { texto_original: caption } : {}), adjunto: msg.attachment },
      },
      reply: confirm,
    };
  }

  if (msg.kind === "text") {
    const text = msg.text ?? "";
    // Nothing but blanks: no task with an empty title; the sender is told why nothing was saved.
    if (isBlank(text)) return { ...base, outcome: "ignored:empty_text", reply: { kind: "empty_text", text: TEXTS.emptyText[lang], replyTo: msg.messageId } };
    return {
      ...base,
      outcome: "task",
      task: { tipo: "telegram", titulo: titleFromText(text), metadatos_extra: { ...common, texto_original: text } },
      reply: confirm,
    };
  }
  if (msg.kind === "voice" && msg.voice) {
    const v = msg.voice;
    return {
      ...base,
      outcome: "task",
      task: {
        tipo: "telegram_voice",
        titulo: TEXTS.voiceTitle[lang](formatDuration(v.duration)),
        metadatos_extra: {
          ...common,
          pendiente_stt: true,
          file_id: v.file_id,
          file_unique_id: v.file_unique_id,
          duration: v.duration,
          mime_type: v.mime_type ?? null,
          file_size: v.file_size ?? null,
          // The text or caption sent with the voice note, whole (searchable like a text task's).
          ...(msg.text !== undefined && !isBlank(msg.text) ? { texto_original: msg.text } : {}),
          // The transcriber's language hint (whisper: auto-detection when absent).
          language_code: msg.languageCode ?? null,
        },
      },
      reply: confirm,
    };
  }
  return { ...base, outcome: "unsupported", reply: { kind: "unsupported", text: TEXTS.unsupported[lang], replyTo: msg.messageId } };
}

/** Whitespace and invisible separators only (zero-width space/joiners, word joiner). */
function isBlank(text: string): boolean {
  return /^[\s\u200b-\u200d\u2060]*$/.test(text);
}
