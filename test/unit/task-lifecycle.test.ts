// Pure pieces of the task API: cutting a chat message to Telegram's limit without breaking a
// character, the opaque cursor, and the result texts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { cutForTelegram } from "../../src/tasks/lifecycle.ts";
import { decodeCursor, encodeCursor } from "../../src/tasks/query.ts";
import { TEXTS } from "../../src/telegram/texts.ts";
import { JoeError } from "../../src/errors.ts";

test("cutForTelegram: at most 4096 UTF-16 units, ends with …, never half an emoji", () => {
  assert.equal(cutForTelegram("hola"), "hola");
  assert.equal(cutForTelegram("a".repeat(4096)), "a".repeat(4096));
  const cut = cutForTelegram("a".repeat(4094) + "😀😀😀");
  assert.ok(cut.length <= 4096);
  assert.ok(cut.endsWith("…"));
  assert.ok(!/[\ud800-\udbff]…$/.test(cut), "no lone high surrogate before the ellipsis");
});

test("cursors round-trip; anything else is INVALID_INPUT", () => {
  assert.equal(decodeCursor(encodeCursor(123456)), 123456);
  for (const bad of ["", "abc", Buffer.from("t1.-5").toString("base64url"), Buffer.from("t2.5").toString("base64url")]) {
    assert.throws(
      () => decodeCursor(bad),
      (e: unknown) => e instanceof JoeError && e.code === "INVALID_INPUT",
    );
  }
});

test("result texts in both languages, with and without a result", () => {
  assert.equal(TEXTS.taskDone.es("T-ABCD", "listo"), "✔️ Hecho [T-ABCD]: listo");
  assert.equal(TEXTS.taskDone.es("T-ABCD"), "✔️ Hecho [T-ABCD]");
  assert.equal(TEXTS.taskFailed.es("T-ABCD", "sin red"), "❌ Falló [T-ABCD]: sin red");
  assert.equal(TEXTS.taskFailed.en("T-ABCD", "no network"), "❌ Failed [T-ABCD]: no network");
});
