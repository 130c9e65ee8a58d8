// Unit tests of decide(): every seed rule, on real Telegram update JSON run through parseUpdate.
// decide() is pure, so multi-step scenarios (a guessing attack, a lockout that expires) are walked
// by applying each decision's patches to the plugin/chat state the way webhook/plan.ts does.
import { describe, it } from "node:test";
import assert from "node:assert/strict";

import { decide, LIMITS, EMPTY_CHAT, type ChatState, type Decision } from "../../src/webhook/decide.ts";
import type { PluginState } from "../../src/plugins/state.ts";
import { parseUpdate, type ParsedUpdate } from "../../src/telegram/update.ts";
import { TEXTS } from "../../src/telegram/texts.ts";
import { decideEdit, decideUndo, parseChatCommand, taskListText, type ChatIntent, type TaskSnapshot } from "../../src/webhook/decide-chat.ts";
import { planBatch, onlyRows } from "../../src/webhook/plan.ts";

const CODE = "JOE-A1B2";
const OWNER_CHAT = 424242;
const OTHER_CHAT = 777001;
const T0 = 1_700_000_000_000;

function plugin(over: Partial<PluginState> = {}): PluginState {
  return {
    id: 7,
    usuarioId: 3,
    identificador: "@joe_bot",
    codigoVerificacion: CODE,
    verificado: false,
    chatIdVerificado: null,
    intentosFallidos: 0,
    bloqueadoEn: null,
    ...over,
  };
}
const linkedPlugin = (over: Partial<PluginState> = {}) => plugin({ verificado: true, chatIdVerificado: OWNER_CHAT, ...over });

let nextUpdateId = 1000;
let nextMessageId = 50;

interface MsgOpts {
  chatId?: number;
  chatType?: string;
  lang?: string;
  isBot?: boolean;
  from?: boolean;
}

/** A Telegram "message" update as Telegram sends it, parsed the way the webhook parses it. */
function messageUpdate(fields: Record<string, unknown>, o: MsgOpts = {}): ParsedUpdate {
  const chatId = o.chatId ?? OWNER_CHAT;
  const from = { id: Math.abs(chatId), is_bot: o.isBot ?? false, first_name: "Pedro", ...(o.lang ? { language_code: o.lang } : {}) };
  return parse({
    update_id: nextUpdateId++,
    message: {
      message_id: nextMessageId++,
      date: 1_700_000_000,
      chat: { id: chatId, type: o.chatType ?? (chatId < 0 ? "supergroup" : "private") },
      ...(o.from === false ? {} : { from }),
      ...fields,
    },
  });
}
const text = (t: string, o?: MsgOpts) => messageUpdate({ text: t }, o);

function parse(raw: unknown): ParsedUpdate {
  const r = parseUpdate(raw);
  assert.ok(r.ok, `fixture should parse: ${JSON.stringify(raw)}`);
  return r.update;
}

/** Carry a decision's state changes over, as webhook/plan.ts does for the next update of a batch. */
function applyDecision(p: PluginState, c: ChatState, d: Decision): { plugin: PluginState; chat: ChatState } {
  let np = { ...p };
  if (d.link && !np.verificado) np = { ...np, verificado: true, chatIdVerificado: d.link.chatId };
  if (d.pluginPatch) np = { ...np, ...d.pluginPatch };
  return { plugin: np, chat: { ...c, ...d.chatPatch } };
}

function replyText(d: Decision, codigo = "T-0000"): string | undefined {
  const t = d.reply?.text;
  return typeof t === "function" ? t(codigo) : t;
}

function assertNothingHappens(d: Decision) {
  assert.equal(d.task, undefined, "no task");
  assert.equal(d.reply, undefined, "no reply");
  assert.equal(d.link, undefined, "no link");
  assert.equal(d.pluginPatch, undefined, "no plugin change");
}

describe("decide: /start CODE links an unverified plugin", () => {
  const LINKED_ES = "✅ ¡Bot vinculado con éxito! Ya puedes enviarme notas de voz o texto.";
  const LINKED_EN = "✅ Bot linked successfully! You can now send me voice notes or text.";

  for (const [label, t] of [
    ["plain", `/start ${CODE}`],
    ["lowercase code", `/start ${CODE.toLowerCase()}`],
    ["mixed-case code", "/start jOe-a1B2"],
    ["addressed to this bot", `/start@joe_bot ${CODE}`],
    ["addressed to this bot, other case", `/start@JOE_Bot ${CODE}`],
    ["extra spaces", `   /start    ${CODE}   `],
    ["newline between command and code", `/start\n${CODE}`],
    // t.me/joe_bot?start=JOE-A1B2 (and ?startgroup=) arrive as these texts:
    ["deep link (private chat)", `/start ${CODE}`],
  ] as const) {
    it(`links the chat: ${label}`, () => {
      const u = text(t);
      const d = decide(u, plugin(), EMPTY_CHAT, T0);
      assert.equal(d.outcome, "linked");
      assert.deepEqual(d.link, { chatId: OWNER_CHAT });
      assert.equal(replyText(d), LINKED_ES);
      assert.equal(d.reply?.replyTo, u.message!.messageId);
      assert.equal(d.task, undefined, "the /start message itself is not a task");
      assert.deepEqual(d.chatPatch, { failedStarts: 0, failedWindowStartedAt: null });
    });
  }

  it("links a group chat from the deep link ?startgroup= (/start@bot CODE, 52-bit negative id)", () => {
    const groupId = -1_009_876_543_210_123;
    const d = decide(text(`/start@joe_bot ${CODE}`, { chatId: groupId }), plugin(), EMPTY_CHAT, T0);
    assert.equal(d.outcome, "linked");
    assert.deepEqual(d.link, { chatId: groupId });
  });

  it("answers in English for language_code en-*", () => {
    for (const lang of ["en", "en-US", "en-GB", "EN"]) {
      const d = decide(text(`/start ${CODE}`, { lang }), plugin(), EMPTY_CHAT, T0);
      assert.equal(replyText(d), LINKED_EN, lang);
    }
  });

  it("links even right after a warning (the link is never rate-limited)", () => {
    const d = decide(text(`/start ${CODE}`), plugin(), { ...EMPTY_CHAT, lastWarnedAt: T0 - 1 }, T0);
    assert.equal(d.outcome, "linked");
    assert.ok(d.reply);
  });

  it("links after a few wrong codes (below the chat limit) and clears the chat's failure count", () => {
    const chat: ChatState = { lastWarnedAt: T0 - 1000, failedStarts: LIMITS.chatFailures - 1, failedWindowStartedAt: T0 - 60_000 };
    const d = decide(text(`/start ${CODE}`), plugin({ intentosFallidos: 4 }), chat, T0);
    assert.equal(d.outcome, "linked");
    assert.deepEqual(d.chatPatch, { failedStarts: 0, failedWindowStartedAt: null });
  });

  it("ignores /start@otherbot CODE (a command for another bot in the same group)", () => {
    for (const t of [`/start@other_bot ${CODE}`, "/start@other_bot", `/start@joe_bot2 ${CODE}`]) {
      const d = decide(text(t, { chatId: -100123 }), plugin(), EMPTY_CHAT, T0);
      assert.equal(d.outcome, "ignored:other_bot_command", t);
      assertNothingHappens(d);
      assert.equal(d.chatPatch, undefined);
    }
  });

  it("treats /start with trailing words or a look-alike command as an ordinary message", () => {
    for (const t of [`/startx ${CODE}`, `/start ${CODE} please`, `start ${CODE}`]) {
      const d = decide(text(t), plugin(), EMPTY_CHAT, T0);
      assert.equal(d.outcome, "warned:not_linked", t);
      assert.equal(d.link, undefined);
    }
  });
});

describe("decide: an unverified plugin warns and stores nothing", () => {
  it("warns not_linked in Spanish by default, and creates no task", () => {
    const d = decide(text("Comprar leche"), plugin(), EMPTY_CHAT, T0);
    assert.equal(d.outcome, "warned:not_linked");
    assert.equal(replyText(d), TEXTS.notLinked.es);
    assert.match(replyText(d)!, /no está vinculado/);
    assert.equal(d.task, undefined);
    assert.equal(d.link, undefined);
    assert.deepEqual(d.chatPatch, { lastWarnedAt: T0 });
  });

  it("warns in English for language_code en-*, Spanish for other languages", () => {
    assert.equal(replyText(decide(text("milk", { lang: "en-US" }), plugin(), EMPTY_CHAT, T0)), TEXTS.notLinked.en);
    assert.equal(replyText(decide(text("milk", { lang: "en" }), plugin(), EMPTY_CHAT, T0)), TEXTS.notLinked.en);
    assert.equal(replyText(decide(text("leche", { lang: "es-MX" }), plugin(), EMPTY_CHAT, T0)), TEXTS.notLinked.es);
    assert.equal(replyText(decide(text("lait", { lang: "fr" }), plugin(), EMPTY_CHAT, T0)), TEXTS.notLinked.es);
    assert.equal(replyText(decide(text("?", { from: false }), plugin(), EMPTY_CHAT, T0)), TEXTS.notLinked.es);
  });

  it("the plugin's idioma forces the language over the sender's language_code", () => {
    assert.equal(replyText(decide(text("leche", { lang: "es" }), plugin({ idioma: "en" }), EMPTY_CHAT, T0)), TEXTS.notLinked.en);
    assert.equal(replyText(decide(text("milk", { lang: "en-US" }), plugin({ idioma: "es" }), EMPTY_CHAT, T0)), TEXTS.notLinked.es);
    // An idioma Joe has no texts for falls back to the sender's language.
    assert.equal(replyText(decide(text("milk", { lang: "en-US" }), plugin({ idioma: "fr" }), EMPTY_CHAT, T0)), TEXTS.notLinked.en);
  });

  it("warns for a voice note or a photo too, and stores nothing (an edit is not even warned about)", () => {
    const voice = messageUpdate({ voice: { file_id: "F", file_unique_id: "U", duration: 3 } });
    const photo = messageUpdate({ photo: [{ file_id: "P", file_unique_id: "PU", width: 90, height: 90 }] });
    for (const u of [voice, photo]) {
      const d = decide(u, plugin(), EMPTY_CHAT, T0);
      assert.equal(d.outcome, "warned:not_linked");
      assert.equal(d.task, undefined);
    }
    const edit = parse({
      update_id: nextUpdateId++,
      edited_message: { message_id: 3, date: 1, edit_date: 2, chat: { id: OWNER_CHAT, type: "private" }, text: "x" },
    });
    const d = decide(edit, plugin(), EMPTY_CHAT, T0);
    assert.equal(d.outcome, "ignored:edited_message");
    assertNothingHappens(d);
    assert.equal(d.intent, undefined);
  });

  it("warns a chat at most once per LIMITS.warnEveryMs", () => {
    let p = plugin();
    let chat = EMPTY_CHAT;
    const outcomes: string[] = [];
    for (const at of [T0, T0 + 1, T0 + LIMITS.warnEveryMs - 1, T0 + LIMITS.warnEveryMs, T0 + LIMITS.warnEveryMs + 5_000, T0 + 2 * LIMITS.warnEveryMs]) {
      const d = decide(text("hola"), p, chat, at);
      outcomes.push(d.outcome);
      if (d.outcome.startsWith("warn_suppressed")) {
        assert.equal(d.reply, undefined);
        assert.equal(d.chatPatch, undefined, "a suppressed warning does not push the window forward");
      }
      ({ plugin: p, chat } = applyDecision(p, chat, d));
    }
    assert.deepEqual(outcomes, [
      "warned:not_linked",
      "warn_suppressed:not_linked",
      "warn_suppressed:not_linked",
      "warned:not_linked",
      "warn_suppressed:not_linked",
      "warned:not_linked",
    ]);
  });

  it("rate-limits per chat: another chat is still warned", () => {
    const d1 = decide(text("hola", { chatId: 1111 }), plugin(), EMPTY_CHAT, T0);
    const warnedChat = applyDecision(plugin(), EMPTY_CHAT, d1).chat;
    assert.equal(decide(text("otra vez", { chatId: 1111 }), plugin(), warnedChat, T0 + 10).outcome, "warn_suppressed:not_linked");
    assert.equal(decide(text("hola", { chatId: 2222 }), plugin(), EMPTY_CHAT, T0 + 10).outcome, "warned:not_linked");
  });

  it("/start without a code asks for the code", () => {
    for (const t of ["/start", "/start@joe_bot", "  /start  "]) {
      const d = decide(text(t), plugin(), EMPTY_CHAT, T0);
      assert.equal(d.outcome, "warned:missing_code", t);
      assert.equal(replyText(d), TEXTS.missingCode.es);
      assert.equal(d.link, undefined);
      assert.equal(d.pluginPatch, undefined, "a missing code is not a failed attempt");
    }
    assert.equal(replyText(decide(text("/start", { lang: "en-GB" }), plugin(), EMPTY_CHAT, T0)), TEXTS.missingCode.en);
  });
});

describe("decide: wrong codes and brute-force limits", () => {
  it("a wrong code counts down the attempts left, then locks the chat for the window", () => {
    let p = plugin();
    let chat = EMPTY_CHAT;
    const replies: Array<string | undefined> = [];
    for (let i = 1; i <= LIMITS.chatFailures; i++) {
      const d = decide(text(`/start JOE-ZZZ${i}`), p, chat, T0 + i * 1000);
      assert.equal(d.outcome, "wrong_code");
      assert.equal(d.link, undefined);
      assert.equal(d.pluginPatch?.intentosFallidos, i, "every wrong code counts against the bot");
      assert.equal(d.chatPatch?.failedStarts, i);
      assert.equal(d.chatPatch?.failedWindowStartedAt, T0 + 1000, "the window starts at the first failure");
      replies.push(replyText(d));
      ({ plugin: p, chat } = applyDecision(p, chat, d));
    }
    // The fifth reply says when the chat may try again: the end of the window its first failure opened.
    const until = T0 + 1000 + LIMITS.chatWindowMs;
    assert.deepEqual(replies, [
      TEXTS.wrongCode.es(4),
      TEXTS.wrongCode.es(3),
      TEXTS.wrongCode.es(2),
      TEXTS.wrongCode.es(1),
      TEXTS.chatLockedOut.es(until, T0 + LIMITS.chatFailures * 1000),
    ]);
    assert.match(replies[0]!, /Te quedan 4 intento/);
    assert.match(replies[4]!, new RegExp(`a partir de las ${new Date(until).toISOString().slice(11, 16)} UTC \\(en 15 min\\)`));
  });

  it("wrong-code replies are not rate-limited (each guess is answered)", () => {
    const chat: ChatState = { lastWarnedAt: T0 - 1, failedStarts: 1, failedWindowStartedAt: T0 - 10_000 };
    const d = decide(text("/start JOE-0000"), plugin({ intentosFallidos: 1 }), chat, T0);
    assert.equal(d.outcome, "wrong_code");
    assert.equal(replyText(d), TEXTS.wrongCode.es(3));
  });

  it("English wrong-code text for en users", () => {
    const d = decide(text("/start JOE-0000", { lang: "en-US" }), plugin(), EMPTY_CHAT, T0);
    assert.equal(replyText(d), TEXTS.wrongCode.en(4));
    assert.match(replyText(d)!, /4 attempt\(s\) left/);
  });

  it("a locked chat cannot link, even with the right code, until the window ends", () => {
    const lockedChat: ChatState = { lastWarnedAt: T0 + 4000, failedStarts: LIMITS.chatFailures, failedWindowStartedAt: T0 };
    const p = plugin({ intentosFallidos: LIMITS.chatFailures });

    // Within a minute of the last warning: nothing at all is said, nothing linked, nothing counted.
    const quiet = decide(text(`/start ${CODE}`), p, lockedChat, T0 + 30_000);
    assert.equal(quiet.outcome, "warn_suppressed:chat_locked");
    assertNothingHappens(quiet);

    // Later in the window: told how long to wait (rounded up), still not linked, not counted.
    const at = T0 + 5 * 60_000 + 1000; // 9 min 59 s left
    const told = decide(text(`/start ${CODE}`), p, lockedChat, at);
    assert.equal(told.outcome, "warned:chat_locked");
    assert.equal(told.link, undefined);
    assert.equal(told.pluginPatch, undefined);
    assert.equal(replyText(told), TEXTS.chatLockedOut.es(T0 + LIMITS.chatWindowMs, at));
    assert.match(replyText(told)!, /\(en 10 min\)/);

    // Last instant of the window: still locked.
    const edge = decide(text(`/start ${CODE}`), p, lockedChat, T0 + LIMITS.chatWindowMs - 1);
    assert.match(edge.outcome, /chat_locked$/);
    assert.equal(edge.link, undefined);

    // Wrong guesses during the lockout are not counted against the bot either.
    const guess = decide(text("/start JOE-9999"), p, lockedChat, at);
    assert.equal(guess.outcome, "warned:chat_locked");
    assert.equal(guess.pluginPatch, undefined);
  });

  it("once the window has passed, the chat may try again: right code links, wrong code opens a new window", () => {
    const lockedChat: ChatState = { lastWarnedAt: T0 + 4000, failedStarts: LIMITS.chatFailures, failedWindowStartedAt: T0 };
    const p = plugin({ intentosFallidos: LIMITS.chatFailures });
    const after = T0 + LIMITS.chatWindowMs;

    const right = decide(text(`/start ${CODE}`), p, lockedChat, after);
    assert.equal(right.outcome, "linked");
    assert.deepEqual(right.link, { chatId: OWNER_CHAT });

    const wrong = decide(text("/start JOE-0000"), p, lockedChat, after + 5);
    assert.equal(wrong.outcome, "wrong_code");
    assert.equal(wrong.chatPatch?.failedStarts, 1);
    assert.equal(wrong.chatPatch?.failedWindowStartedAt, after + 5);
    assert.equal(replyText(wrong), TEXTS.wrongCode.es(LIMITS.chatFailures - 1));
  });

  it("locks the bot at LIMITS.botFailures wrong codes across chats; the right code is refused until the lock ends (or unlink)", () => {
    let p = plugin();
    const chats = new Map<number, ChatState>();
    let now = T0;
    let guesses = 0;
    let lockedAt: number | null = null;
    // An attacker rotates through chats to dodge the per-chat limit.
    for (let chatId = 9000; lockedAt === null && chatId < 9100; chatId++) {
      for (let i = 0; i < LIMITS.chatFailures && lockedAt === null; i++) {
        now += 1000;
        const chat = chats.get(chatId) ?? EMPTY_CHAT;
        const d = decide(text(`/start JOE-${String(guesses).padStart(4, "0")}`, { chatId }), p, chat, now);
        assert.equal(d.link, undefined);
        guesses++;
        const next = applyDecision(p, chat, d);
        p = next.plugin;
        chats.set(chatId, next.chat);
        if (d.outcome === "wrong_code:bot_locked") {
          lockedAt = now;
          assert.equal(replyText(d), TEXTS.botLockedOut.es(now + LIMITS.botLockBaseMs, now));
          assert.match(replyText(d)!, /bloqueada .* hasta las \d\d:\d\d UTC \(en 1 h\)/);
          assert.deepEqual(d.pluginPatch, { intentosFallidos: LIMITS.botFailures, bloqueadoEn: now });
        } else {
          assert.equal(d.outcome, "wrong_code");
        }
      }
    }
    assert.equal(guesses, LIMITS.botFailures, "the bot locks at exactly LIMITS.botFailures wrong codes");
    assert.equal(p.bloqueadoEn, lockedAt);

    // The owner sends the right code from a fresh chat during the lock: refused, told until when.
    const during = lockedAt! + 20 * 60_000;
    const refused = decide(text(`/start ${CODE}`), p, EMPTY_CHAT, during);
    assert.equal(refused.outcome, "warned:bot_locked");
    assert.equal(refused.link, undefined);
    assert.equal(replyText(refused), TEXTS.botLockedOut.es(lockedAt! + LIMITS.botLockBaseMs, during));
    assert.match(replyText(refused)!, /\(en 40 min\).*plugin unlink/);
    // A further guess is refused the same way and not counted.
    const more = decide(text("/start JOE-XXXX"), p, EMPTY_CHAT, during);
    assert.equal(more.outcome, "warned:bot_locked");
    assert.equal(more.pluginPatch, undefined);
    // The bot_locked warning is rate-limited like any warning.
    const again = applyDecision(p, EMPTY_CHAT, refused).chat;
    assert.equal(decide(text(`/start ${CODE}`), p, again, during + 1000).outcome, "warn_suppressed:bot_locked");
    // Last instant of the lock: still refused. Then the right code links, by itself.
    assert.match(decide(text(`/start ${CODE}`), p, EMPTY_CHAT, lockedAt! + LIMITS.botLockBaseMs - 1).outcome, /bot_locked$/);
    const after = decide(text(`/start ${CODE}`), p, EMPTY_CHAT, lockedAt! + LIMITS.botLockBaseMs);
    assert.equal(after.outcome, "linked");

    // Or, at once: `plugin unlink` issues a new code and clears the lock: the new code links.
    const unlinked = { ...p, codigoVerificacion: "JOE-N3W0", intentosFallidos: 0, bloqueadoEn: null };
    const ok = decide(text("/start JOE-N3W0"), unlinked, EMPTY_CHAT, during + 2000);
    assert.equal(ok.outcome, "linked");
    assert.equal(decide(text(`/start ${CODE}`), unlinked, EMPTY_CHAT, during + 3000).outcome, "wrong_code", "the old code no longer works");
  });

  it("each bot lock lasts twice the one before, up to a day: ~100 codes the first day, 20 a day after", () => {
    let p = plugin();
    let now = T0;
    let chatId = 20_000;
    const locks: number[] = [];
    const checkedAt: number[] = [];
    const yearMs = 365 * 24 * 3600_000;
    while (now < T0 + yearMs) {
      // A fresh chat per guess (no chat limit), each guess as soon as the bot takes one.
      const d = decide(text("/start JOE-0000", { chatId: chatId++ }), p, EMPTY_CHAT, now);
      if (d.outcome.startsWith("wrong_code")) checkedAt.push(now);
      if (d.outcome === "wrong_code:bot_locked") locks.push(now);
      else if (d.outcome !== "wrong_code") {
        assert.equal(d.outcome, "warned:bot_locked");
        assert.equal(d.pluginPatch, undefined);
        now += 60_000; // try again a minute later
        continue;
      }
      p = applyDecision(p, EMPTY_CHAT, d).plugin;
      now += 1000;
    }
    const gaps = locks.slice(1).map((t, i) => Math.round((t - locks[i]!) / 60_000) * 60_000);
    const h = 3600_000;
    // The time between two locks is the lock itself (the 20 guesses take 20 s, rounded away).
    assert.deepEqual(gaps.slice(0, 7), [1 * h, 2 * h, 4 * h, 8 * h, 16 * h, 24 * h, 24 * h]);
    const firstDay = checkedAt.filter((t) => t < T0 + 24 * h).length;
    assert.equal(firstDay, 5 * LIMITS.botFailures);
    // In a year: well under 1 % of the 36^4 codes.
    const share = checkedAt.length / 36 ** 4;
    assert.ok(share < 0.005, `${checkedAt.length} codes checked in a year (${(share * 100).toFixed(2)} %)`);
  });

  it("the wrong code that reaches the bot limit locks the bot even if the chat still had attempts", () => {
    const d = decide(text("/start JOE-0000"), plugin({ intentosFallidos: LIMITS.botFailures - 1 }), EMPTY_CHAT, T0);
    assert.equal(d.outcome, "wrong_code:bot_locked");
    assert.equal(d.pluginPatch?.bloqueadoEn, T0);
    assert.equal(d.link, undefined);
  });
});

describe("decide: a verified plugin in its linked chat", () => {
  it("a text message becomes a telegram task with exactly the seed's metadatos_extra", () => {
    const u = text("Comprar leche y pan", { lang: "es" });
    const d = decide(u, linkedPlugin(), EMPTY_CHAT, T0);
    assert.equal(d.outcome, "task");
    assert.equal(d.link, undefined);
    assert.deepEqual(d.task, {
      tipo: "telegram",
      titulo: "Comprar leche y pan",
      metadatos_extra: {
        chat_id: OWNER_CHAT,
        message_id: u.message!.messageId,
        plugin_id: 7,
        owner_id: 3,
        texto_original: "Comprar leche y pan",
      },
    });
  });

  it("a long text gets a cut title and keeps the whole text in texto_original", () => {
    const long = ("palabra ".repeat(60) + "fin").trim();
    const d = decide(text(long), linkedPlugin(), EMPTY_CHAT, T0);
    assert.equal(d.task?.metadatos_extra.texto_original, long);
    assert.ok(d.task!.titulo.endsWith("…"));
    assert.ok(Array.from(d.task!.titulo).length <= 200);
  });

  it("a voice note becomes a telegram_voice task pending transcription", () => {
    const voice = { file_id: "AwACAgIAAxkBAAIB", file_unique_id: "AgADvxQAAk", duration: 12, mime_type: "audio/ogg", file_size: 48213 };
    const u = messageUpdate({ voice });
    const d = decide(u, linkedPlugin(), EMPTY_CHAT, T0);
    assert.equal(d.outcome, "task");
    assert.deepEqual(d.task, {
      tipo: "telegram_voice",
      titulo: "🎤 Nota de voz (0:12)",
      metadatos_extra: {
        chat_id: OWNER_CHAT,
        message_id: u.message!.messageId,
        plugin_id: 7,
        owner_id: 3,
        pendiente_stt: true,
        file_id: voice.file_id,
        file_unique_id: voice.file_unique_id,
        duration: 12,
        mime_type: "audio/ogg",
        file_size: 48213,
        language_code: null,
      },
    });
    assert.equal("texto_original" in d.task!.metadatos_extra, false);
  });

  it("a voice note without mime_type/file_size keeps them as null; English title for en users", () => {
    const u = messageUpdate({ voice: { file_id: "F1", file_unique_id: "U1", duration: 75 } }, { lang: "en-US" });
    const d = decide(u, linkedPlugin(), EMPTY_CHAT, T0);
    assert.equal(d.task?.titulo, "🎤 Voice note (1:15)");
    assert.equal(d.task?.metadatos_extra.mime_type, null);
    assert.equal(d.task?.metadatos_extra.file_size, null);
    assert.equal(d.task?.metadatos_extra.pendiente_stt, true);
  });

  it("confirms with the seed's text and the task code, replying to the user's message", () => {
    const u = text("hola");
    const d = decide(u, linkedPlugin(), EMPTY_CHAT, T0);
    assert.equal(d.reply?.kind, "confirmation");
    assert.equal(d.reply?.replyTo, u.message!.messageId);
    assert.equal(replyText(d, "T-4KQ2"), "✅ Recibido. Encolando... [T-4KQ2]");

    const en = decide(text("hello", { lang: "en-GB" }), linkedPlugin(), EMPTY_CHAT, T0);
    assert.equal(replyText(en, "T-4KQ2"), "✅ Received. Queuing... [T-4KQ2]");
    const forced = decide(text("hello", { lang: "es" }), linkedPlugin({ idioma: "en" }), EMPTY_CHAT, T0);
    assert.equal(replyText(forced, "T-0001"), "✅ Received. Queuing... [T-0001]");

    const voice = decide(messageUpdate({ voice: { file_id: "F", file_unique_id: "U", duration: 1 } }), linkedPlugin(), EMPTY_CHAT, T0);
    assert.equal(replyText(voice, "T-ZZZZ"), "✅ Recibido. Encolando... [T-ZZZZ]");
  });

  it("messages are never rate-limited: each one is a task, even right after a warning", () => {
    const chat: ChatState = { lastWarnedAt: T0 - 1, failedStarts: 0, failedWindowStartedAt: null };
    for (let i = 0; i < 3; i++) {
      const d = decide(text(`nota ${i}`), linkedPlugin(), chat, T0 + i);
      assert.equal(d.outcome, "task");
      assert.ok(d.reply);
    }
  });

  it("a group chat with a 52-bit negative id is linked and its tasks carry the exact id", () => {
    const groupId = -4_503_599_627_370_495; // -(2^52 - 1)
    const d = decide(text("idea del grupo", { chatId: groupId }), linkedPlugin({ chatIdVerificado: groupId }), EMPTY_CHAT, T0);
    assert.equal(d.outcome, "task");
    assert.equal(d.task?.metadatos_extra.chat_id, groupId);
    assert.equal(d.chatId, groupId);
  });

  it("/start from the linked chat says it is already linked and creates no task", () => {
    for (const t of ["/start", `/start ${CODE}`, "/start JOE-OTHR", `/start@joe_bot ${CODE}`]) {
      const u = text(t);
      const d = decide(u, linkedPlugin(), EMPTY_CHAT, T0);
      assert.equal(d.outcome, "already_linked", t);
      assert.equal(d.task, undefined);
      assert.equal(d.link, undefined);
      assert.equal(replyText(d), TEXTS.alreadyLinked.es);
      assert.equal(d.reply?.replyTo, u.message!.messageId);
      assert.equal(d.pluginPatch, undefined);
    }
  });

  it("a sticker gets the 'what I can take' reply and no task", () => {
    const sticker = messageUpdate(
      { sticker: { file_id: "S", file_unique_id: "SU", type: "regular", width: 512, height: 512, is_animated: false, is_video: false } },
      { lang: "en" },
    );
    const ds = decide(sticker, linkedPlugin(), EMPTY_CHAT, T0);
    assert.equal(ds.outcome, "unsupported");
    assert.equal(ds.task, undefined);
    assert.equal(replyText(ds), TEXTS.unsupported.en);
    assert.equal(ds.reply?.replyTo, sticker.message!.messageId);
  });
});

describe("decide: one chat per plugin (user sovereignty)", () => {
  it("another chat gets a linked_elsewhere warning and nothing is created or relinked", () => {
    for (const t of ["hola", `/start ${CODE}`, "/start", `/start@joe_bot ${CODE}`]) {
      const d = decide(text(t, { chatId: OTHER_CHAT }), linkedPlugin(), EMPTY_CHAT, T0);
      assert.equal(d.outcome, "warned:linked_elsewhere", t);
      assert.equal(replyText(d), TEXTS.linkedElsewhere.es);
      assert.equal(d.task, undefined);
      assert.equal(d.link, undefined);
      assert.equal(d.pluginPatch, undefined);
      assert.equal(d.chatId, OTHER_CHAT);
    }
    const voice = messageUpdate({ voice: { file_id: "F", file_unique_id: "U", duration: 5 } }, { chatId: OTHER_CHAT, lang: "en" });
    const dv = decide(voice, linkedPlugin(), EMPTY_CHAT, T0);
    assert.equal(dv.outcome, "warned:linked_elsewhere");
    assert.equal(dv.task, undefined);
    assert.equal(replyText(dv), TEXTS.linkedElsewhere.en);
  });

  it("the linked_elsewhere warning is rate-limited per chat", () => {
    const p = linkedPlugin();
    const d1 = decide(text("uno", { chatId: OTHER_CHAT }), p, EMPTY_CHAT, T0);
    const chat = applyDecision(p, EMPTY_CHAT, d1).chat;
    const d2 = decide(text("dos", { chatId: OTHER_CHAT }), p, chat, T0 + 30_000);
    assert.equal(d2.outcome, "warn_suppressed:linked_elsewhere");
    assertNothingHappens(d2);
    assert.equal(decide(text("tres", { chatId: OTHER_CHAT }), p, chat, T0 + LIMITS.warnEveryMs).outcome, "warned:linked_elsewhere");
  });
});

describe("decide: what is ignored", () => {
  const service = () => [
    messageUpdate({ new_chat_members: [{ id: 5, is_bot: false, first_name: "Ana" }] }, { chatId: -100500 }),
    messageUpdate({ left_chat_member: { id: 5, is_bot: false, first_name: "Ana" } }, { chatId: -100500 }),
    messageUpdate({ new_chat_title: "Ideas" }, { chatId: -100500 }),
    messageUpdate({ pinned_message: { message_id: 1, date: 1, chat: { id: -100500, type: "supergroup" }, text: "x" } }, { chatId: -100500 }),
  ];

  it("service messages (members joining, title changes, pins) are ignored, linked or not", () => {
    for (const p of [plugin(), linkedPlugin({ chatIdVerificado: -100500 }), linkedPlugin()]) {
      for (const u of service()) {
        const d = decide(u, p, EMPTY_CHAT, T0);
        assert.equal(d.outcome, "ignored:service");
        assertNothingHappens(d);
        assert.equal(d.chatPatch, undefined);
      }
    }
  });

  it("messages from bots are ignored, linked or not, even a /start with the right code", () => {
    for (const p of [plugin(), linkedPlugin()]) {
      for (const t of ["hola", `/start ${CODE}`]) {
        const d = decide(text(t, { isBot: true }), p, EMPTY_CHAT, T0);
        assert.equal(d.outcome, "ignored:from_bot");
        assertNothingHappens(d);
        assert.equal(d.chatPatch, undefined);
      }
    }
  });

  it("non-message updates are ignored without a reply", () => {
    const msg = {
      message_id: 9,
      date: 1,
      chat: { id: OWNER_CHAT, type: "private" },
      from: { id: OWNER_CHAT, is_bot: false, first_name: "P" },
      text: "editado",
    };
    const updates: Array<[string, Record<string, unknown>]> = [
      ["channel_post", { channel_post: { ...msg, chat: { id: -100777, type: "channel" } } }],
      ["callback_query", { callback_query: { id: "cb1", from: msg.from, chat_instance: "ci", data: "x" } }],
      ["my_chat_member", { my_chat_member: { chat: msg.chat, from: msg.from, date: 1, old_chat_member: {}, new_chat_member: {} } }],
      ["message_reaction", { message_reaction: { chat: msg.chat, message_id: 9, date: 1, old_reaction: [], new_reaction: [] } }],
      ["unknown", { some_future_update: { x: 1 } }],
    ];
    for (const [kind, body] of updates) {
      const u = parse({ update_id: nextUpdateId++, ...body });
      assert.equal(u.kind, kind);
      for (const p of [plugin(), linkedPlugin()]) {
        const d = decide(u, p, EMPTY_CHAT, T0);
        assert.equal(d.outcome, `ignored:${kind}`);
        assertNothingHappens(d);
        assert.equal(d.chatPatch, undefined);
      }
    }
  });
});

// ---- The chat becomes two-way: commands, undo, edits, photos, documents, forwards -------------

function edited(fields: Record<string, unknown>, messageId = 60, o: { chatId?: number; lang?: string } = {}): ParsedUpdate {
  const chatId = o.chatId ?? OWNER_CHAT;
  return parse({
    update_id: nextUpdateId++,
    edited_message: {
      message_id: messageId,
      date: 1_700_000_000,
      edit_date: 1_700_000_100,
      chat: { id: chatId, type: "private" },
      from: { id: chatId, is_bot: false, first_name: "Pedro", ...(o.lang ? { language_code: o.lang } : {}) },
      ...fields,
    },
  });
}

describe("decide: chat commands", () => {
  it("/tareas, /tasks, /tareas@joe_bot ask for the list, in the sender's language; nothing else happens", () => {
    for (const [t, lang] of [
      ["/tareas", "es"],
      ["/tasks", "en"],
      ["/tareas@joe_bot", "es"],
      ["/TAREAS todas", "es"],
    ] as const) {
      const u = text(t, { lang });
      const d = decide(u, linkedPlugin(), EMPTY_CHAT, T0);
      assert.equal(d.outcome, "command:list_tasks", t);
      assert.deepEqual(d.intent, { kind: "list_tasks", lang, replyTo: u.message!.messageId });
      assertNothingHappens(d);
    }
  });

  it("/deshacer and /undo: the last task, or the replied message's", () => {
    const last = decide(text("/deshacer"), linkedPlugin(), EMPTY_CHAT, T0);
    assert.equal(last.outcome, "command:undo");
    assert.deepEqual((last.intent as Extract<ChatIntent, { kind: "undo" }>).target, { kind: "last" });
    assertNothingHappens(last);
    const reply = messageUpdate(
      { text: "/undo", reply_to_message: { message_id: 12, date: 1, chat: { id: OWNER_CHAT, type: "private" }, text: "✅" } },
      { lang: "en" },
    );
    const d = decide(reply, linkedPlugin(), EMPTY_CHAT, T0);
    assert.deepEqual(d.intent, { kind: "undo", lang: "en", replyTo: reply.message!.messageId, target: { kind: "reply", messageId: 12 } });
  });

  it("a command for another bot is ignored; look-alikes are notes", () => {
    const other = decide(text("/tareas@otro_bot"), linkedPlugin(), EMPTY_CHAT, T0);
    assert.equal(other.outcome, "ignored:other_bot_command");
    assertNothingHappens(other);
    assert.equal(other.intent, undefined);
    for (const t of ["/tareasx", "tareas", "mis /tareas", "/deshacerlo"]) {
      const d = decide(text(t), linkedPlugin(), EMPTY_CHAT, T0);
      assert.equal(d.outcome, "task", t);
      assert.equal(d.intent, undefined);
    }
  });

  it("commands from another chat are warned about like any message, not carried out", () => {
    const d = decide(text("/deshacer", { chatId: OTHER_CHAT }), linkedPlugin(), EMPTY_CHAT, T0);
    assert.equal(d.outcome, "warned:linked_elsewhere");
    assert.equal(d.intent, undefined);
  });

  it("parseChatCommand reads only the four commands", () => {
    assert.deepEqual(parseChatCommand("/tareas"), { command: "list_tasks", bot: undefined });
    assert.deepEqual(parseChatCommand(" /Undo@Joe_Bot  "), { command: "undo", bot: "Joe_Bot" });
    assert.equal(parseChatCommand("/start"), null);
    assert.equal(parseChatCommand(undefined), null);
  });
});

describe("decide: photos, documents, forwards", () => {
  it("a photo with a caption is a task titled by the caption, with its largest size as adjunto", () => {
    const u = messageUpdate({
      caption: "pizarra de la reunión",
      photo: [
        { file_id: "small", file_unique_id: "s", width: 90, height: 90, file_size: 900 },
        { file_id: "big", file_unique_id: "b", width: 1280, height: 1280, file_size: 99_000 },
      ],
    });
    const d = decide(u, linkedPlugin(), EMPTY_CHAT, T0);
    assert.equal(d.outcome, "task");
    assert.equal(d.task?.tipo, "telegram");
    assert.equal(d.task?.titulo, "pizarra de la reunión");
    assert.equal(d.task?.metadatos_extra.texto_original, "pizarra de la reunión");
    assert.deepEqual(d.task?.metadatos_extra.adjunto, {
      kind: "photo",
      file_id: "big",
      file_unique_id: "b",
      file_name: null,
      mime_type: null,
      file_size: 99_000,
      width: 1280,
      height: 1280,
    });
    assert.equal(replyText(d, "T-ABCD"), TEXTS.received.es("T-ABCD"));
  });

  it("without a caption: 📷 Foto / 📎 <file name>, in the sender's language", () => {
    const photo = decide(
      messageUpdate({ photo: [{ file_id: "P", file_unique_id: "PU", width: 9, height: 9 }] }, { lang: "en" }),
      linkedPlugin(),
      EMPTY_CHAT,
      T0,
    );
    assert.equal(photo.task?.titulo, "📷 Photo");
    assert.equal(photo.task?.metadatos_extra.texto_original, undefined);
    const doc = decide(
      messageUpdate({ document: { file_id: "D", file_unique_id: "DU", file_name: "factura.pdf", mime_type: "application/pdf", file_size: 10 } }),
      linkedPlugin(),
      EMPTY_CHAT,
      T0,
    );
    assert.equal(doc.task?.titulo, "📎 factura.pdf");
    assert.deepEqual(doc.task?.metadatos_extra.adjunto, {
      kind: "document",
      file_id: "D",
      file_unique_id: "DU",
      file_name: "factura.pdf",
      mime_type: "application/pdf",
      file_size: 10,
    });
    const nameless = decide(messageUpdate({ document: { file_id: "D", file_unique_id: "DU" } }), linkedPlugin(), EMPTY_CHAT, T0);
    assert.equal(nameless.task?.titulo, "📎 Documento");
  });

  it("a forwarded note keeps where it came from in reenviado_de", () => {
    const u = messageUpdate({
      text: "idea de Ana",
      forward_origin: { type: "user", date: 1_700_000_000, sender_user: { id: 5, is_bot: false, first_name: "Ana" } },
    });
    const d = decide(u, linkedPlugin(), EMPTY_CHAT, T0);
    assert.deepEqual(d.task?.metadatos_extra.reenviado_de, { type: "user", name: "Ana", id: 5, date: "2023-11-14T22:13:20.000Z" });
    assert.equal(decide(text("propia"), linkedPlugin(), EMPTY_CHAT, T0).task?.metadatos_extra.reenviado_de, undefined);
  });
});

describe("decide: edits", () => {
  it("an edit in the linked chat asks the writer to update that message's task", () => {
    const d = decide(edited({ text: "comprar pan integral" }, 60, { lang: "en" }), linkedPlugin(), EMPTY_CHAT, T0);
    assert.equal(d.outcome, "edit");
    assert.deepEqual(d.intent, { kind: "edit", lang: "en", messageId: 60, text: "comprar pan integral", editedAt: "2023-11-14T22:15:00.000Z" });
    assertNothingHappens(d);
  });

  it("edits from another chat, from bots, or of a live location are ignored", () => {
    for (const [u, p] of [
      [edited({ text: "x" }, 60, { chatId: OTHER_CHAT }), linkedPlugin()],
      [edited({ location: { latitude: 1, longitude: 2 } }), linkedPlugin()],
      [edited({ text: "x" }), plugin()],
    ] as const) {
      const d = decide(u, p, EMPTY_CHAT, T0);
      assert.equal(d.outcome, "ignored:edited_message");
      assertNothingHappens(d);
      assert.equal(d.intent, undefined);
      assert.equal(d.chatPatch, undefined);
    }
  });
});

describe("decide-chat: what /tareas, /deshacer and edits answer", () => {
  const task = (over: Partial<TaskSnapshot> = {}): TaskSnapshot => ({
    id: 1,
    codigo: "T-AAAA",
    estado: "queued",
    titulo: "comprar pan",
    tipo: "telegram",
    metadatos_extra: { chat_id: OWNER_CHAT, message_id: 60, texto_original: "comprar pan" },
    ...over,
  });
  const editOf = (t: string, lang: "es" | "en" = "es"): Extract<ChatIntent, { kind: "edit" }> => ({
    kind: "edit",
    lang,
    messageId: 60,
    text: t,
    editedAt: "2026-01-01T00:00:00.000Z",
  });

  it("the list: code, state and title per line; an empty chat is said so", () => {
    const text = taskListText([task({ codigo: "T-BBBB", estado: "done", titulo: "b" }), task()], "es");
    assert.equal(text, "📋 Tus últimas tareas:\n[T-BBBB] ✔️ hecha — b\n[T-AAAA] ⏳ en cola — comprar pan");
    assert.equal(taskListText([], "en"), TEXTS.taskListEmpty.en);
    const long = taskListText([task({ titulo: "x ".repeat(150) })], "en");
    const title = long.split("\n")[1]!.split(" — ")[1]!;
    assert.ok(title.length <= 80 && title.endsWith("…"), `long titles are cut in the list: ${title.length}`);
  });

  it("undo: a queued task is cancelled; any other state is refused with its reason", () => {
    assert.deepEqual(decideUndo(task(), "last", "es"), { outcome: "undo:cancelled", cancel: true, text: TEXTS.undone.es("T-AAAA") });
    for (const estado of ["in_progress", "done", "failed", "cancelled"]) {
      const d = decideUndo(task({ estado }), "reply", "en");
      assert.equal(d.cancel, false);
      assert.equal(d.outcome, "undo:refused");
      assert.match(d.text, /T-AAAA.*no longer queued/);
    }
    assert.equal(decideUndo(null, "last", "es").outcome, "undo:nothing");
    assert.equal(decideUndo(null, "reply", "es").outcome, "undo:not_a_task");
  });

  it("an edit of a queued task replaces the text and keeps the earlier ones in versiones", () => {
    const first = decideEdit(task(), editOf("comprar pan integral"));
    assert.equal(first.outcome, "edit:applied");
    if (first.outcome !== "edit:applied") return;
    assert.equal(first.titulo, "comprar pan integral");
    assert.deepEqual(first.metadatos_extra.versiones, [{ texto: "comprar pan", editado_en: "2026-01-01T00:00:00.000Z" }]);
    assert.equal(first.metadatos_extra.texto_original, "comprar pan integral");
    assert.equal(first.metadatos_extra.editado_en, "2026-01-01T00:00:00.000Z");
    const second = decideEdit(task({ metadatos_extra: first.metadatos_extra, titulo: first.titulo }), editOf("comprar dos panes"));
    assert.equal(second.outcome, "edit:applied");
    if (second.outcome === "edit:applied")
      assert.deepEqual(
        (second.metadatos_extra.versiones as Array<{ texto: string }>).map((v) => v.texto),
        ["comprar pan", "comprar pan integral"],
      );
  });

  it("an edit after the task left the queue is noted, not applied; no task, voice notes, same text: nothing", () => {
    const d = decideEdit(task({ estado: "in_progress" }), editOf("otra cosa", "en"));
    assert.equal(d.outcome, "edit:noted");
    if (d.outcome !== "edit:noted") return;
    assert.deepEqual(d.metadatos_extra.ediciones_no_aplicadas, [{ texto: "otra cosa", editado_en: "2026-01-01T00:00:00.000Z" }]);
    assert.equal(d.metadatos_extra.texto_original, "comprar pan");
    assert.equal(d.metadatos_extra.versiones, undefined);
    assert.match(d.text, /T-AAAA.*in progress/);
    assert.equal(decideEdit(null, editOf("x")).outcome, "edit:no_task");
    assert.equal(decideEdit(task({ tipo: "telegram_voice" }), editOf("x")).outcome, "edit:not_editable");
    assert.equal(decideEdit(task(), editOf("comprar pan")).outcome, "edit:unchanged");
  });

  it("messages that only make a task (text, voice, photo, document) plan rows alone; commands and edits read tasks first", () => {
    const p = linkedPlugin();
    const plan = (u: ParsedUpdate) =>
      planBatch([{ index: 0, pluginId: p.id, update: u }], { plugins: new Map([[p.id, p]]), chats: new Map() }, 1_700_000_000_000)[0]!;
    for (const u of [
      text("nota"),
      messageUpdate({ voice: { file_id: "F", file_unique_id: "U", duration: 3 } }),
      messageUpdate({ photo: [{ file_id: "P", file_unique_id: "PU", width: 9, height: 9 }] }),
      messageUpdate({ document: { file_id: "D", file_unique_id: "DU" } }),
    ])
      assert.equal(onlyRows(plan(u)), true);
    for (const u of [text("/tareas"), text("/undo@joe_bot"), edited({ text: "x" })]) assert.equal(onlyRows(plan(u)), false);
  });
});
