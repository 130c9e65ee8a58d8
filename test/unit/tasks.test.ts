// Unit tests of the task helpers: titles from text, voice durations, task codes.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";

import { titleFromText, formatDuration, TITLE_MAX } from "../../src/tasks/title.ts";
import { taskCodigo, taskIdFromCodigo } from "../../src/tasks/codigo.ts";

const codePoints = (s: string) => Array.from(s).length;
const graphemes = (s: string) => Array.from(new Intl.Segmenter("es", { granularity: "grapheme" }).segment(s), (g) => g.segment);
/** A lone (unpaired) UTF-16 surrogate: half an emoji. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;
const fold = (s: string) => s.replace(/\s+/g, " ").trim();

describe("titleFromText", () => {
  it("the title limit is 200", () => {
    assert.equal(TITLE_MAX, 200);
  });

  it("leaves a text of up to 200 characters untouched", () => {
    assert.equal(titleFromText("Comprar leche"), "Comprar leche");
    const exactly200 = "a".repeat(100) + " " + "b".repeat(99);
    assert.equal(exactly200.length, 200);
    assert.equal(titleFromText(exactly200), exactly200);
    const emoji200 = "😀".repeat(200); // 200 code points, 400 UTF-16 units: still short enough
    assert.equal(titleFromText(emoji200), emoji200);
  });

  it("cuts a longer text at a word boundary and adds '…'", () => {
    const words = Array.from({ length: 60 }, (_, i) => `palabra${i}`);
    const long = words.join(" ");
    const t = titleFromText(long);
    assert.ok(t.endsWith("…"), t);
    assert.ok(codePoints(t) <= 200, `length ${codePoints(t)}`);
    const body = t.slice(0, -1);
    assert.ok(long.startsWith(body), "the title is the start of the text");
    assert.equal(long[body.length], " ", "the cut falls between two words");
    assert.ok(!body.endsWith(" "), "no space before the ellipsis");
    assert.ok(words.includes(body.split(" ").at(-1)!), "the last word is whole");
    assert.ok(codePoints(t) > 180, "most of the room is used");
  });

  it("measures after folding: exactly 200 is kept, 201 is cut", () => {
    const padded = " " + "ab ".repeat(66) + "ab "; // 202 chars raw, 200 once trimmed
    assert.equal(titleFromText(padded), fold(padded));
    assert.equal(codePoints(fold(padded)), 200);
    const t = titleFromText("ab ".repeat(67) + "c"); // 202 chars of real text
    assert.equal(t, "ab ".repeat(66).trimEnd() + "…"); // the last whole word that fits in 199
    assert.ok(codePoints(t) <= 200);
  });

  it("folds whitespace (newlines, tabs, runs of spaces) and trims", () => {
    assert.equal(titleFromText("  Comprar\n\nleche \t y   pan \r\n"), "Comprar leche y pan");
    assert.equal(titleFromText("a\u00a0\u00a0b"), "a b");
    // Folding happens before measuring: 300 chars of which most is whitespace is not cut.
    const spaced = "uno" + " ".repeat(150) + "dos" + "\n".repeat(150) + "tres";
    assert.equal(titleFromText(spaced), "uno dos tres");
  });

  it("cuts one giant word to 199 characters + '…'", () => {
    const t = titleFromText("x".repeat(5000));
    assert.equal(t, "x".repeat(199) + "…");
    assert.equal(codePoints(t), 200);
    // A short word then a giant one: cutting at the space would throw most of the title away.
    const t2 = titleFromText("ver " + "https://example.org/" + "a".repeat(400));
    assert.equal(codePoints(t2), 200);
    assert.ok(t2.startsWith("ver https://example.org/aaa"));
  });

  it("never splits an emoji made of a surrogate pair, and counts it as one character", () => {
    for (const text of ["😀".repeat(300), "a" + "😀".repeat(300), "ab" + "🎤".repeat(300), "hola 😀😀 ".repeat(40)]) {
      const t = titleFromText(text);
      assert.ok(!LONE_SURROGATE.test(t), `half an emoji in ${JSON.stringify(t.slice(-6))}`);
      assert.ok(codePoints(t) <= 200, `length ${codePoints(t)}`);
      assert.ok(t.endsWith("…"));
    }
    assert.equal(titleFromText("😀".repeat(300)), "😀".repeat(199) + "…");
  });

  it("never splits an emoji made of several code points (ZWJ sequences, flags, skin tones, keycaps)", () => {
    const emojis = ["👨‍👩‍👧", "🇪🇸", "👍🏽", "1️⃣", "🏳️‍🌈"];
    for (const e of emojis) {
      for (const pad of ["", "a", "ab", "abc"]) {
        const text = pad + e.repeat(150);
        const t = titleFromText(text);
        assert.ok(codePoints(t) <= 200, `length ${codePoints(t)}`);
        const body = graphemes(t.slice(0, -1));
        for (const g of body.slice(pad.length)) {
          assert.equal(g, e, `${JSON.stringify(e)} split: title ends ${JSON.stringify(body.slice(-2))}`);
        }
      }
    }
  });

  it("property: ≤ 200 code points, whitespace folded, untouched when short, else a prefix + '…'", () => {
    const token = fc.oneof(
      fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 12 }),
      fc.string({ unit: "grapheme", minLength: 1, maxLength: 6 }),
      fc.constantFrom("😀", "🎤", "ñ", "é", "日本"),
    );
    const space = fc.constantFrom(" ", "  ", "\n", "\t", " \n ");
    const textArb = fc.array(fc.tuple(token, space), { maxLength: 80 }).map((ts) => ts.map(([w, s]) => w + s).join(""));
    fc.assert(
      fc.property(textArb, (text) => {
        const t = titleFromText(text);
        const folded = fold(text);
        assert.ok(codePoints(t) <= 200);
        assert.ok(!LONE_SURROGATE.test(t));
        assert.ok(!/\s\s|^\s|[\n\t]/.test(t), "whitespace folded");
        if (codePoints(folded) <= 200) {
          assert.equal(t, folded);
        } else {
          assert.ok(t.endsWith("…"));
          assert.ok(folded.startsWith(t.slice(0, -1)));
        }
      }),
      { numRuns: 500 },
    );
  });

  it("property: texts of short words are always cut between words", () => {
    const word = fc.string({ unit: fc.constantFrom(..."abcdefghijklmnñopqrstuvwxyz0123456789😀é"), minLength: 1, maxLength: 15 });
    fc.assert(
      fc.property(fc.array(word, { minLength: 40, maxLength: 120 }), (words) => {
        const text = words.join(" ");
        fc.pre(codePoints(text) > 200);
        const t = titleFromText(text);
        const body = t.slice(0, -1);
        assert.ok(t.endsWith("…"));
        assert.ok(text.startsWith(body));
        assert.equal(text[body.length], " ", `cut inside a word: …${JSON.stringify(body.slice(-10))}`);
        assert.ok(codePoints(t) <= 200);
      }),
      { numRuns: 300 },
    );
  });

  it("property: Latin text with single spaces (the fast path) ends at the last whole word within 199 characters", () => {
    const word = fc.string({ unit: fc.constantFrom(..."abcdefghijklmnñopqrstuvwxyzáéíóúü0123456789,.:"), minLength: 1, maxLength: 15 });
    fc.assert(
      fc.property(fc.array(word, { minLength: 30, maxLength: 120 }), (words) => {
        const text = words.join(" ");
        fc.pre(text.length > 200);
        // The longest prefix of whole words shorter than the 199 characters before the "…" (a word
        // ending exactly at the 199th cannot be told from one cut there, so it is left out too).
        let body = words[0]!;
        for (const w of words.slice(1)) {
          if (body.length + 1 + w.length >= TITLE_MAX - 1) break;
          body += " " + w;
        }
        assert.equal(titleFromText(text), body + "…");
        // The same text with its spaces doubled and turned into newlines is folded to the same title.
        assert.equal(titleFromText(`\n ${words.join(" \n\t ")}  `), body + "…");
      }),
      { numRuns: 300 },
    );
  });
});

describe("formatDuration", () => {
  for (const [s, want] of [
    [0, "0:00"],
    [1, "0:01"],
    [12, "0:12"],
    [59, "0:59"],
    [60, "1:00"],
    [75, "1:15"],
    [600, "10:00"],
    [3599, "59:59"],
    [3600, "1:00:00"],
    [3725, "1:02:05"],
    [36_000, "10:00:00"],
    [12.9, "0:12"],
    [-5, "0:00"],
  ] as const) {
    it(`${s} s → ${want}`, () => assert.equal(formatDuration(s), want));
  }
});

describe("taskCodigo", () => {
  const FORMAT = /^T-[0-9A-Z]{4,}$/;

  it("looks like T-XXXX", () => {
    for (const id of [0, 1, 2, 3, 99, 12345, 1_679_615]) {
      assert.match(taskCodigo(id), /^T-[0-9A-Z]{4}$/, `id ${id}`);
    }
  });

  it("is unique over the first 200,000 ids", () => {
    const seen = new Map<string, number>();
    for (let id = 0; id <= 200_000; id++) {
      const c = taskCodigo(id);
      const prev = seen.get(c);
      if (prev !== undefined) assert.fail(`ids ${prev} and ${id} both get ${c}`);
      seen.set(c, id);
    }
    assert.equal(seen.size, 200_001);
    for (const c of [...seen.keys()].slice(0, 1000)) assert.match(c, FORMAT);
  });

  it("is unique across the 4 → 5 character boundary at 36^4, and grows by one character there", () => {
    const edge = 36 ** 4; // 1,679,616
    assert.match(taskCodigo(edge - 1), /^T-[0-9A-Z]{4}$/);
    assert.match(taskCodigo(edge), /^T-[0-9A-Z]{5}$/);
    assert.match(taskCodigo(36 ** 5 - 1), /^T-[0-9A-Z]{5}$/);
    assert.match(taskCodigo(36 ** 5), /^T-[0-9A-Z]{6}$/);
    const seen = new Set<string>();
    for (let id = edge - 50_000; id < edge + 50_000; id++) {
      const c = taskCodigo(id);
      assert.ok(!seen.has(c), `duplicate ${c} at id ${id}`);
      seen.add(c);
    }
  });

  it("is deterministic", () => {
    for (const id of [1, 7, 1234, 1_679_616, 9_000_000]) {
      assert.equal(taskCodigo(id), taskCodigo(id));
    }
    assert.equal(taskCodigo(1), taskCodigo(Number("1")));
  });

  it("does not read as a counter: consecutive ids differ in more than the last character", () => {
    const a = taskCodigo(1000);
    const b = taskCodigo(1001);
    assert.notEqual(a.slice(0, -1), b.slice(0, -1), `${a} then ${b}`);
  });
});

describe("taskIdFromCodigo", () => {
  it("gives back the id of every code (both sides of the 4 → 5 and 5 → 6 character boundaries, and large ids)", () => {
    const ids = [1, 2, 99, 12_345, 36 ** 4 - 1, 36 ** 4, 36 ** 4 + 1, 36 ** 5 - 1, 36 ** 5, 2 ** 40, Number.MAX_SAFE_INTEGER];
    for (const id of ids) assert.equal(taskIdFromCodigo(taskCodigo(id)), id, `id ${id}`);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 45 }), (id) => taskIdFromCodigo(taskCodigo(id)) === id),
      { numRuns: 2000 },
    );
  });

  it("accepts the code as people type it (lower case, spaces around)", () => {
    assert.equal(taskIdFromCodigo(` ${taskCodigo(4242).toLowerCase()} `), 4242);
  });

  it("is null for what is not a task code, or a code no task id gives", () => {
    for (const bad of ["", "T-", "T-12", "X-1XMS", "T-1XM$", "1XMS", "T-" + "Z".repeat(13)]) assert.equal(taskIdFromCodigo(bad), null, bad);
    // A 5-character code whose id would be below 36^4 (ids that small get 4 characters).
    const five = Array.from({ length: 50 }, (_, i) => `T-0000${"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"[i % 36]}`);
    for (const c of five) {
      const id = taskIdFromCodigo(c);
      if (id !== null) assert.equal(taskCodigo(id), c);
    }
  });
});
