// Unit tests of parseUpdate: what Joe reads from a Telegram Update, and what it refuses.
// Bodies are written as JSON text and run through JSON.parse, as the webhook receives them.
import { describe, it } from "node:test";
import assert from "node:assert/strict";

import { parseUpdate, type ParsedUpdate } from "../../src/telegram/update.ts";

function ok(body: unknown): ParsedUpdate {
  const r = parseUpdate(body);
  if (!r.ok) assert.fail(`expected ok, got error: ${r.error}`);
  return r.update;
}
function notOk(body: unknown): string {
  const r = parseUpdate(body);
  assert.equal(r.ok, false, `expected not ok for ${JSON.stringify(body)}`);
  return (r as { ok: false; error: string }).error;
}

const PRIVATE = { id: 123456789, type: "private", first_name: "Pedro", username: "pedro" };
const FROM = { id: 123456789, is_bot: false, first_name: "Pedro", language_code: "es" };
const msg = (fields: Record<string, unknown>) => ({ message_id: 42, date: 1_700_000_000, chat: PRIVATE, from: FROM, ...fields });

describe("parseUpdate: messages Joe takes", () => {
  it("a text message", () => {
    const u = ok(JSON.parse(JSON.stringify({ update_id: 10, message: msg({ text: "Comprar leche" }) })));
    assert.deepEqual(u, {
      updateId: 10,
      kind: "message",
      message: { messageId: 42, chatId: 123456789, chatType: "private", languageCode: "es", fromBot: false, kind: "text", text: "Comprar leche" },
    });
  });

  it("a /start command is a text message like any other", () => {
    const u = ok({ update_id: 1, message: msg({ text: "/start JOE-A1B2", entities: [{ type: "bot_command", offset: 0, length: 6 }] }) });
    assert.equal(u.message?.kind, "text");
    assert.equal(u.message?.text, "/start JOE-A1B2");
  });

  it("a voice note, with every field a transcriber needs", () => {
    const voice = { file_id: "AwACAgIAAxkBAAIB", file_unique_id: "AgADvxQAAk", duration: 12, mime_type: "audio/ogg", file_size: 48213 };
    const u = ok({ update_id: 11, message: msg({ voice }) });
    assert.equal(u.message?.kind, "voice");
    assert.deepEqual(u.message?.voice, voice);
    assert.equal(u.message?.text, undefined);
  });

  it("a voice note with only the required fields (mime_type and file_size are optional)", () => {
    const u = ok({ update_id: 12, message: msg({ voice: { file_id: "F", file_unique_id: "U", duration: 0 } }) });
    assert.equal(u.message?.kind, "voice");
    assert.deepEqual(u.message?.voice, { file_id: "F", file_unique_id: "U", duration: 0 });
  });

  it("a voice note with a caption is still a voice note", () => {
    const u = ok({ update_id: 13, message: msg({ voice: { file_id: "F", file_unique_id: "U", duration: 3 }, caption: "ojo" }) });
    assert.equal(u.message?.kind, "voice");
  });

  it("sender details: bots flagged, language optional, no sender at all", () => {
    assert.equal(ok({ update_id: 1, message: msg({ text: "x", from: { id: 99, is_bot: true, first_name: "B" } }) }).message?.fromBot, true);
    const noLang = ok({ update_id: 2, message: msg({ text: "x", from: { id: 5, is_bot: false, first_name: "A" } }) }).message!;
    assert.equal(noLang.fromBot, false);
    assert.equal(noLang.languageCode, undefined);
    const { from: _omit, ...anonymous } = msg({ text: "x" });
    const anon = ok({ update_id: 3, message: anonymous }).message!;
    assert.equal(anon.fromBot, false);
    assert.equal(anon.languageCode, undefined);
    assert.equal(anon.kind, "text");
  });
});

describe("parseUpdate: messages Joe does not take", () => {
  it("sticker, location, audio are kind other; a photo or document that cannot be read too", () => {
    const bodies = [
      { sticker: { file_id: "S", file_unique_id: "SU", type: "regular", width: 512, height: 512, is_animated: false, is_video: false } },
      { location: { latitude: 40.4, longitude: -3.7 } },
      { audio: { file_id: "A", file_unique_id: "AU", duration: 200 } },
      { photo: [], caption: "sin tamaños" },
      { photo: [{ file_id: "", file_unique_id: "PU", width: 90, height: 90 }] },
      { document: { file_id: "D", file_name: "sin-unique-id.pdf" } },
      { document: "a.pdf" },
    ];
    for (const b of bodies) {
      const m = ok({ update_id: 20, message: msg(b) }).message!;
      assert.equal(m.kind, "other", JSON.stringify(b));
      assert.equal(m.text, undefined);
      assert.equal(m.voice, undefined);
      assert.equal(m.attachment, undefined);
    }
  });
});

describe("parseUpdate: photos, documents, replies, forwards, edits", () => {
  it("a photo: its largest size, and the caption apart from text", () => {
    const m = ok({
      update_id: 22,
      message: msg({
        caption: "mira esto",
        photo: [
          { file_id: "S", file_unique_id: "SU", width: 90, height: 60, file_size: 1000 },
          { file_id: "L", file_unique_id: "LU", width: 1280, height: 853, file_size: 90_000 },
          { file_id: "M", file_unique_id: "MU", width: 320, height: 213, file_size: 9000 },
        ],
      }),
    }).message!;
    assert.equal(m.kind, "photo");
    assert.equal(m.text, undefined);
    assert.equal(m.caption, "mira esto");
    assert.deepEqual(m.attachment, {
      kind: "photo",
      file_id: "L",
      file_unique_id: "LU",
      file_name: null,
      mime_type: null,
      file_size: 90_000,
      width: 1280,
      height: 853,
    });
  });

  it("a document with its name and type", () => {
    const m = ok({
      update_id: 23,
      message: msg({ document: { file_id: "D", file_unique_id: "DU", file_name: "factura.pdf", mime_type: "application/pdf", file_size: 12_345 } }),
    }).message!;
    assert.equal(m.kind, "document");
    assert.equal(m.caption, undefined);
    assert.deepEqual(m.attachment, {
      kind: "document",
      file_id: "D",
      file_unique_id: "DU",
      file_name: "factura.pdf",
      mime_type: "application/pdf",
      file_size: 12_345,
    });
  });

  it("a reply names the message it answers; a forward keeps its origin (user, hidden user, channel)", () => {
    const r = ok({ update_id: 24, message: msg({ text: "/deshacer", reply_to_message: { message_id: 77, date: 1, chat: PRIVATE, text: "✅" } }) }).message!;
    assert.equal(r.replyToMessageId, 77);
    const user = ok({
      update_id: 25,
      message: msg({
        text: "reenviado",
        forward_origin: { type: "user", date: 1_700_000_000, sender_user: { id: 99, is_bot: false, first_name: "Ana", last_name: "Pérez", username: "ana" } },
      }),
    }).message!;
    assert.deepEqual(user.forwardOrigin, { type: "user", name: "Ana Pérez", id: 99, username: "ana", date: "2023-11-14T22:13:20.000Z" });
    const hidden = ok({ update_id: 26, message: msg({ text: "x", forward_origin: { type: "hidden_user", date: 1_700_000_000, sender_user_name: "Alguien" } }) })
      .message!;
    assert.deepEqual(hidden.forwardOrigin, { type: "hidden_user", name: "Alguien", date: "2023-11-14T22:13:20.000Z" });
    const channel = ok({
      update_id: 27,
      message: msg({
        text: "x",
        forward_origin: { type: "channel", date: 1_700_000_000, chat: { id: -100123, type: "channel", title: "Noticias" }, message_id: 5 },
      }),
    }).message!;
    assert.deepEqual(channel.forwardOrigin, { type: "channel", name: "Noticias", id: -100123, message_id: 5, date: "2023-11-14T22:13:20.000Z" });
    const broken = ok({ update_id: 28, message: msg({ text: "x", forward_origin: { type: "user", date: 1e300 } }) }).message!;
    assert.equal(broken.forwardOrigin, undefined, "an origin we cannot read is left out, the message still taken");
    assert.equal(broken.kind, "text");
  });

  it("an edited message carries the message, marked edited, with its edit date", () => {
    const u = ok({ update_id: 29, edited_message: msg({ text: "editado", edit_date: 1_700_000_100 }) });
    assert.equal(u.kind, "edited_message");
    assert.equal(u.message?.edited, true);
    assert.equal(u.message?.text, "editado");
    assert.equal(u.message?.editDate, 1_700_000_100);
    const photo = ok({
      update_id: 30,
      edited_message: msg({ caption: "nuevo pie", photo: [{ file_id: "P", file_unique_id: "PU", width: 9, height: 9 }], edit_date: 2 }),
    });
    assert.equal(photo.message?.kind, "photo");
    assert.equal(photo.message?.text, "nuevo pie", "an edited caption is the edit's text");
  });
  it("service messages are kind service", () => {
    const group = { id: -1001234567890, type: "supergroup", title: "Ideas" };
    const bodies = [
      { new_chat_members: [{ id: 5, is_bot: false, first_name: "Ana" }] },
      { left_chat_member: { id: 5, is_bot: false, first_name: "Ana" } },
      { new_chat_title: "Ideas 2" },
      { group_chat_created: true },
      { migrate_to_chat_id: -1009999999999 },
      { pinned_message: { message_id: 1, date: 1, chat: group, text: "fijado" } },
      { forum_topic_created: { name: "t", icon_color: 1 } },
      { video_chat_started: {} },
    ];
    for (const b of bodies) {
      const m = ok({ update_id: 21, message: { message_id: 1, date: 1, chat: group, from: FROM, ...b } }).message!;
      assert.equal(m.kind, "service", JSON.stringify(b));
      assert.equal(m.chatId, -1001234567890);
    }
  });
});

describe("parseUpdate: update kinds", () => {
  const cases: Array<[string, unknown]> = [
    ["channel_post", { message_id: 1, date: 1, chat: { id: -1001, type: "channel" }, text: "post" }],
    ["edited_channel_post", { message_id: 1, date: 1, chat: { id: -1001, type: "channel" }, text: "post" }],
    ["callback_query", { id: "1", from: FROM, chat_instance: "x", data: "d" }],
    ["inline_query", { id: "1", from: FROM, query: "q", offset: "" }],
    ["my_chat_member", { chat: PRIVATE, from: FROM, date: 1, old_chat_member: {}, new_chat_member: {} }],
    ["chat_member", { chat: PRIVATE, from: FROM, date: 1, old_chat_member: {}, new_chat_member: {} }],
    ["message_reaction", { chat: PRIVATE, message_id: 1, date: 1, old_reaction: [], new_reaction: [] }],
    ["poll", { id: "p", question: "?", options: [] }],
    ["business_message", msg({ text: "b" })],
  ];
  for (const [kind, payload] of cases) {
    it(`${kind} is named and carries no message`, () => {
      const u = ok({ update_id: 30, [kind]: payload });
      assert.equal(u.kind, kind);
      assert.equal(u.message, undefined);
      assert.equal(u.updateId, 30);
    });
  }

  it("an edited message with a broken body is still just an edited_message, without a message (nothing to apply)", () => {
    const u = ok({ update_id: 31, edited_message: { weird: true } });
    assert.equal(u.kind, "edited_message");
    assert.equal(u.message, undefined);
  });

  it("an update of a kind not known yet is 'unknown', not an error", () => {
    const u = ok({ update_id: 32, brand_new_update_type: { a: 1 } });
    assert.equal(u.kind, "unknown");
    assert.equal(u.message, undefined);
    assert.equal(ok({ update_id: 0 }).kind, "unknown");
  });

  it("a null message field does not count as a message", () => {
    const u = ok({ update_id: 33, message: null, edited_message: msg({ text: "e" }) });
    assert.equal(u.kind, "edited_message");
    assert.equal(u.message?.edited, true);
  });
});

describe("parseUpdate: what is refused", () => {
  it("no valid update_id → not ok", () => {
    const bodies: unknown[] = [
      { message: msg({ text: "x" }) },
      { update_id: "10", message: msg({ text: "x" }) },
      { update_id: 1.5 },
      { update_id: -1 },
      { update_id: null },
      {},
      [],
      null,
      "update",
      42,
      true,
      undefined,
      { update_id: 2 ** 53 },
    ];
    for (const b of bodies) {
      const error = notOk(b);
      assert.match(error, /update_id/, JSON.stringify(b));
    }
  });

  it("a message with wrong types → not ok, naming the field", () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ ...msg({ text: "x" }), chat: { id: "123", type: "private" } }, /chat\.id/],
      [{ ...msg({ text: "x" }), chat: { id: 123 } }, /chat\.type/],
      [{ ...msg({ text: "x" }), chat: undefined }, /chat/],
      [{ ...msg({ text: "x" }), message_id: "42" }, /message_id/],
      [{ ...msg({ text: "x" }), message_id: undefined }, /message_id/],
      [msg({ text: 12345 }), /text/],
      [msg({ voice: { file_id: "F", file_unique_id: "U", duration: -3 } }), /voice\.duration/],
      [msg({ voice: { file_id: "F", file_unique_id: "U", duration: "12" } }), /voice\.duration/],
      [msg({ voice: { file_id: "", file_unique_id: "U", duration: 1 } }), /voice\.file_id/],
      [msg({ voice: { file_unique_id: "U", duration: 1 } }), /voice\.file_id/],
      [msg({ voice: { file_id: "F", file_unique_id: "U", duration: 1, file_size: "big" } }), /voice\.file_size/],
      [msg({ from: { id: 5, is_bot: "no" }, text: "x" }), /from\.is_bot/],
      [msg({ from: { id: 5, language_code: 7 }, text: "x" }), /from\.language_code/],
    ];
    for (const [message, field] of cases) {
      const error = notOk({ update_id: 40, message });
      assert.match(error, /^message not understood/, error);
      assert.match(error, field, `${error} should name ${field}`);
    }
  });

  it("a message that is not an object → not ok", () => {
    for (const m of ["hola", 7, [], true]) {
      const error = notOk({ update_id: 41, message: m });
      assert.match(error, /^message not understood/);
    }
  });

  it("ids that a JavaScript number cannot hold exactly are refused, not rounded", () => {
    const error = notOk(JSON.parse('{"update_id":42,"message":{"message_id":1,"chat":{"id":-9007199254740993,"type":"group"},"text":"x"}}'));
    assert.match(error, /chat\.id/);
  });
});

describe("parseUpdate: ids and extra fields", () => {
  it("keeps 52-bit negative group chat ids exactly", () => {
    for (const idText of ["-1001234567890", "-4503599627370495", "-4503599627370496", "-1009876543210123"]) {
      const body = JSON.parse(
        `{"update_id":987654321,"message":{"message_id":2147483647,"date":1,"chat":{"id":${idText},"type":"supergroup","title":"G"},"from":{"id":4503599627370495,"is_bot":false,"first_name":"A"},"text":"hola"}}`,
      );
      const m = ok(body).message!;
      assert.equal(String(m.chatId), idText);
      assert.equal(m.chatId, Number(idText));
      assert.equal(m.chatType, "supergroup");
      assert.equal(m.messageId, 2147483647);
    }
  });

  it("keeps large update_ids exactly", () => {
    assert.equal(ok(JSON.parse('{"update_id":4503599627370495}')).updateId, 4503599627370495);
  });

  it("allows unknown extra fields at every level (Telegram adds fields over time)", () => {
    const body = {
      update_id: 50,
      some_future_field: { nested: [1, 2, 3] },
      message: {
        ...msg({ text: "hola" }),
        entities: [{ type: "bold", offset: 0, length: 4 }],
        link_preview_options: { is_disabled: true },
        forward_origin: { type: "user", date: 1, sender_user: FROM },
        message_thread_id: 7,
        brand_new_message_field: "x",
        chat: { ...PRIVATE, has_new_field: true, photo: { small_file_id: "s" } },
        from: { ...FROM, is_premium: true, added_to_attachment_menu: true, future: 1 },
      },
    };
    const u = ok(body);
    assert.equal(u.message?.kind, "text");
    assert.equal(u.message?.text, "hola");
    assert.equal(u.message?.languageCode, "es");
    const v = ok({ update_id: 51, message: msg({ voice: { file_id: "F", file_unique_id: "U", duration: 4, future: "z" } }) });
    assert.equal(v.message?.kind, "voice");
  });
});
