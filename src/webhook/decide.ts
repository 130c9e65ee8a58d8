// The seed's rules as one pure function: given an update and the plugin's (and chat's) state,
// what should happen? No I/O here, so every rule is a plain unit test. `apply.ts` carries the
// decision out inside the webhook's transaction.
import type { ParsedUpdate, IncomingMessage } from "../telegram/update.ts";
import { TEXTS, chooseLang, type Lang } from "../telegram/texts.ts";
import { titleFromText, formatDuration } from "../tasks/title.ts";
import { safeEqual } from "../crypto/random.ts";

export const LIMITS = {
  /** A chat is warned (not linked, linked elsewhere, locked…) at most once per this interval. */
  warnEveryMs: 60_000,
  /** Wrong /start codes allowed per chat per window, then that chat waits for the window to end. */
  chatFailures: 5,
  chatWindowMs: 15 * 60_000,
  /** Wrong /start codes allowed per bot in total; then linking is locked until the owner unlinks. */
  botFailures: 20,
} as const;

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

export interface Reply {
  kind: string;
  /** The text, or a function of the task code for confirmations. */
  text: string | ((codigo: string) => string);
  replyTo?: number;
}

export interface Decision {
  /** Short label stored with the processed-update mark and logged. */
  outcome: string;
  chatId?: number;
  messageId?: number;
  task?: TaskDraft;
  reply?: Reply;
  /** Link this chat (conditionally: only if the plugin is still unlinked). */
  link?: { chatId: number };
  chatPatch?: Partial<ChatState>;
  pluginPatch?: { intentosFallidos?: number; bloqueadoEn?: number };
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
  const start = msg.kind === "text" ? parseStart(msg.text) : null;
  if (start?.bot && start.bot.toLowerCase() !== plugin.identificador.replace(/^@/, "").toLowerCase()) {
    return { ...base, outcome: "ignored:other_bot_command" };
  }

  const warn = (kind: string, text: string): Decision => {
    if (chat.lastWarnedAt !== null && now - chat.lastWarnedAt < LIMITS.warnEveryMs) {
      return { ...base, outcome: `warn_suppressed:${kind}` };
    }
    return { ...base, outcome: `warned:${kind}`, reply: { kind, text }, chatPatch: { lastWarnedAt: now } };
  };

  if (plugin.verificado) {
    if (msg.chatId !== plugin.chatIdVerificado) return warn("linked_elsewhere", TEXTS.linkedElsewhere[lang]);
    if (start) return { ...base, outcome: "already_linked", reply: { kind: "already_linked", text: TEXTS.alreadyLinked[lang], replyTo: msg.messageId } };
    return decideLinkedMessage(msg, plugin, lang, base);
  }

  if (!start) return warn("not_linked", TEXTS.notLinked[lang]);
  return decideStart(start.arg, msg, plugin, chat, now, lang, warn, base);
}

function decideStart(
  arg: string | undefined, msg: IncomingMessage, plugin: PluginState, chat: ChatState, now: number, lang: Lang,
  warn: (kind: string, text: string) => Decision, base: { chatId: number; messageId: number },
): Decision {
  if (plugin.bloqueadoEn !== null) return warn("bot_locked", TEXTS.botLockedOut[lang]);

  const windowOpen = chat.failedWindowStartedAt !== null && now - chat.failedWindowStartedAt < LIMITS.chatWindowMs;
  const failedInWindow = windowOpen ? chat.failedStarts : 0;
  if (failedInWindow >= LIMITS.chatFailures) {
    const minutes = Math.ceil((chat.failedWindowStartedAt! + LIMITS.chatWindowMs - now) / 60_000);
    return warn("chat_locked", TEXTS.chatLockedOut[lang](minutes));
  }
  if (!arg) return warn("missing_code", TEXTS.missingCode[lang]);

  if (safeEqual(arg.toUpperCase(), plugin.codigoVerificacion.toUpperCase())) {
    return {
      ...base, outcome: "linked", link: { chatId: msg.chatId },
      reply: { kind: "linked", text: TEXTS.linked[lang], replyTo: msg.messageId },
      chatPatch: { failedStarts: 0, failedWindowStartedAt: null },
    };
  }

  const failedStarts = failedInWindow + 1;
  const chatPatch: Partial<ChatState> = { failedStarts, failedWindowStartedAt: windowOpen ? chat.failedWindowStartedAt : now, lastWarnedAt: now };
  const intentosFallidos = plugin.intentosFallidos + 1;
  if (intentosFallidos >= LIMITS.botFailures) {
    return { ...base, outcome: "wrong_code:bot_locked", chatPatch, pluginPatch: { intentosFallidos, bloqueadoEn: now }, reply: { kind: "bot_locked", text: TEXTS.botLockedOut[lang] } };
  }
  const left = LIMITS.chatFailures - failedStarts;
  const text = left > 0 ? TEXTS.wrongCode[lang](left) : TEXTS.chatLockedOut[lang](Math.ceil(LIMITS.chatWindowMs / 60_000));
  return { ...base, outcome: "wrong_code", chatPatch, pluginPatch: { intentosFallidos }, reply: { kind: "wrong_code", text } };
}

function decideLinkedMessage(msg: IncomingMessage, plugin: PluginState, lang: Lang, base: { chatId: number; messageId: number }): Decision {
  const common = { chat_id: msg.chatId, message_id: msg.messageId, plugin_id: plugin.id, owner_id: plugin.usuarioId };
  const confirm: Reply = { kind: "confirmation", text: (codigo) => TEXTS.received[lang](codigo), replyTo: msg.messageId };

  if (msg.kind === "text") {
    const text = msg.text ?? "";
    return {
      ...base, outcome: "task",
      task: { tipo: "telegram", titulo: titleFromText(text), metadatos_extra: { ...common, texto_original: text } },
      reply: confirm,
    };
  }
  if (msg.kind === "voice" && msg.voice) {
    const v = msg.voice;
    return {
      ...base, outcome: "task",
      task: {
        tipo: "telegram_voice",
        titulo: TEXTS.voiceTitle[lang](formatDuration(v.duration)),
        metadatos_extra: {
          ...common, pendiente_stt: true, file_id: v.file_id, file_unique_id: v.file_unique_id,
          duration: v.duration, mime_type: v.mime_type ?? null, file_size: v.file_size ?? null,
          // The transcriber's language hint (whisper: auto-detection when absent).
          language_code: msg.languageCode ?? null,
        },
      },
      reply: confirm,
    };
  }
  return { ...base, outcome: "unsupported", reply: { kind: "unsupported", text: TEXTS.unsupported[lang], replyTo: msg.messageId } };
}
