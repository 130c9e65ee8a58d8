/**
 * A fake Telegram Bot API server for tests.
 *
 * It speaks the real Bot API wire protocol over real HTTP on 127.0.0.1, so the
 * production code can use grammY's `Api` client unchanged, only pointing
 * `apiRoot` at `fake.url`. Going through a real socket (rather than mocking
 * `fetch`) means timeouts, connection refusals, resets and keep-alive reuse all
 * behave the way they will in production.
 *
 * What it models (see the Bot API docs, https://core.telegram.org/bots/api):
 *  - `/bot<token>/<method>` with params from the query string, a JSON body,
 *    an urlencoded body or (text fields of) a multipart body; method names are
 *    case-insensitive, like Telegram's.
 *  - Answers `{ok:true,result}` or `{ok:false,error_code,description,parameters?}`
 *    with the HTTP status equal to `error_code`, as Telegram does.
 *  - getMe, setWebhook, getWebhookInfo, deleteWebhook, getUpdates, sendMessage,
 *    sendChatAction, set/get/deleteMyCommands (per scope and language), getFile, and file downloads at
 *    `/file/bot<token>/<file_path>`. More can be plugged in with `onMethod`.
 *  - Telegram's flood limits (opt-in), blocked and unknown chats, entity
 *    parsing errors for `parse_mode: "HTML"` (and the reserved-character rule
 *    of MarkdownV2), the 4096-character text limit.
 *  - Webhook delivery (`deliverUpdate`) with the secret header, and the error
 *    bookkeeping Telegram reports through getWebhookInfo.
 *  - Long polling (`queueUpdate` + getUpdates): a poll is held until an update
 *    arrives or its `timeout` runs out; `offset` confirms earlier updates; 409
 *    while a webhook is set, and a newer getUpdates ends a held one with 409
 *    ("terminated by other getUpdates request"), as Telegram does.
 *  - Fault injection: error statuses, 429s, hung requests, reset connections,
 *    and a listener that can be stopped and restarted on the same port.
 *
 * This file deliberately depends on nothing from the project (only Node), so
 * it can be used by any test without dragging application code in.
 */
import http from "node:http";
import https from "node:https";
import type { AddressInfo, Socket } from "node:net";
import { sleep } from "./wait.ts";

// ---------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------

export interface RecordedCall {
  token: string;
  /** Canonical name: "sendMessage" even if called as "SENDMESSAGE". */
  method: string;
  /**
   * As received: typed values from JSON bodies, strings from query strings,
   * urlencoded and multipart bodies (where grammY JSON-encodes objects such as
   * reply_parameters, and uploads appear as `{filename, size, bytes}` under
   * their attach:// id).
   */
  params: Record<string, unknown>;
  /** Date.now() when the request arrived. */
  at: number;
  /**
   * HTTP status the call was answered with. 0 while it has not been answered
   * (latency, a hung request) and for calls never answered (reset / dropped).
   */
  status: number;
}

export interface FakeBotApiOptions {
  /** Port to listen on; 0 (default) picks a free one. */
  port?: number;
  /**
   * Enforce Telegram's flood limits on sendMessage: at most 1 message per
   * second per private chat (id > 0), 20 per minute per group (id < 0) and 30
   * per second per bot. Refusals are 429 with an honest `retry_after`.
   * Default false, so ordinary tests don't have to pace themselves.
   */
  enforceLimits?: boolean;
  /** Artificial delay before each method call is answered (default 0). */
  latencyMs?: number;
}

export interface FakeBot {
  token: string;
  id: number;
  username: string;
  first_name?: string;
}

export type Fault =
  | { kind: "status"; status: number; description?: string }
  | { kind: "retryAfter"; seconds: number }
  /** Accept the request but don't answer until `setFault(null)` / `releaseHung()`. */
  | { kind: "hang" }
  /** Destroy the socket without answering (the client sees ECONNRESET). */
  | { kind: "reset" }
  /**
   * Process the call at once (a sendMessage is delivered: `sentMessages()` has it) but hold the
   * answer until `setFault(null)` / `releaseHung()` — a slow Telegram, whose client may time out
   * on a message the chat already got.
   */
  | { kind: "answerLate" };

export interface WebhookState {
  url: string;
  secret_token?: string;
  max_connections: number;
  allowed_updates?: string[];
  ip_address?: string;
  /** Whether the last setWebhook asked to drop pending updates. */
  drop_pending_updates?: boolean;
  /** Date.now() of the setWebhook call that installed this url. */
  set_at: number;
  pending_update_count: number;
  last_error_date?: number;
  last_error_message?: string;
}

export interface SentMessage {
  token: string;
  chat_id: number;
  /** The text as sent, markup included (the returned Message has it parsed away). */
  text: string;
  /** From reply_parameters.message_id or the legacy reply_to_message_id. */
  reply_to_message_id?: number;
  parse_mode?: string;
  message_id: number;
  at: number;
  /** The raw params of the sendMessage call. */
  params: Record<string, unknown>;
}

export interface FakeFileInput {
  file_id: string;
  file_unique_id?: string;
  bytes: Uint8Array;
  file_path?: string;
}

export interface DeliveryResult {
  /** HTTP status of the webhook's answer; 0 if no answer (refused, timeout...). */
  status: number;
  body: string;
  /** The message recorded as last_error_message, when delivery failed. */
  error?: string;
}

/** Context handed to custom method handlers registered with `onMethod`. */
export interface MethodContext {
  token: string;
  bot: FakeBot;
  api: FakeBotApi;
}
export type MethodHandler = (params: Record<string, unknown>, ctx: MethodContext) => unknown | Promise<unknown>;

/**
 * Throw this from an `onMethod` handler to answer with a Bot API error,
 * e.g. `throw new BotApiError(400, "Bad Request: message to edit not found")`.
 */
export class BotApiError extends Error {
  constructor(
    readonly error_code: number,
    readonly description: string,
    readonly parameters?: { retry_after?: number; migrate_to_chat_id?: number },
  ) {
    super(description);
    this.name = "BotApiError";
  }
}

export async function startFakeBotApi(opts: FakeBotApiOptions = {}): Promise<FakeBotApi> {
  const api = new FakeBotApi(opts);
  await api.restart();
  return api;
}

// ---------------------------------------------------------------------------
// Constants taken from Telegram's documented behaviour
// ---------------------------------------------------------------------------

const MAX_TEXT_LENGTH = 4096; // sendMessage text, counted after entity parsing
const MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024; // getFile refuses bigger files
const SECRET_TOKEN_RE = /^[A-Za-z0-9_-]{1,256}$/;
// Bodies bigger than this are refused; generous because multipart uploads may come through.
const MAX_BODY_BYTES = 64 * 1024 * 1024;

/** Sliding-window flood limits, as documented in the Bot FAQ. */
const LIMIT_PRIVATE_CHAT = { windowMs: 1_000, max: 1 };
const LIMIT_GROUP_CHAT = { windowMs: 60_000, max: 20 };
const LIMIT_PER_BOT = { windowMs: 1_000, max: 30 };

const HTML_TAGS = new Set(["b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a", "code", "pre", "tg-emoji", "blockquote"]);

// ---------------------------------------------------------------------------
// Internal state
// ---------------------------------------------------------------------------

/** A successful answer: the result plus the optional `description` Telegram sometimes adds. */
interface Reply {
  result: unknown;
  description?: string;
}

/** What built-in methods may touch besides their bot's state. */
interface BuiltinEnv {
  enforceLimits: boolean;
  recordSent(s: SentMessage): void;
  recordEdit(e: { token: string; chat_id: number; message_id: number; text: string; at: number }): void;
}

type Builtin = (st: BotState, params: Record<string, unknown>, env: BuiltinEnv) => Reply;

interface StoredFile {
  file_id: string;
  file_unique_id: string;
  file_path: string;
  bytes: Uint8Array;
}

interface BotState {
  bot: FakeBot;
  webhook?: WebhookState;
  /** Updates not delivered yet (failed webhook deliveries / no webhook for getUpdates). */
  pending: Array<Record<string, unknown>>;
  nextUpdateId: number;
  files: Map<string, StoredFile>;
  blocked: Set<number>;
  missing: Set<number>;
  /** Last message id per chat; Telegram numbers messages per chat for private chats and groups. */
  lastMessageId: Map<number, number>;
  /** Messages known to the fake, per `${chat}:${message_id}`, so replies can embed them. */
  messages: Map<string, Record<string, unknown>>;
  /** setMyCommands lists per `${scope type}:${language_code}` ("default:" is the default scope, all languages). */
  commands: Map<string, unknown[]>;
  /** Successful send timestamps for the flood limits (bot-wide and per chat). */
  sendTimes: number[];
  chatSendTimes: Map<number, number[]>;
  /** getUpdates requests being held (long polling). */
  polls: Set<HeldPoll>;
}

interface HeldPoll {
  superseded: boolean;
  wake: () => void;
}

/** Let every held getUpdates of the bot look again (new update, webhook set, shutdown). */
function wakePolls(st: BotState): void {
  for (const p of st.polls) p.wake();
}

interface HeldRequest {
  release: () => void;
}

// ---------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------

export class FakeBotApi {
  /** Every method call, including failed ones, in arrival order. Safe to reset (`fake.calls = []`). */
  calls: RecordedCall[] = [];
  /** File downloads (`/file/bot<token>/<path>`), which are not method calls. */
  downloads: Array<{ token: string; file_path: string; at: number; status: number }> = [];
  /** Successful editMessageText calls, in order. */
  edits: Array<{ token: string; chat_id: number; message_id: number; text: string; at: number }> = [];
  /** Downloads still to answer 404 per bot, as an expired file link does (see expireFileLinks). */
  private expiredDownloads = new Map<string, number>();

  /** The next `count` file downloads of this bot answer 404, like a file_path link that expired. */
  expireFileLinks(token: string, count = 1): void {
    this.expiredDownloads.set(token, count);
  }

  private readonly opts: Required<FakeBotApiOptions>;
  private server: http.Server | undefined;
  private boundPort = 0;
  private readonly sockets = new Set<Socket>();
  private readonly bots = new Map<string, BotState>();
  private readonly sent: SentMessage[] = [];
  private fault: Fault | null = null;
  private readonly faultQueue: Fault[] = [];
  private readonly held = new Set<HeldRequest>();
  private readonly custom = new Map<string, { name: string; handler: MethodHandler }>();
  private closed = false;
  private readonly env: BuiltinEnv = {
    enforceLimits: false,
    recordSent: (s) => this.sent.push(s),
    recordEdit: (e) => this.edits.push(e),
  };
  // Own keep-alive agents for webhook deliveries, so close() can tear them down
  // instead of leaving sockets in a global pool that keep the process alive.
  private readonly httpAgent = new http.Agent({ keepAlive: true });
  private readonly httpsAgent = new https.Agent({ keepAlive: true });

  constructor(opts: FakeBotApiOptions = {}) {
    this.opts = {
      port: opts.port ?? 0,
      enforceLimits: opts.enforceLimits ?? false,
      latencyMs: opts.latencyMs ?? 0,
    };
    this.env.enforceLimits = this.opts.enforceLimits;
  }

  /** The apiRoot to give grammY, e.g. "http://127.0.0.1:43123" (no trailing slash). */
  get url(): string {
    return `http://127.0.0.1:${this.boundPort}`;
  }

  get port(): number {
    return this.boundPort;
  }

  /** Change latency on the fly (e.g. to provoke client timeouts in one test only). */
  setLatency(ms: number): void {
    this.opts.latencyMs = ms;
  }

  /** Turn the flood limits on or off on the fly. */
  setEnforceLimits(on: boolean): void {
    this.opts.enforceLimits = on;
    this.env.enforceLimits = on;
  }

  // ----- bots and their world ------------------------------------------------

  /**
   * Register a bot. The id defaults to the digits before ':' in the token (as
   * with real tokens), the username to "test_bot". Re-adding a token updates
   * the bot's identity and keeps its state.
   */
  addBot(bot: Partial<FakeBot> & { token: string }): FakeBot {
    const idFromToken = /^(\d+):/.exec(bot.token)?.[1];
    const full: FakeBot = {
      token: bot.token,
      id: bot.id ?? (idFromToken ? Number(idFromToken) : hashId(bot.token)),
      username: bot.username ?? "test_bot",
      first_name: bot.first_name ?? "Test Bot",
    };
    const existing = this.bots.get(bot.token);
    if (existing) {
      existing.bot = full;
    } else {
      this.bots.set(bot.token, {
        bot: full,
        pending: [],
        nextUpdateId: 1,
        files: new Map(),
        blocked: new Set(),
        missing: new Set(),
        lastMessageId: new Map(),
        messages: new Map(),
        commands: new Map(),
        sendTimes: [],
        chatSendTimes: new Map(),
        polls: new Set(),
      });
    }
    return { ...full };
  }

  /** Forget a bot: its token answers 401 from now on (like a revoked token). */
  removeBot(token: string): void {
    this.bots.delete(token);
  }

  /** sendMessage to this chat answers 403 "Forbidden: bot was blocked by the user". */
  blockChat(token: string, chatId: number): void {
    this.state(token).blocked.add(chatId);
  }

  unblockChat(token: string, chatId: number): void {
    this.state(token).blocked.delete(chatId);
  }

  /** sendMessage to this chat answers 400 "Bad Request: chat not found". */
  missingChat(token: string, chatId: number): void {
    this.state(token).missing.add(chatId);
  }

  /** Make a file available to getFile and to download. Files are per bot, like file_ids. */
  addFile(token: string, file: FakeFileInput): void {
    const st = this.state(token);
    const unique = file.file_unique_id ?? `u_${file.file_id}`;
    st.files.set(file.file_id, {
      file_id: file.file_id,
      file_unique_id: unique,
      file_path: file.file_path ?? `documents/file_${st.files.size}_${unique}`,
      bytes: file.bytes,
    });
  }

  /** The webhook as stored (including the secret, which getWebhookInfo never shows). */
  webhookOf(token: string): WebhookState | undefined {
    const wh = this.bots.get(token)?.webhook;
    return wh ? { ...wh, pending_update_count: this.bots.get(token)!.pending.length } : undefined;
  }

  /** The commands set with setMyCommands for a language (undefined: the default list), as Telegram keeps them. */
  commandsOf(token: string, languageCode?: string, scope = "default"): unknown[] {
    return [...(this.state(token).commands.get(commandsKey(scope, languageCode)) ?? [])];
  }

  /** Undelivered updates (failed webhook deliveries), oldest first. */
  pendingUpdates(token: string): Array<Record<string, unknown>> {
    return [...this.state(token).pending];
  }

  /**
   * Serve an extra method (or override a built-in one). The handler returns the
   * `result`; throw `BotApiError` for an error answer. Pass `null` to remove.
   * Faults, latency, recording and the token check still apply.
   */
  onMethod(method: string, handler: MethodHandler | null): void {
    if (handler) this.custom.set(method.toLowerCase(), { name: method, handler });
    else this.custom.delete(method.toLowerCase());
  }

  // ----- inspection ----------------------------------------------------------

  callsOf(method: string, token?: string): RecordedCall[] {
    const m = method.toLowerCase();
    return this.calls.filter((c) => c.method.toLowerCase() === m && (token === undefined || c.token === token));
  }

  /** Successful sendMessage calls, in order. */
  sentMessages(token?: string): SentMessage[] {
    return this.sent.filter((s) => token === undefined || s.token === token);
  }

  /** Forget recorded calls, downloads and sent messages (bots, webhooks, files stay). */
  clearRecords(): void {
    this.edits = [];
    this.calls = [];
    this.downloads = [];
    this.sent.length = 0;
  }

  /** Poll `pred` every 10 ms; reject with a readable message after `timeoutMs`. */
  async waitFor(pred: () => boolean, timeoutMs = 5000, what = "condition"): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (pred()) return;
      if (Date.now() >= deadline) {
        throw new Error(`FakeBotApi.waitFor: ${what} not met within ${timeoutMs} ms`);
      }
      await sleep(10);
    }
  }

  /** Wait until at least `n` messages were sent (by `token`, or by any bot). */
  async waitForMessages(n: number, token?: string, timeoutMs = 5000): Promise<void> {
    try {
      await this.waitFor(() => this.sentMessages(token).length >= n, timeoutMs);
    } catch {
      const got = this.sentMessages(token);
      throw new Error(
        `FakeBotApi.waitForMessages: expected at least ${n} sent message(s)` +
          `${token === undefined ? "" : ` from ${token}`} within ${timeoutMs} ms, got ${got.length}: ` +
          JSON.stringify(got.map((m) => ({ chat_id: m.chat_id, text: m.text }))),
      );
    }
  }

  // ----- fault injection -----------------------------------------------------

  /**
   * Apply `f` to every method call from now on (not to file downloads).
   * `setFault(null)` means healthy: it also drops queued `failNext` faults and
   * releases hung requests (which are then processed normally if their client
   * is still connected).
   */
  setFault(f: Fault | null): void {
    this.fault = f;
    if (f === null) {
      this.faultQueue.length = 0;
      this.releaseHung();
    }
  }

  /** The next `n` method calls get fault `f` (before any `setFault` fault), then back to normal. */
  failNext(n: number, f: Fault): void {
    for (let i = 0; i < n; i++) this.faultQueue.push(f);
  }

  /** Let hung requests go on (processed normally if the client is still there). */
  releaseHung(): void {
    const held = [...this.held];
    this.held.clear();
    for (const h of held) h.release();
  }

  /** Number of requests currently held by a "hang" fault. */
  get hungCount(): number {
    return this.held.size;
  }

  // ----- lifecycle -------------------------------------------------------------

  /**
   * Close the listener (connections are refused from now on) and destroy open
   * sockets, including keep-alive ones and hung requests. State is kept.
   */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    // Hung requests are dropped with their sockets; release them so their
    // handlers finish (they see a destroyed response and do nothing).
    this.releaseHung();
    for (const st of this.bots.values()) wakePolls(st);
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await closed;
  }

  /** Listen again, on the same port as before (or the configured/random one the first time). */
  async restart(): Promise<void> {
    if (this.closed) throw new Error("FakeBotApi: restart() after close()");
    if (this.server) return;
    const port = this.boundPort || this.opts.port;
    // The port was ours a moment ago; retry briefly in case the OS is slow to let go.
    for (let attempt = 0; ; attempt++) {
      try {
        await this.listen(port);
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EADDRINUSE" || attempt >= 20) throw err;
        await sleep(50);
      }
    }
  }

  /** Stop for good and release everything (also the webhook delivery agents). */
  async close(): Promise<void> {
    this.closed = true;
    await this.stop();
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  private async listen(port: number): Promise<void> {
    const server = http.createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        // A bug in the fake itself: answer 500 rather than hanging the client.
        if (!res.headersSent && !res.destroyed) {
          sendJson(res, 500, { ok: false, error_code: 500, description: `Internal Server Error: ${String(err)}` });
        }
      });
    });
    // Keep idle keep-alive connections open longer than clients keep them
    // pooled, so a client never reuses a socket the server is closing
    // (the classic keep-alive ECONNRESET race).
    server.keepAliveTimeout = 65_000;
    server.headersTimeout = 66_000;
    server.requestTimeout = 0; // a hung request must be able to stay open
    server.on("connection", (socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
    this.server = server;
    this.boundPort = (server.address() as AddressInfo).port;
  }

  // ----- webhook delivery (Telegram → the bot) -------------------------------

  /**
   * Build a text-message update the way Telegram would for `chatId`, numbering
   * the message in the same per-chat sequence as the bot's own messages, and
   * remembering it so that a reply to it embeds it as `reply_to_message`.
   */
  makeTextUpdate(
    token: string,
    m: { chatId: number; text: string; fromId?: number; firstName?: string; username?: string; replyToMessageId?: number },
  ): Record<string, unknown> {
    const st = this.state(token);
    const fromId = m.fromId ?? (m.chatId > 0 ? m.chatId : 1_000_001);
    const from: Record<string, unknown> = { id: fromId, is_bot: false, first_name: m.firstName ?? "Test" };
    if (m.username !== undefined) from.username = m.username;
    const message: Record<string, unknown> = {
      message_id: nextMessageId(st, m.chatId),
      date: unixNow(),
      chat: chatObject(m.chatId, from),
      from,
      text: m.text,
    };
    const entities = commandEntities(m.text);
    if (entities.length > 0) message.entities = entities;
    if (m.replyToMessageId !== undefined) {
      const replied = st.messages.get(`${m.chatId}:${m.replyToMessageId}`);
      // Telegram embeds the replied message one level deep only.
      if (replied) message.reply_to_message = withoutReply(replied);
    }
    st.messages.set(`${m.chatId}:${message.message_id as number}`, message);
    return { update_id: st.nextUpdateId++, message };
  }

  /**
   * A voice-note update for `chatId`, numbered like makeTextUpdate's. The file itself is served
   * only if it was added with addFile under the same file_id.
   */
  makeVoiceUpdate(
    token: string,
    m: { chatId: number; fileId: string; duration: number; fileSize?: number; languageCode?: string; caption?: string },
  ): Record<string, unknown> {
    const st = this.state(token);
    const from: Record<string, unknown> = { id: m.chatId > 0 ? m.chatId : 1_000_001, is_bot: false, first_name: "Test" };
    if (m.languageCode !== undefined) from.language_code = m.languageCode;
    const stored = st.files.get(m.fileId);
    const message: Record<string, unknown> = {
      message_id: nextMessageId(st, m.chatId),
      date: unixNow(),
      chat: chatObject(m.chatId, from),
      from,
      voice: {
        file_id: m.fileId,
        file_unique_id: stored?.file_unique_id ?? `u_${m.fileId}`,
        duration: m.duration,
        mime_type: "audio/ogg",
        file_size: m.fileSize ?? stored?.bytes.byteLength ?? 1000,
      },
    };
    if (m.caption !== undefined) message.caption = m.caption;
    st.messages.set(`${m.chatId}:${message.message_id as number}`, message);
    return { update_id: st.nextUpdateId++, message };
  }

  /**
   * POST an update to the bot's webhook the way Telegram does (JSON body,
   * X-Telegram-Bot-Api-Secret-Token header when a secret is set). A missing
   * `update_id` is filled in. A non-2xx answer or a network failure is
   * recorded in getWebhookInfo (last_error_date / last_error_message) and the
   * update counted as pending; `flushPending` retries pending updates.
   *
   * opts.secret overrides the header value (null: send no header); opts.url
   * overrides the target; opts.timeoutMs bounds the wait (default 10 s).
   */
  async deliverUpdate(token: string, update: object, opts: { secret?: string | null; url?: string; timeoutMs?: number } = {}): Promise<DeliveryResult> {
    const st = this.state(token);
    const body: Record<string, unknown> = "update_id" in update ? { ...(update as Record<string, unknown>) } : { update_id: st.nextUpdateId++, ...update };
    const uid = body.update_id;
    if (typeof uid === "number" && uid >= st.nextUpdateId) st.nextUpdateId = uid + 1;
    const res = await this.post(st, body, opts);
    if (res.error !== undefined) st.pending.push(body);
    return res;
  }

  /** Retry pending updates in order, stopping at the first failure. Returns how many got through. */
  async flushPending(token: string, opts: { timeoutMs?: number } = {}): Promise<number> {
    const st = this.state(token);
    let delivered = 0;
    while (st.pending.length > 0) {
      const res = await this.post(st, st.pending[0]!, opts);
      if (res.error !== undefined) break;
      st.pending.shift();
      delivered++;
    }
    return delivered;
  }

  private async post(
    st: BotState,
    update: Record<string, unknown>,
    opts: { secret?: string | null; url?: string; timeoutMs?: number },
  ): Promise<DeliveryResult> {
    const target = opts.url ?? st.webhook?.url;
    if (!target) {
      throw new Error(`FakeBotApi.deliverUpdate: bot ${st.bot.token} has no webhook set (and no opts.url given)`);
    }
    const secret = opts.secret === undefined ? st.webhook?.secret_token : (opts.secret ?? undefined);
    const payload = JSON.stringify(update);
    const headers: Record<string, string | number> = {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(payload),
    };
    if (secret !== undefined) headers["x-telegram-bot-api-secret-token"] = secret;
    const u = new URL(target);
    const timeoutMs = opts.timeoutMs ?? 10_000;
    let result = await this.postOnce(u, headers, payload, timeoutMs);
    // A pooled keep-alive socket the webhook server closed while idle fails
    // with ECONNRESET before any answer; that says nothing about the server,
    // so retry once on a fresh connection (as Node's docs recommend).
    if (result.staleSocket) result = await this.postOnce(u, headers, payload, timeoutMs);
    delete result.staleSocket;
    if (result.error !== undefined && st.webhook) {
      st.webhook.last_error_date = unixNow();
      st.webhook.last_error_message = result.error;
    }
    return result;
  }

  private postOnce(u: URL, headers: Record<string, string | number>, payload: string, timeoutMs: number): Promise<DeliveryResult & { staleSocket?: boolean }> {
    const isHttps = u.protocol === "https:";
    return new Promise((resolve) => {
      const req = (isHttps ? https : http).request(u, { method: "POST", headers, agent: isHttps ? this.httpsAgent : this.httpAgent }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const status = res.statusCode ?? 0;
          const body = Buffer.concat(chunks).toString("utf8");
          if (status >= 200 && status < 300) return resolve({ status, body });
          // Telegram's wording, e.g. "Wrong response from the webhook: 401 Unauthorized".
          const reason = res.statusMessage || http.STATUS_CODES[status] || "";
          resolve({ status, body, error: `Wrong response from the webhook: ${status} ${reason}`.trimEnd() });
        });
        res.on("error", (err) => resolve({ status: 0, body: "", error: `Connection error: ${err.message}` }));
      });
      req.setTimeout(timeoutMs, () => {
        req.destroy(Object.assign(new Error("timeout"), { code: "FAKE_TIMEOUT" }));
      });
      req.on("error", (err: NodeJS.ErrnoException) => {
        resolve({
          status: 0,
          body: "",
          error: networkErrorMessage(err),
          ...(req.reusedSocket && err.code === "ECONNRESET" ? { staleSocket: true } : {}),
        });
      });
      req.end(payload);
    });
  }

  // ----- request handling ------------------------------------------------------

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    if (url.pathname.startsWith("/file/bot")) return this.serveFile(url, req, res);

    const m = /^\/bot([^/]+)\/([^/]*)$/.exec(url.pathname);
    if (!m) {
      await drain(req);
      return sendJson(res, 404, { ok: false, error_code: 404, description: "Not Found" });
    }
    const token = decodeURIComponent(m[1]!);
    const method = this.canonicalName(m[2]!);

    let params: Record<string, unknown>;
    let parseError: string | undefined;
    try {
      params = { ...Object.fromEntries(url.searchParams), ...(await readParams(req)) };
    } catch (err) {
      params = {};
      parseError = (err as Error).message;
    }
    const call: RecordedCall = { token, method, params, at: Date.now(), status: 0 };
    this.calls.push(call);

    // Faults are chosen on arrival so that failNext(n) hits exactly the next n calls.
    const fault = this.faultQueue.shift() ?? this.fault;
    if (this.opts.latencyMs > 0) await sleep(this.opts.latencyMs);

    if (fault) {
      switch (fault.kind) {
        case "reset":
          req.socket.destroy();
          return;
        case "hang":
          await new Promise<void>((resolve) => this.held.add({ release: resolve }));
          // Released. If the client gave up or stop() killed the socket, the
          // call is dropped unprocessed (status stays 0).
          if (res.destroyed || req.socket.destroyed) return;
          break;
        case "status":
          return this.answer(res, call, {
            ok: false,
            error_code: fault.status,
            description: fault.description ?? defaultDescription(fault.status),
          });
        case "retryAfter":
          return this.answer(res, call, tooManyRequests(fault.seconds));
        case "answerLate": {
          const payload: ApiPayload =
            parseError !== undefined ? { ok: false, error_code: 400, description: `Bad Request: ${parseError}` } : await this.execute(token, method, params);
          await new Promise<void>((resolve) => this.held.add({ release: resolve }));
          return this.answer(res, call, payload); // not written if the client gave up
        }
      }
    }

    if (parseError !== undefined) {
      return this.answer(res, call, { ok: false, error_code: 400, description: `Bad Request: ${parseError}` });
    }
    if (method === "getUpdates" && !this.custom.has("getupdates") && this.bots.has(token)) {
      return this.answer(res, call, await this.longPoll(token, params, res));
    }
    this.answer(res, call, await this.execute(token, method, params));
  }

  private answer(res: http.ServerResponse, call: RecordedCall, payload: ApiPayload): void {
    const status = payload.ok ? 200 : payload.error_code;
    call.status = status;
    if (!res.destroyed) sendJson(res, status, payload);
  }

  private async execute(token: string, method: string, params: Record<string, unknown>): Promise<ApiPayload> {
    const st = this.bots.get(token);
    if (!st) return { ok: false, error_code: 401, description: "Unauthorized" };
    const key = method.toLowerCase();
    try {
      const custom = this.custom.get(key);
      if (custom) {
        const result = await custom.handler(params, { token, bot: { ...st.bot }, api: this });
        return { ok: true, result };
      }
      const builtin = BUILTINS.get(key);
      if (!builtin) return { ok: false, error_code: 404, description: "Not Found: method not found" };
      const reply = builtin.fn(st, params, this.env);
      return reply.description === undefined ? { ok: true, result: reply.result } : { ok: true, result: reply.result, description: reply.description };
    } catch (err) {
      if (err instanceof BotApiError) {
        return {
          ok: false,
          error_code: err.error_code,
          description: err.description,
          ...(err.parameters ? { parameters: err.parameters } : {}),
        };
      }
      throw err;
    }
  }

  private canonicalName(raw: string): string {
    const key = raw.toLowerCase();
    return this.custom.get(key)?.name ?? BUILTINS.get(key)?.name ?? raw;
  }

  /** `GET /file/bot<token>/<file_path>`: the bytes of a file added with addFile. */
  private async serveFile(url: URL, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    await drain(req);
    const m = /^\/file\/bot([^/]+)\/(.+)$/.exec(url.pathname);
    const token = m ? decodeURIComponent(m[1]!) : "";
    const filePath = m ? decodeURIComponent(m[2]!) : "";
    const record = { token, file_path: filePath, at: Date.now(), status: 0 };
    this.downloads.push(record);
    const st = this.bots.get(token);
    if (!st) {
      record.status = 401;
      return sendJson(res, 401, { ok: false, error_code: 401, description: "Unauthorized" });
    }
    const file = [...st.files.values()].find((f) => f.file_path === filePath);
    const expired = this.expiredDownloads.get(token) ?? 0;
    if (expired > 0) this.expiredDownloads.set(token, expired - 1);
    if (!file || expired > 0) {
      record.status = 404;
      return sendJson(res, 404, { ok: false, error_code: 404, description: "Not Found" });
    }
    record.status = 200;
    res.writeHead(200, { "content-type": "application/octet-stream", "content-length": file.bytes.byteLength });
    res.end(Buffer.from(file.bytes.buffer, file.bytes.byteOffset, file.bytes.byteLength));
  }

  // ----- long polling ----------------------------------------------------------

  /**
   * Queue an update for getUpdates (what Telegram does for a bot without a
   * webhook), waking a poll being held. A missing `update_id` is filled in.
   * Returns the update as queued.
   */
  queueUpdate(token: string, update: object): Record<string, unknown> {
    const st = this.state(token);
    const body: Record<string, unknown> = "update_id" in update ? { ...(update as Record<string, unknown>) } : { update_id: st.nextUpdateId++, ...update };
    const uid = body.update_id;
    if (typeof uid === "number" && uid >= st.nextUpdateId) st.nextUpdateId = uid + 1;
    st.pending.push(body);
    wakePolls(st);
    return body;
  }

  /** Number of getUpdates requests of this bot being held right now. */
  heldPolls(token: string): number {
    return this.state(token).polls.size;
  }

  private async longPoll(token: string, params: Record<string, unknown>, res: http.ServerResponse): Promise<ApiPayload> {
    const st = this.state(token);
    const timeoutS = Math.max(0, Math.min(50, asInt(params.timeout) ?? 0));
    const deadline = Date.now() + timeoutS * 1000;
    // Telegram serves one getUpdates per bot: a newer one ends the one being held.
    for (const p of st.polls) {
      p.superseded = true;
      p.wake();
    }
    const me: HeldPoll = { superseded: false, wake: () => {} };
    st.polls.add(me);
    try {
      for (;;) {
        if (me.superseded) {
          return {
            ok: false,
            error_code: 409,
            description: "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
          };
        }
        const r = await this.execute(token, "getUpdates", params);
        const empty = r.ok && Array.isArray(r.result) && r.result.length === 0;
        if (!empty || Date.now() >= deadline || res.destroyed || this.server === undefined) return r;
        await new Promise<void>((resolve) => {
          const done = () => {
            clearTimeout(t);
            res.off("close", done);
            resolve();
          };
          const t = setTimeout(done, Math.max(0, deadline - Date.now()));
          res.once("close", done);
          me.wake = done;
        });
      }
    } finally {
      st.polls.delete(me);
    }
  }

  // ----- helpers used by the built-in methods ---------------------------------

  private state(token: string): BotState {
    const st = this.bots.get(token);
    if (!st) throw new Error(`FakeBotApi: unknown bot token ${JSON.stringify(token)}; call addBot() first`);
    return st;
  }
}

// ---------------------------------------------------------------------------
// Built-in methods. Each validates like Telegram and throws BotApiError.
// ---------------------------------------------------------------------------

const BUILTINS = new Map<string, { name: string; fn: Builtin }>();
function builtin(name: string, fn: Builtin): void {
  BUILTINS.set(name.toLowerCase(), { name, fn });
}
const badRequest = (what: string) => new BotApiError(400, `Bad Request: ${what}`);

builtin("getMe", (st) => {
  const b = st.bot;
  return {
    result: {
      id: b.id,
      is_bot: true,
      first_name: b.first_name ?? "Test Bot",
      username: b.username,
      can_join_groups: true,
      can_read_all_group_messages: false,
      supports_inline_queries: false,
      can_connect_to_business: false,
      has_main_web_app: false,
    },
  };
});

builtin("setWebhook", (st, p) => {
  const url = asString(p.url) ?? "";
  const secret = asString(p.secret_token);
  if (secret !== undefined && secret !== "" && !SECRET_TOKEN_RE.test(secret)) {
    throw badRequest("secret token contains unallowed characters");
  }
  const drop = asBool(p.drop_pending_updates);
  if (drop) st.pending.length = 0;
  // An empty url removes the webhook, exactly like deleteWebhook.
  if (url === "") {
    const had = st.webhook !== undefined;
    st.webhook = undefined;
    return { result: true, description: had ? "Webhook was deleted" : "Webhook is already deleted" };
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw badRequest("invalid webhook URL specified");
  }
  // Real Telegram insists on HTTPS and ports 443/80/88/8443; the fake accepts
  // plain http on any port so tests can deliver to a local server.
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    throw badRequest("bad webhook: An HTTPS URL must be provided for webhook");
  }
  const prev = st.webhook;
  wakePolls(st);
  const allowed = p.allowed_updates === undefined ? prev?.allowed_updates : asStringArray(p.allowed_updates);
  const maxConn = asInt(p.max_connections);
  const sameUrl = prev?.url === url;
  st.webhook = {
    url,
    max_connections: maxConn === undefined ? 40 : Math.min(100, Math.max(1, maxConn)),
    set_at: Date.now(),
    pending_update_count: 0,
    ...(secret ? { secret_token: secret } : {}),
    ...(allowed && allowed.length > 0 ? { allowed_updates: allowed } : {}),
    ...(asString(p.ip_address) ? { ip_address: asString(p.ip_address) } : {}),
    ...(drop ? { drop_pending_updates: true } : {}),
    // Delivery errors are about a url; keep them only while the url stays the same.
    ...(sameUrl && prev?.last_error_date !== undefined ? { last_error_date: prev.last_error_date, last_error_message: prev.last_error_message } : {}),
  };
  return { result: true, description: sameUrl ? "Webhook is already set" : "Webhook was set" };
});

builtin("deleteWebhook", (st, p) => {
  if (asBool(p.drop_pending_updates)) st.pending.length = 0;
  wakePolls(st);
  const had = st.webhook !== undefined;
  st.webhook = undefined;
  return { result: true, description: had ? "Webhook was deleted" : "Webhook is already deleted" };
});

builtin("getWebhookInfo", (st) => {
  const wh = st.webhook;
  const info: Record<string, unknown> = {
    url: wh?.url ?? "",
    has_custom_certificate: false,
    pending_update_count: st.pending.length,
  };
  if (wh) {
    if (wh.ip_address !== undefined) info.ip_address = wh.ip_address;
    if (wh.last_error_date !== undefined) {
      info.last_error_date = wh.last_error_date;
      info.last_error_message = wh.last_error_message;
    }
    info.max_connections = wh.max_connections;
    if (wh.allowed_updates) info.allowed_updates = wh.allowed_updates;
  }
  return { result: info };
});

// One look at the queue: FakeBotApi.longPoll holds the request around it until
// an update arrives or `timeout` runs out. While a webhook is set Telegram
// refuses getUpdates with 409.
builtin("getUpdates", (st, p) => {
  if (st.webhook) {
    throw new BotApiError(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first");
  }
  const offset = asInt(p.offset);
  if (offset !== undefined) st.pending = st.pending.filter((u) => (u.update_id as number) >= offset);
  const limit = Math.min(100, Math.max(1, asInt(p.limit) ?? 100));
  return { result: st.pending.slice(0, limit) };
});

builtin("sendMessage", (st, p, env) => {
  const chatId = resolveChat(st, p.chat_id);
  const text = asString(p.text) ?? "";
  if (text.trim() === "" && !Array.isArray(p.entities)) throw badRequest("message text is empty");
  const parseMode = asString(p.parse_mode);
  const visible = checkEntities(text, parseMode);
  if (visible.trim() === "") throw badRequest("message text is empty");
  if (visible.length > MAX_TEXT_LENGTH) throw badRequest("message is too long");
  if (st.blocked.has(chatId)) throw new BotApiError(403, "Forbidden: bot was blocked by the user");

  const now = Date.now();
  const wait = env.enforceLimits ? floodWait(st, chatId, now) : 0;
  if (wait > 0) {
    throw new BotApiError(429, `Too Many Requests: retry after ${wait}`, { retry_after: wait });
  }
  countSend(st, chatId, now);

  const replyTo = asInt(asObject(p.reply_parameters)?.message_id) ?? asInt(p.reply_to_message_id);
  const from = botUser(st.bot);
  const message: Record<string, unknown> = {
    message_id: nextMessageId(st, chatId),
    from,
    date: Math.floor(now / 1000),
    chat: chatObject(chatId),
    text: visible,
  };
  if (replyTo !== undefined) {
    const replied = st.messages.get(`${chatId}:${replyTo}`);
    if (replied) message.reply_to_message = withoutReply(replied);
  }
  st.messages.set(`${chatId}:${message.message_id as number}`, message);
  env.recordSent({
    token: st.bot.token,
    chat_id: chatId,
    text,
    ...(replyTo !== undefined ? { reply_to_message_id: replyTo } : {}),
    ...(parseMode !== undefined ? { parse_mode: parseMode } : {}),
    message_id: message.message_id as number,
    at: now,
    params: p,
  });
  return { result: JSON.parse(JSON.stringify(message)) as unknown };
});

// Edits a message the bot sent (text only). Telegram refuses an edit that changes nothing.
builtin("editMessageText", (st, p, env) => {
  const chatId = resolveChat(st, p.chat_id);
  const messageId = asInt(p.message_id);
  const text = asString(p.text) ?? "";
  if (messageId === undefined) throw badRequest("message identifier is not specified");
  const visible = checkEntities(text, asString(p.parse_mode));
  if (visible.trim() === "") throw badRequest("message text is empty");
  if (visible.length > MAX_TEXT_LENGTH) throw badRequest("MESSAGE_TOO_LONG");
  const message = st.messages.get(`${chatId}:${messageId}`);
  const botId = (botUser(st.bot) as { id: number }).id;
  if (!message || (message.from as { id?: number } | undefined)?.id !== botId) throw badRequest("message to edit not found");
  if (message.text === visible)
    throw badRequest(
      "message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message",
    );
  message.text = visible;
  message.edit_date = unixNow();
  env.recordEdit({ token: st.bot.token, chat_id: chatId, message_id: messageId, text: visible, at: Date.now() });
  return { result: JSON.parse(JSON.stringify(message)) as unknown };
});

builtin("sendChatAction", (st, p) => {
  const chatId = resolveChat(st, p.chat_id);
  if (!asString(p.action)) throw badRequest("wrong parameter action in request");
  if (st.blocked.has(chatId)) throw new BotApiError(403, "Forbidden: bot was blocked by the user");
  return { result: true };
});

// Command lists are kept per scope and language, as Telegram does: a user sees the list of the
// narrowest scope and their language, else that scope's list for all languages.
const COMMAND_RE = /^[a-z0-9_]{1,32}$/;
function commandsKey(scope: string, languageCode: string | undefined): string {
  return `${scope}:${languageCode ?? ""}`;
}
function commandsKeyOf(p: Record<string, unknown>): string {
  const lang = asString(p.language_code);
  if (lang !== undefined && lang !== "" && !/^[a-z]{2}$/.test(lang)) throw badRequest("invalid language code specified");
  const scope = asString(asObject(p.scope)?.type) ?? "default";
  return commandsKey(scope, lang || undefined);
}

builtin("setMyCommands", (st, p) => {
  const commands = asArray(p.commands);
  if (!commands) throw badRequest('parameter "commands" is required');
  if (commands.length > 100) throw badRequest("too many commands specified");
  for (const c of commands) {
    const o = asObject(c);
    const name = asString(o?.command);
    const description = asString(o?.description);
    if (name === undefined || !COMMAND_RE.test(name)) throw badRequest("BOT_COMMAND_INVALID");
    if (description === undefined || description.length < 1 || description.length > 256) throw badRequest("BOT_COMMAND_DESCRIPTION_INVALID");
  }
  st.commands.set(commandsKeyOf(p), commands);
  return { result: true };
});

builtin("getMyCommands", (st, p) => ({ result: st.commands.get(commandsKeyOf(p)) ?? [] }));

builtin("deleteMyCommands", (st, p) => {
  st.commands.delete(commandsKeyOf(p));
  return { result: true };
});

builtin("getFile", (st, p) => {
  const id = asString(p.file_id);
  const file = id === undefined ? undefined : st.files.get(id);
  if (!file) throw badRequest("invalid file_id");
  if (file.bytes.byteLength > MAX_DOWNLOAD_BYTES) throw badRequest("file is too big");
  return {
    result: {
      file_id: file.file_id,
      file_unique_id: file.file_unique_id,
      file_size: file.bytes.byteLength,
      file_path: file.file_path,
    },
  };
});

function nextMessageId(st: BotState, chatId: number): number {
  const id = (st.lastMessageId.get(chatId) ?? 0) + 1;
  st.lastMessageId.set(chatId, id);
  return id;
}

/** Whole seconds (≥ 1) until another message to `chatId` fits all flood windows; 0 if it fits now. */
function floodWait(st: BotState, chatId: number, now: number): number {
  const chatLimit = chatId > 0 ? LIMIT_PRIVATE_CHAT : LIMIT_GROUP_CHAT;
  const waitMs = Math.max(windowWait(st.chatSendTimes.get(chatId) ?? [], chatLimit, now), windowWait(st.sendTimes, LIMIT_PER_BOT, now));
  return waitMs > 0 ? Math.max(1, Math.ceil(waitMs / 1000)) : 0;
}

/** Count a successful send; only those count, a refused (429) send does not. */
function countSend(st: BotState, chatId: number, now: number): void {
  // Nothing older than the longest window matters any more.
  const keep = (ts: number[]) => ts.filter((t) => now - t < LIMIT_GROUP_CHAT.windowMs);
  st.sendTimes = keep(st.sendTimes);
  st.sendTimes.push(now);
  const perChat = keep(st.chatSendTimes.get(chatId) ?? []);
  perChat.push(now);
  st.chatSendTimes.set(chatId, perChat);
}

/** chat_id → numeric id, or the errors Telegram gives for missing/unknown chats. */
function resolveChat(st: BotState, raw: unknown): number {
  if (raw === undefined || raw === null || raw === "") throw badRequest("chat_id is empty");
  const id = asInt(raw);
  // "@channelusername" chats are not modelled: treat them as unknown.
  if (id === undefined || id === 0 || st.missing.has(id)) throw badRequest("chat not found");
  return id;
}

// ---------------------------------------------------------------------------
// Entity parsing, approximately as Telegram does it
// ---------------------------------------------------------------------------

/**
 * Validate `text` for `parseMode` and return the visible text (markup
 * removed), whose length is what the 4096 limit applies to.
 *  - HTML: tags must be supported and properly nested, like Telegram's
 *    parser; the classic bug of sending unescaped "<" is caught.
 *  - MarkdownV2: reserved characters that are never markup must be escaped.
 *    Balanced markers are not checked.
 *  - Markdown (legacy): accepted as is.
 */
function checkEntities(text: string, parseMode: string | undefined): string {
  if (parseMode === undefined || parseMode === "") return text;
  switch (parseMode.toLowerCase()) {
    case "html":
      return checkHtml(text);
    case "markdownv2":
      return checkMarkdownV2(text);
    case "markdown":
      return text
        .replace(/\\(.)/g, "$1")
        .replace(/\]\([^)]*\)/g, "")
        .replace(/[*_`[]/g, "");
    default:
      throw badRequest("unsupported parse_mode");
  }
}

function checkHtml(text: string): string {
  const fail = (what: string) => badRequest(`can't parse entities: ${what}`);
  const offset = (i: number) => Buffer.byteLength(text.slice(0, i));
  const open: string[] = [];
  let visible = "";
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === "<") {
      const end = text.indexOf(">", i);
      if (end === -1) throw fail(`Unclosed start tag at byte offset ${offset(i)}`);
      const inner = text.slice(i + 1, end);
      if (inner.startsWith("/")) {
        const name = inner.slice(1).trim().toLowerCase();
        const top = open.pop();
        if (top === undefined) throw fail(`Unexpected end tag at byte offset ${offset(i)}`);
        if (top !== name) {
          throw fail(`Unmatched end tag at byte offset ${offset(i)}, expected "</${top}>", found "</${name}>"`);
        }
      } else {
        const name = (/^[A-Za-z][A-Za-z0-9-]*/.exec(inner)?.[0] ?? "").toLowerCase();
        if (!HTML_TAGS.has(name)) throw fail(`Unsupported start tag "${name}" at byte offset ${offset(i)}`);
        open.push(name);
      }
      i = end + 1;
    } else if (ch === "&") {
      const m = /^&(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);/.exec(text.slice(i, i + 12));
      if (m) {
        const e = m[1]!;
        visible +=
          e === "lt"
            ? "<"
            : e === "gt"
              ? ">"
              : e === "amp"
                ? "&"
                : e === "quot"
                  ? '"'
                  : String.fromCodePoint(e.startsWith("#x") ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
        i += m[0].length;
      } else {
        // Telegram leaves unrecognised "&..." as text.
        visible += ch;
        i++;
      }
    } else {
      visible += ch;
      i++;
    }
  }
  if (open.length > 0) throw fail(`Can't find end tag corresponding to start tag "${open[open.length - 1]}"`);
  return visible;
}

function checkMarkdownV2(text: string): string {
  let visible = "";
  let afterLinkText = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === "\\") {
      visible += text[i + 1] ?? "";
      i++;
      continue;
    }
    if (ch === "(" && afterLinkText) {
      // Skip the URL of [text](url).
      const close = text.indexOf(")", i);
      i = close === -1 ? text.length : close;
      afterLinkText = false;
      continue;
    }
    afterLinkText = ch === "]";
    if ("#+-={}.!()".includes(ch) || (ch === ">" && i > 0 && text[i - 1] !== "\n")) {
      throw badRequest(`can't parse entities: Character '${ch}' is reserved and must be escaped with the preceding '\\'`);
    }
    if (!"*_~|`[]>".includes(ch)) visible += ch;
  }
  return visible;
}

/** bot_command entities for a leading "/command", as Telegram adds them to incoming messages. */
function commandEntities(text: string): Array<Record<string, unknown>> {
  const m = /^\/[A-Za-z0-9_]+(@[A-Za-z0-9_]+)?/.exec(text);
  return m ? [{ type: "bot_command", offset: 0, length: m[0].length }] : [];
}

// ---------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------

type ApiPayload =
  | { ok: true; result: unknown; description?: string }
  | { ok: false; error_code: number; description: string; parameters?: Record<string, unknown> };

function tooManyRequests(seconds: number): ApiPayload {
  return {
    ok: false,
    error_code: 429,
    description: `Too Many Requests: retry after ${seconds}`,
    parameters: { retry_after: seconds },
  };
}

function defaultDescription(status: number): string {
  switch (status) {
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 409:
      return "Conflict";
    case 429:
      return "Too Many Requests";
    default:
      return http.STATUS_CODES[status] ?? "Error";
  }
}

/** ms until a sliding window of `max` events per `windowMs` has a free slot (0 = free now). */
function windowWait(times: number[], limit: { windowMs: number; max: number }, now: number): number {
  const recent = times.filter((t) => now - t < limit.windowMs);
  if (recent.length < limit.max) return 0;
  return recent[recent.length - limit.max]! + limit.windowMs - now;
}

function withoutReply(message: Record<string, unknown>): Record<string, unknown> {
  const { reply_to_message: _nested, ...rest } = message;
  return rest;
}

function botUser(b: FakeBot): Record<string, unknown> {
  return { id: b.id, is_bot: true, first_name: b.first_name ?? "Test Bot", username: b.username };
}

/** Chat object for an id: > 0 private, < -10^12 supergroup ("-100..." ids), else group. */
function chatObject(id: number, user?: Record<string, unknown>): Record<string, unknown> {
  if (id > 0) {
    const chat: Record<string, unknown> = { id, type: "private", first_name: user?.first_name ?? "Test" };
    if (user?.username !== undefined) chat.username = user.username;
    return chat;
  }
  if (id < -1_000_000_000_000) return { id, type: "supergroup", title: "Test supergroup" };
  return { id, type: "group", title: "Test group" };
}

function networkErrorMessage(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case "ECONNREFUSED":
      return "Connection refused";
    case "ECONNRESET":
      return "Connection reset by peer";
    case "FAKE_TIMEOUT":
      return "Read timeout expired";
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return "Failed to resolve host: Name or service not known";
    default:
      return `Connection error: ${err.message}`;
  }
}

function unixNow(): number {
  return Math.floor(Date.now() / 1000);
}

function hashId(s: string): number {
  let h = 0;
  for (const c of s) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return (h % 2_000_000_000) + 1;
}

function sendJson(res: http.ServerResponse, status: number, payload: unknown): void {
  const body = JSON.stringify(payload);
  // Content-Length (not chunked) and no "Connection: close": the client may
  // keep the connection alive, as it does with api.telegram.org.
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
  });
  res.end(body);
}

// --- parameter coercion: urlencoded / multipart values arrive as strings ---

function asString(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return undefined;
}

function asInt(v: unknown): number | undefined {
  if (typeof v === "number" && Number.isInteger(v)) return v;
  if (typeof v === "string" && /^-?\d+$/.test(v.trim())) return Number(v.trim());
  return undefined;
}

function asBool(v: unknown): boolean {
  return v === true || v === 1 || (typeof v === "string" && ["true", "1"].includes(v.toLowerCase()));
}

/** Objects may be sent as JSON-serialised strings outside of JSON bodies. */
function asObject(v: unknown): Record<string, unknown> | undefined {
  const parsed = typeof v === "string" ? tryJson(v) : v;
  return parsed !== null && typeof parsed === "object" && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
}

function asArray(v: unknown): unknown[] | undefined {
  const parsed = typeof v === "string" ? tryJson(v) : v;
  return Array.isArray(parsed) ? parsed : undefined;
}

function asStringArray(v: unknown): string[] {
  return (asArray(v) ?? []).filter((x): x is string => typeof x === "string");
}

function tryJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}

// --- request bodies ---

async function readBody(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new Error("request entity too large");
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Read the whole body (needed before answering on a keep-alive connection) and ignore it. */
async function drain(req: http.IncomingMessage): Promise<void> {
  for await (const _ of req) void _;
}

/** Params from the body, per Content-Type, as Telegram accepts them. */
async function readParams(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  const body = await readBody(req);
  if (body.length === 0) return {};
  const type = (req.headers["content-type"] ?? "").toLowerCase();
  if (type.startsWith("application/json")) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString("utf8"));
    } catch {
      throw new Error("can't parse JSON object");
    }
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
      throw new Error("can't parse JSON object");
    }
    return parsed as Record<string, unknown>;
  }
  if (type.startsWith("application/x-www-form-urlencoded")) {
    return Object.fromEntries(new URLSearchParams(body.toString("utf8")));
  }
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(req.headers["content-type"] ?? "");
  if (type.startsWith("multipart/form-data") && boundary) {
    return parseMultipart(body, (boundary[1] ?? boundary[2])!.trim());
  }
  return {};
}

/**
 * Minimal multipart/form-data parser (grammY uses multipart when uploading
 * files). Text fields become strings; file parts become
 * `{ filename, size, bytes }` so tests can inspect uploads.
 */
function parseMultipart(body: Buffer, boundary: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const delimiter = Buffer.from(`--${boundary}`);
  let pos = body.indexOf(delimiter);
  while (pos !== -1) {
    const start = pos + delimiter.length;
    if (body.subarray(start, start + 2).toString() === "--") break; // closing delimiter
    const next = body.indexOf(delimiter, start);
    if (next === -1) break;
    // Each part: CRLF, headers, CRLF CRLF, content, CRLF, next delimiter.
    const part = body.subarray(start + 2, next - 2);
    const headerEnd = part.indexOf("\r\n\r\n");
    if (headerEnd !== -1) {
      const headers = part.subarray(0, headerEnd).toString("utf8");
      const content = part.subarray(headerEnd + 4);
      const name = /;\s*name="([^"]*)"/i.exec(headers)?.[1];
      const filename = /filename="([^"]*)"/i.exec(headers)?.[1];
      if (name !== undefined) {
        out[name] = filename !== undefined ? { filename, size: content.length, bytes: new Uint8Array(content) } : content.toString("utf8");
      }
    }
    pos = next;
  }
  return out;
}
