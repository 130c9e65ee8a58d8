// Property-based fuzzing of the webhook (fast-check): thousands of generated and mutated update
// bodies, posted with the right secret to a linked plugin through the real application
// (buildApp + inject, the group committer, a real SQLite / PostgreSQL database).
//
// For every body an independent model says what must happen — 413 (too big), 400 (not JSON),
// 200 and kept for inspection (not an Update / a message Joe cannot read), or 200 and a task
// (a readable text or voice message from the linked chat, not from a bot, not a /start, and not
// a message or update already taken) — and the property checks the answer and whether a task
// was written. At the end the database must hold exactly the tasks the model expects.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import fc from "fast-check";
import { sql } from "kysely";
import type { FastifyInstance } from "fastify";
import { dbTargets, type TestDatabase } from "../support/databases.ts";
import { randomToken } from "../support/stack.ts";
import { loadConfig } from "../../src/config.ts";
import { createLogger } from "../../src/log.ts";
import { openRuntime, type Runtime } from "../../src/runtime.ts";
import { buildApp } from "../../src/app.ts";
import { GroupCommitter } from "../../src/webhook/group-commit.ts";
import type { ApplyResult } from "../../src/webhook/write-plans.ts";
import { generateKey } from "../../src/crypto/fernet.ts";
import { createUser } from "../../src/users/store.ts";
import { createPlugin } from "../../src/plugins/store.ts";

const LIMIT = 256 * 1024;
const LINKED = 7_000_123;
const CASES = Number(process.env.FUZZ_CASES ?? 10_000);
/** PostgreSQL runs the full count when it fits this budget; otherwise fewer, and the output line says so. */
const PG_BUDGET_MS = 60_000;

// ---------------------------------------------------------------------------------------------
// The model: what must happen to one body, computed from the bytes alone (plain JS checks of the
// Update fields Joe reads, written from the Bot API docs, not from the service's zod schema).
// ---------------------------------------------------------------------------------------------

type Expect = { status: 413 | 400 } | { status: 200; unparsed: true } | { status: 200; unparsed: false; updateId: number; key: string; taskKey?: string };

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);
const isSafeInt = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v);
const isInt = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v);
const absentOr = (v: unknown, ok: (v: unknown) => boolean) => v === undefined || ok(v);

function readableMessage(m: unknown): m is { message_id: number; chat: { id: number }; from?: { is_bot?: boolean }; text?: string; voice?: unknown } {
  if (!isObj(m) || !isSafeInt(m.message_id) || !absentOr(m.date, isInt)) return false;
  if (!isObj(m.chat) || !isSafeInt(m.chat.id) || typeof m.chat.type !== "string") return false;
  const fromOk = absentOr(
    m.from,
    (f) => isObj(f) && isSafeInt(f.id) && absentOr(f.is_bot, (b) => typeof b === "boolean") && absentOr(f.language_code, (l) => typeof l === "string"),
  );
  const voiceOk = absentOr(
    m.voice,
    (v) =>
      isObj(v) &&
      typeof v.file_id === "string" &&
      v.file_id.length > 0 &&
      typeof v.file_unique_id === "string" &&
      v.file_unique_id.length > 0 &&
      isInt(v.duration) &&
      v.duration >= 0 &&
      absentOr(v.mime_type, (x) => typeof x === "string") &&
      absentOr(v.file_size, (x) => isInt(x) && x >= 0),
  );
  return fromOk && voiceOk && absentOr(m.text, (t) => typeof t === "string");
}

/** "/start", "/start CODE", "/start@bot CODE": a command, never a note. */
const isStartCommand = (text: string) => /^\/start(@[A-Za-z0-9_]+)?(\s+\S+)?\s*$/i.test(text.trim());
/** The chat's own commands (/tareas, /tasks, /deshacer, /undo, also @bot and with words after): never a note. */
const isChatCommand = (text: string) => /^\/(tareas|tasks|deshacer|undo)(@[A-Za-z0-9_]+)?(\s[\s\S]*)?$/i.test(text.trim());
const isNonEmptyString = (v: unknown) => typeof v === "string" && v.length > 0;
const isCount = (v: unknown) => isInt(v) && v >= 0;
/** A photo (non-empty array of sizes) or a document as the Bot API describes them: each makes a note too. */
function readableAttachment(m: Record<string, unknown>): boolean {
  const file = (f: unknown) => isObj(f) && isNonEmptyString(f.file_id) && isNonEmptyString(f.file_unique_id) && absentOr(f.file_size, isCount);
  if (
    Array.isArray(m.photo) &&
    m.photo.length > 0 &&
    m.photo.every((p) => file(p) && isCount((p as Record<string, unknown>).width) && isCount((p as Record<string, unknown>).height))
  )
    return true;
  const d = m.document;
  return (
    file(d) &&
    absentOr((d as Record<string, unknown>).file_name, (x) => typeof x === "string") &&
    absentOr((d as Record<string, unknown>).mime_type, (x) => typeof x === "string")
  );
}

function expectOf(buf: Buffer): Expect {
  if (buf.length > LIMIT) return { status: 413 };
  let body: unknown;
  try {
    // A UTF-8 byte order mark before the JSON is tolerated (issue 10).
    body = JSON.parse(buf.toString("utf8").replace(/^\ufeff/, ""));
  } catch {
    return { status: 400 };
  }
  if (!isObj(body) || !isSafeInt(body.update_id) || body.update_id < 0) return { status: 200, unparsed: true };
  const m = body.message;
  if (m === undefined || m === null) {
    // An edit is marked with the message it edits (and never makes a task); anything else with no message.
    const e = body.edited_message;
    const key = readableMessage(e) ? `${e.chat.id}:${e.message_id}` : "-";
    return { status: 200, unparsed: false, updateId: body.update_id, key };
  }
  if (!readableMessage(m)) return { status: 200, unparsed: true };
  const key = `${m.chat.id}:${m.message_id}`;
  // A text of blanks only is no note (issue 10): it gets a reply, not a task.
  const note =
    m.voice !== undefined ||
    (typeof m.text === "string" ? !isStartCommand(m.text) && !isChatCommand(m.text) && !/^[\s\u200b-\u200d\u2060]*$/.test(m.text) : readableAttachment(m));
  const eligible = m.chat.id === LINKED && m.from?.is_bot !== true && note;
  return { status: 200, unparsed: false, updateId: body.update_id, key, ...(eligible ? { taskKey: key } : {}) };
}

/** Redelivery rules: an update already taken (same update_id, same message) is a no-op; one task per message. */
class Model {
  private marks = new Map<number, string>();
  private taskKeys = new Set<string>();
  tasks = 0;
  unparsed = 0;
  constructor(link: { updateId: number; key: string }) {
    this.marks.set(link.updateId, link.key);
  }
  /** Apply one expectation; true when it must create a task. */
  apply(e: Expect): boolean {
    if (e.status !== 200) return false;
    if (e.unparsed) {
      this.unparsed++;
      return false;
    }
    if (this.marks.get(e.updateId) === e.key) return false;
    this.marks.set(e.updateId, e.key);
    if (e.taskKey === undefined || this.taskKeys.has(e.taskKey)) return false;
    this.taskKeys.add(e.taskKey);
    this.tasks++;
    return true;
  }
}

// ---------------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------------

const EDGE_NUMBERS = [
  0,
  -0,
  1,
  -1,
  0.5,
  -1.5,
  2 ** 31 - 1,
  2 ** 31,
  -(2 ** 31),
  2 ** 32,
  2 ** 53 - 1,
  2 ** 53,
  2 ** 53 + 2,
  -(2 ** 53 - 1),
  -(2 ** 53),
  2 ** 63,
  1e21,
  1e300,
  -1e300,
  Number.MAX_VALUE,
  Number.MIN_VALUE,
  Number.EPSILON,
];
const anyNumber = fc.oneof(fc.constantFrom(...EDGE_NUMBERS), fc.integer(), fc.double(), fc.maxSafeInteger());
const NAN_LIKE = [
  "NaN",
  "-NaN",
  "Infinity",
  "-Infinity",
  "1e999",
  "0x1F",
  "0b11",
  "1_000",
  "",
  " ",
  "null",
  "undefined",
  "true",
  "12",
  "-0",
  "١٢٣",
  "12abc",
  "+1",
  "9007199254740993",
];
const nanLike = fc.constantFrom(...NAN_LIKE);
// biome-ignore-start lint/suspicious/noTemplateCurlyInString: "${x}" is hostile input, meant literally
const oddChar = fc.constantFrom(
  "\u0000",
  "\u0001",
  "\u001f",
  "\ud800",
  "\udfff",
  "\ud83c",
  "\u202e",
  "\u200b",
  "\ufeff",
  "\uffff",
  "é",
  "e\u0301",
  "🎤",
  "👩‍👩‍👧",
  "\n",
  "\r\n",
  "\t",
  '"',
  "\\",
  "/",
  "<",
  "&",
  "'",
  "%s",
  "${x}",
  "\u2028",
);
// biome-ignore-end lint/suspicious/noTemplateCurlyInString: "${x}" is hostile input, meant literally
const unicodeString = fc.oneof(
  fc.string(),
  fc.string({ unit: "grapheme", maxLength: 60 }),
  fc.string({ unit: "binary", maxLength: 60 }),
  fc.string({ unit: oddChar, maxLength: 40 }),
  fc.string({ unit: fc.oneof(oddChar, fc.constantFrom("a", " ", "/start", "JOE-", "@")), maxLength: 20 }),
);
const longString = fc
  .record({ bytes: fc.integer({ min: 1, max: LIMIT + 2048 }), ch: fc.constantFrom("a", "é", "🎤", "\u0000", "\n", "ab c ") })
  .map(({ bytes, ch }) => ch.repeat(Math.max(1, Math.floor(bytes / Buffer.byteLength(JSON.stringify(ch).slice(1, -1))))));
/** Almost at the limit: the body ends up just under or just over 256 KB. */
const limitString = fc.integer({ min: LIMIT - 700, max: LIMIT + 100 }).map((n) => "x".repeat(n));
const text = fc.oneof(
  { weight: 80, arbitrary: unicodeString },
  {
    weight: 10,
    arbitrary: fc.constantFrom(
      "/start",
      "/start JOE-AAAA",
      "/START joe-zzzz",
      "/start@otro_bot JOE-AAAA",
      " /start  ",
      "/start a b",
      "/startx",
      "/stop",
      "hola /start",
    ),
  },
  { weight: 4, arbitrary: fc.string({ minLength: 100, maxLength: 2000 }) },
  { weight: 1, arbitrary: longString },
  { weight: 1, arbitrary: limitString },
);
/** A placeholder replaced, after JSON.stringify, by raw nested brackets (deep nesting up to 50 000 levels). */
const deep = fc
  .record({ depth: fc.oneof(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 1, max: 20_000 })), kind: fc.constantFrom("a", "o") })
  .map(({ depth, kind }) => `__DEEP_${depth}_${kind}__`);
const weird = fc.oneof(
  { weight: 3, arbitrary: fc.constant(null) },
  { weight: 2, arbitrary: fc.boolean() },
  { weight: 5, arbitrary: anyNumber },
  { weight: 3, arbitrary: nanLike },
  { weight: 4, arbitrary: unicodeString },
  { weight: 1, arbitrary: deep },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.constant([]) },
  { weight: 1, arbitrary: fc.constant({}) },
  { weight: 1, arbitrary: fc.array(anyNumber, { maxLength: 3 }) },
);

const updateId = fc.oneof(
  { weight: 2, arbitrary: fc.nat(300) },
  { weight: 3, arbitrary: fc.integer({ min: 1000, max: 2 ** 31 }) },
  { weight: 1, arbitrary: fc.constantFrom(...EDGE_NUMBERS) },
);
const messageId = fc.oneof(
  { weight: 1, arbitrary: fc.nat(400) },
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 2 ** 31 }) },
  { weight: 1, arbitrary: fc.constantFrom(...EDGE_NUMBERS) },
);
const chatId = fc.oneof(
  { weight: 8, arbitrary: fc.constant(LINKED) },
  { weight: 1, arbitrary: fc.integer({ min: -(10 ** 13), max: 10 ** 13 }) },
  { weight: 1, arbitrary: fc.constantFrom(0, -1, 1, LINKED + 1, -LINKED, 2 ** 53 - 1, -(2 ** 53 - 1), -1001234567890) },
);
const chat = fc.record({ id: chatId, type: fc.constantFrom("private", "group", "supergroup", "channel", "") }, { requiredKeys: ["id", "type"] });
const from = fc.option(
  fc.record(
    {
      id: fc.oneof(fc.constant(LINKED), fc.integer()),
      is_bot: fc.oneof({ weight: 6, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      first_name: unicodeString,
      language_code: fc.constantFrom("es", "en", "en-GB", "pt-br", ""),
    },
    { requiredKeys: ["id"] },
  ),
  { nil: undefined, freq: 8 },
);
const messageBase = { message_id: messageId, date: fc.integer({ min: 0, max: 2 ** 31 }), chat, from };
const textMessage = fc.record({ ...messageBase, text });
const voiceMessage = fc.record({
  ...messageBase,
  voice: fc.record(
    {
      file_id: fc.string({ minLength: 1, maxLength: 60 }),
      file_unique_id: fc.string({ minLength: 1, maxLength: 30 }),
      duration: fc.oneof({ weight: 5, arbitrary: fc.nat(7200) }, { weight: 1, arbitrary: anyNumber }),
      mime_type: fc.constantFrom("audio/ogg", "audio/mpeg", ""),
      file_size: fc.nat(20_000_000),
    },
    { requiredKeys: ["file_id", "file_unique_id", "duration"] },
  ),
  caption: fc.option(unicodeString, { nil: undefined }),
});
const photo = fc.record({
  file_id: fc.string({ minLength: 1 }),
  file_unique_id: fc.string({ minLength: 1 }),
  width: fc.nat(4000),
  height: fc.nat(4000),
  file_size: fc.nat(),
});
const photoMessage = fc.record({
  ...messageBase,
  photo: fc.array(photo, { minLength: 1, maxLength: 4 }),
  caption: fc.option(unicodeString, { nil: undefined }),
});
const otherMessage = fc.oneof(
  fc.record({ ...messageBase, sticker: fc.record({ file_id: fc.string(), emoji: fc.constant("👍") }) }),
  fc.record({ ...messageBase, new_chat_members: fc.array(fc.record({ id: fc.integer(), is_bot: fc.boolean(), first_name: fc.string() }), { maxLength: 3 }) }),
  fc.record({ ...messageBase, new_chat_title: unicodeString }),
  fc.record({ ...messageBase, location: fc.record({ latitude: fc.double(), longitude: fc.double() }) }),
  fc.record({ ...messageBase, document: fc.record({ file_id: fc.string(), file_name: unicodeString }) }),
);
const update = (message: fc.Arbitrary<Record<string, unknown>>) => fc.record({ update_id: updateId, message });
const otherKinds = fc.oneof(
  fc.record({ update_id: updateId, edited_message: textMessage }),
  fc.record({ update_id: updateId, channel_post: textMessage }),
  fc.record({
    update_id: updateId,
    callback_query: fc.record({ id: fc.string(), from: fc.record({ id: fc.integer(), is_bot: fc.boolean(), first_name: fc.string() }), data: fc.string() }),
  }),
  fc.record({ update_id: updateId, my_chat_member: fc.record({ chat, date: fc.nat() }) }),
  fc.record({ update_id: updateId, message: fc.constant(null), edited_message: textMessage }),
  fc.record({ update_id: updateId, unknown_future_kind: fc.jsonValue({ maxDepth: 2 }) }),
  fc.record({ update_id: updateId }),
);
const randomJson = fc.oneof(
  fc.jsonValue(),
  fc
    .tuple(fc.record({ update_id: updateId }), fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 }))
    .map(([a, b]) => ({ ...b, ...a })),
  fc.record({ update_id: updateId, message: fc.jsonValue({ maxDepth: 3 }) }),
  fc.record({
    update_id: updateId,
    message: fc.dictionary(fc.constantFrom("message_id", "chat", "from", "text", "voice", "date", "x"), weird, { maxKeys: 6 }),
  }),
);

/** A structural mutation: at one path of the object, delete the value, replace it, or wrap it. */
const mutation = fc.record({ at: fc.nat(), op: fc.constantFrom("delete", "replace", "replace", "wrap", "stringify"), value: weird });
/** A byte-level mutation of the JSON text. */
const textMutation = fc.record({
  op: fc.constantFrom("truncate", "insert", "number", "number", "duplicateKey", "whitespace", "bom"),
  at: fc.nat(),
  insert: fc.oneof(fc.string({ minLength: 1, maxLength: 3 }), fc.constantFrom(",", "}", "]", '"', "\\", "\u0000", "\ud800", "NaN")),
  number: fc.constantFrom(
    "1e400",
    "-1e400",
    "-0",
    "00",
    "1.0",
    "1E2",
    "9007199254740993",
    "-9007199254740993",
    "123456789012345678901234567890",
    "0.0000001",
    "1e-400",
    "NaN",
    "Infinity",
    "0x10",
    "+1",
    ".5",
  ),
});

function paths(root: unknown): Array<{ parent: Record<string, unknown> | unknown[]; key: string | number }> {
  const out: Array<{ parent: Record<string, unknown> | unknown[]; key: string | number }> = [];
  const walk = (v: unknown, depth: number) => {
    if (depth > 6 || v === null || typeof v !== "object") return;
    for (const key of Object.keys(v)) {
      const k = Array.isArray(v) ? Number(key) : key;
      out.push({ parent: v as Record<string, unknown>, key: k });
      walk((v as Record<string, unknown>)[key], depth + 1);
    }
  };
  walk(root, 0);
  return out;
}

function mutate(value: unknown, muts: ReadonlyArray<{ at: number; op: string; value: unknown }>): unknown {
  const root = structuredClone(value);
  for (const m of muts) {
    const all = paths(root);
    if (all.length === 0) return structuredClone(m.value);
    const { parent, key } = all[m.at % all.length]!;
    const p = parent as Record<string | number, unknown>;
    if (m.op === "delete") {
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete p[key];
    } else if (m.op === "replace") p[key] = structuredClone(m.value);
    else if (m.op === "wrap") p[key] = m.at % 2 === 0 ? [p[key]] : { value: p[key] };
    else p[key] = JSON.stringify(p[key]) ?? "undefined";
  }
  return root;
}

function mutateText(json: string, m: { op: string; at: number; insert: string; number: string }): string {
  switch (m.op) {
    case "truncate":
      return json.slice(0, m.at % (json.length + 1));
    case "insert": {
      const i = m.at % (json.length + 1);
      return json.slice(0, i) + m.insert + json.slice(i);
    }
    case "number": {
      const nums = [...json.matchAll(/(?<=[:,[])-?\d+(\.\d+)?([eE][+-]?\d+)?/g)];
      if (nums.length === 0) return json;
      const hit = nums[m.at % nums.length]!;
      return json.slice(0, hit.index) + m.number + json.slice(hit.index! + hit[0].length);
    }
    case "duplicateKey":
      // A second update_id / message_id / chat id later in the same object: JSON.parse keeps the last.
      return json.replace(/^\{/, `{"update_id":${m.number},`).replace(/"chat":\{/, `"chat":{"id":"${m.insert}",`);
    case "whitespace":
      return ` \n\t${json}\r\n `;
    default:
      return `\ufeff${json}`;
  }
}

function expandDeep(json: string): string {
  return json.replace(/"__DEEP_(\d+)_([ao])__"/g, (_all, d: string, kind: string) => {
    const n = Number(d);
    return kind === "a" ? "[".repeat(n) + "]".repeat(n) : '{"a":'.repeat(n) + "1" + "}".repeat(n);
  });
}

const bodies = fc
  .record({
    base: fc.oneof(
      { weight: 30, arbitrary: update(textMessage) },
      { weight: 10, arbitrary: update(voiceMessage) },
      { weight: 5, arbitrary: update(photoMessage) },
      { weight: 4, arbitrary: update(otherMessage) },
      { weight: 5, arbitrary: otherKinds },
      { weight: 10, arbitrary: randomJson },
    ),
    muts: fc.oneof({ weight: 1, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: fc.array(mutation, { minLength: 1, maxLength: 4 }) }),
    textMut: fc.oneof({ weight: 12, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: textMutation }),
  })
  .map(({ base, muts, textMut }) => {
    let json = JSON.stringify(mutate(base, muts)) ?? "";
    if (textMut) json = mutateText(json, textMut);
    // A string, so that a counterexample prints readably; posted as its UTF-8 bytes.
    return expandDeep(json);
  });

// ---------------------------------------------------------------------------------------------

interface Harness {
  database: TestDatabase;
  rt: Runtime;
  app: FastifyInstance;
  url: string;
  secret: string;
  codigo: string;
  errorLines: string[];
  /** What the committer answered, per update_id (updates posted together never share one). */
  results: Map<number, ApplyResult>;
}

async function harness(create: () => Promise<TestDatabase>): Promise<Harness> {
  const database = await create();
  const errorLines: string[] = [];
  // Warnings (one per update not understood) are dropped; errors are what a crash logs.
  const sink = new Writable({
    write(chunk, _e, cb) {
      const l = String(chunk);
      if (/"level":"(error|fatal)"/.test(l)) errorLines.push(l);
      cb();
    },
  });
  const config = loadConfig({ DATA_DIR: database.dataDir, DATABASE_URL: database.url, FERNET_KEYS: generateKey(), LOG_LEVEL: "warn" });
  const rt = await openRuntime({ config, logger: createLogger("warn", sink) });
  // The real committer, watched: which update produced a task.
  const committer = new GroupCommitter(rt.store.db, rt.store.seam);
  const results = new Map<number, ApplyResult>();
  const submit = committer.submit.bind(committer);
  committer.submit = async (pluginId, u, cached) => {
    const r = await submit(pluginId, u, cached);
    results.set(u.updateId, r);
    return r;
  };
  const { app } = buildApp({ db: rt.store.db, seam: rt.store.seam, logger: rt.logger, committer });
  await app.ready();
  const user = await createUser(rt.store.db, rt.store.seam, "fuzzer");
  const { plugin, webhookSecret } = await createPlugin(rt.store.db, rt.store.seam, rt.keys.fernet, {
    usuarioId: user.id,
    identificador: "@fuzz_target_bot",
    token: randomToken(),
  });
  return { database, rt, app, url: `/plugins/telegram/webhook/${plugin.id}/`, secret: webhookSecret, codigo: plugin.codigo_verificacion, errorLines, results };
}

const post = (h: Harness, payload: Buffer) =>
  h.app.inject({
    method: "POST",
    url: h.url,
    payload,
    headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": h.secret },
  });

async function count(h: Harness, table: "tasks" | "unparsed_updates"): Promise<number> {
  return Number((await h.rt.store.db.selectFrom(table).select(sql<number>`count(*)`.as("n")).executeTakeFirstOrThrow()).n);
}

interface Item {
  body: string;
  buf: Buffer;
  e: Expect;
}

/**
 * Bodies are posted a wave at a time, concurrently (so the group committer batches them, as in
 * production). A wave never holds two bodies whose outcome depends on their order (same
 * update_id, or the same message of the linked chat), so the model applies in any order.
 */
function waves(items: Item[]): Item[][] {
  const out: Item[][] = [];
  let wave: Item[] = [];
  let taken = new Set<string>();
  for (const it of items) {
    const keys = it.e.status === 200 && !it.e.unparsed ? [`u:${it.e.updateId}`, ...(it.e.taskKey ? [`t:${it.e.taskKey}`] : [])] : [];
    if (keys.some((k) => taken.has(k))) {
      out.push(wave);
      wave = [];
      taken = new Set();
    }
    wave.push(it);
    for (const k of keys) taken.add(k);
  }
  if (wave.length > 0) out.push(wave);
  return out;
}

const preview = (it: Item) => JSON.stringify(it.buf.length > 400 ? `${it.body.slice(0, 400)}… (${it.buf.length} bytes)` : it.body);

/** Bodies per property run (posted in waves of independent bodies). */
const CHUNK = 25;

for (const target of dbTargets()) {
  describe(`fuzz (${target.name})`, () => {
    let h: Harness;
    before(async () => {
      h = await harness(() => target.create());
    });
    after(async () => {
      await h.app.close();
      await h.rt.close();
      await h.database.drop();
    });

    it(`${CASES} generated and mutated bodies: never a 5xx, tasks only from valid messages of the linked chat`, async () => {
      // Link the chat first (update 1, message 1), so valid notes from it become tasks.
      const link = {
        update_id: 1,
        message: {
          message_id: 1,
          date: 1,
          chat: { id: LINKED, type: "private" },
          from: { id: LINKED, is_bot: false, first_name: "F" },
          text: `/start ${h.codigo}`,
        },
      };
      const linked = await post(h, Buffer.from(JSON.stringify(link)));
      assert.equal(linked.statusCode, 200);
      assert.equal(h.results.get(1)?.outcome, "linked");
      const model = new Model({ updateId: 1, key: `${LINKED}:1` });

      const seed = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
      const started = Date.now();
      let cases = 0;
      let fiveXX = 0;
      const statuses = new Map<number, number>();
      try {
        await fc.assert(
          fc.asyncProperty(fc.array(bodies, { minLength: CHUNK, maxLength: CHUNK }), async (chunk) => {
            // PostgreSQL: the full count when it fits the budget, otherwise fewer (said in the output
            // line). Checked between chunks, never in the middle of one: a chunk cut short would leave
            // requests in flight that write tasks the model never counted.
            if (target.name === "postgres" && Date.now() - started > PG_BUDGET_MS) return;
            const items = chunk.map((body) => {
              const buf = Buffer.from(body, "utf8");
              return { body, buf, e: expectOf(buf) };
            });
            for (const wave of waves(items)) {
              h.results.clear();
              const answers = await Promise.all(wave.map((it) => post(h, it.buf)));
              cases += wave.length;
              wave.forEach((_it, i) => {
                const res = answers[i]!;
                statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
                if (res.statusCode >= 500) fiveXX++;
              });
              wave.forEach((it, i) => {
                const res = answers[i]!;
                const mustCreate = model.apply(it.e);
                assert.equal(res.statusCode, it.e.status, `status for ${preview(it)}: ${res.body}`);
                assert.doesNotThrow(() => JSON.parse(res.body), `answer is not JSON: ${res.body}`);
                const result = it.e.status === 200 && !it.e.unparsed ? h.results.get(it.e.updateId) : undefined;
                assert.equal(result?.taskCodigo !== undefined, mustCreate, `task for ${preview(it)}: expected ${mustCreate}, outcome ${result?.outcome}`);
              });
            }
          }),
          {
            numRuns: Math.ceil(CASES / CHUNK),
            seed,
            endOnFailure: true,
          },
        );
      } finally {
        const tasks = await count(h, "tasks");
        const stoppedEarly = cases < CASES;
        const note = stoppedEarly ? ` (PostgreSQL: stopped after ${cases} of ${CASES}, the ${PG_BUDGET_MS / 1000} s budget)` : "";
        process.stdout.write(
          `fuzz (${target.name}): cases ${cases}, 5xx ${fiveXX}, crashes ${h.errorLines.length}, tasks ${tasks} (expected ${model.tasks})${note}\n`,
        );
        process.stdout.write(
          `  seed ${seed} (FUZZ_SEED=${seed} to replay), ${((Date.now() - started) / 1000).toFixed(1)} s, statuses ${JSON.stringify(Object.fromEntries(statuses))}, kept unparsed ${model.unparsed}\n`,
        );
      }

      assert.equal(fiveXX, 0);
      assert.deepEqual(h.errorLines, [], "error lines logged (a crash)");
      assert.equal(await count(h, "tasks"), model.tasks, "tasks in the database");
      assert.equal(await count(h, "unparsed_updates"), model.unparsed, "updates kept for inspection");
      assert.ok(model.tasks > cases / 20, `too few tasks (${model.tasks}) for the fuzz to mean anything`);
      // Every task belongs to the linked chat.
      const chats = await h.rt.store.db.selectFrom("tasks").select("chat_id").distinct().execute();
      assert.deepEqual(
        chats.map((c) => Number(c.chat_id)),
        [LINKED],
      );

      // Still healthy: the health checks answer and a plain note still becomes a task.
      assert.equal((await h.app.inject({ method: "GET", url: "/healthz" })).statusCode, 200);
      assert.equal((await h.app.inject({ method: "GET", url: "/readyz" })).statusCode, 200);
      const after = { update_id: 2 ** 40, message: { message_id: 2 ** 40, date: 1, chat: { id: LINKED, type: "private" }, text: "después del fuzz" } };
      assert.equal((await post(h, Buffer.from(JSON.stringify(after)))).statusCode, 200);
      assert.ok(h.results.get(2 ** 40)?.taskCodigo, `the last note made no task: ${h.results.get(2 ** 40)?.outcome}`);
    });
  });
}
