// Unit tests of the outbox's pure policy: what to do after a failed send, backoff, per-chat pacing,
// and the per-bot limiter (with an injected clock). Errors are grammY's real classes.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { GrammyError, HttpError } from "grammy";

import { classifySendError, backoffMs, chatPaceMs, PACE } from "../../src/outbox/policy.ts";
import { BotLimiter, type Slot } from "../../src/outbox/bot-limiter.ts";
import { SendAttemptError } from "../../src/outbox/send-fetch.ts";

const TOKEN = "7123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw";
const TOKEN_ID = "7123456789";
const TOKEN_SECRET = "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw";

function apiError(error_code: number, description: string, parameters?: { retry_after?: number; migrate_to_chat_id?: number }): GrammyError {
  const payload = { chat_id: 123, text: "✅ Recibido. Encolando... [T-4KQ2]" };
  return new GrammyError(
    "Call to 'sendMessage' failed!",
    { ok: false, error_code, description, ...(parameters ? { parameters } : {}) },
    "sendMessage",
    payload,
  );
}
function networkError(code: string | undefined, message: string): HttpError {
  const inner = Object.assign(new Error(message), code ? { code } : {});
  return new HttpError("Network request for 'sendMessage' failed!", inner);
}
function assertNoToken(reason: string) {
  assert.ok(!reason.includes(TOKEN), `token in reason: ${reason}`);
  assert.ok(!reason.includes(TOKEN_SECRET), `token secret part in reason: ${reason}`);
}

describe("classifySendError", () => {
  it("429 with parameters.retry_after → rate_limited, waiting exactly retry_after seconds", () => {
    for (const s of [1, 7, 35, 600]) {
      const r = classifySendError(apiError(429, `Too Many Requests: retry after ${s}`, { retry_after: s }), 3);
      assert.equal(r.type, "rate_limited");
      assert.equal((r as { delayMs: number }).delayMs, s * 1000);
      assert.match(r.reason, /429/);
    }
  });

  it("429 without retry_after still waits (at least a second) rather than hammering", () => {
    const r = classifySendError(apiError(429, "Too Many Requests"), 1);
    assert.equal(r.type, "rate_limited");
    assert.ok((r as { delayMs: number }).delayMs >= 1000);
    const zero = classifySendError(apiError(429, "Too Many Requests: retry after 0", { retry_after: 0 }), 1);
    assert.ok((zero as { delayMs: number }).delayMs >= 1000);
  });

  it("500 / 502 / 503 → retry with the backoff for that attempt", () => {
    for (const code of [500, 502, 503, 504]) {
      for (const attempt of [1, 4, 30]) {
        const r = classifySendError(apiError(code, "Internal Server Error"), attempt);
        assert.equal(r.type, "retry", `${code}`);
        const step = Math.min(500 * 2 ** (attempt - 1), 300_000);
        const d = (r as { delayMs: number }).delayMs;
        assert.ok(d >= step / 2 && d <= step, `attempt ${attempt}: ${d} not in [${step / 2}, ${step}]`);
        assert.match(r.reason, new RegExp(String(code)));
      }
    }
  });

  it("400 / 403 / 401 → permanent, with Telegram's reason kept", () => {
    const cases: Array<[number, string]> = [
      [400, "Bad Request: chat not found"],
      [403, "Forbidden: bot was blocked by the user"],
      [403, "Forbidden: bot was kicked from the group chat"],
      [401, "Unauthorized"],
      [400, "Bad Request: message text is empty"],
    ];
    for (const [code, description] of cases) {
      const r = classifySendError(apiError(code, description), 1);
      assert.equal(r.type, "permanent", `${code} ${description}`);
      assert.equal("delayMs" in r, false);
      assert.ok(r.reason.includes(String(code)) && r.reason.includes(description), r.reason);
    }
  });

  it("a request that never left (refused, DNS, reset while connecting) → retry with backoff, naming the cause", () => {
    const r = classifySendError(new HttpError("Network request for 'sendMessage' failed!", new SendAttemptError("ECONNREFUSED", "ECONNREFUSED", false)), 2);
    assert.equal(r.type, "retry");
    const d = (r as { delayMs: number }).delayMs;
    assert.ok(d >= 500 && d <= 1000, `${d}`);
    assert.match(r.reason, /ECONNREFUSED/);
  });

  it("a request that was sent and got no answer (timeout, reset) → unknown, never retried", () => {
    for (const code of ["ETIMEDOUT", "ECONNRESET"]) {
      const r = classifySendError(new HttpError("Network request for 'sendMessage' failed!", new SendAttemptError("no answer", code, true)), 1);
      assert.equal(r.type, "unknown");
      assert.match(r.reason, new RegExp(code));
      assert.equal("delayMs" in r, false);
    }
    // Not our client's error (e.g. grammY's own timeout, an answer that is not JSON): it may have
    // been delivered, so it is unknown too.
    assert.equal(classifySendError(networkError(undefined, "socket hang up"), 1).type, "unknown");
    assert.equal(classifySendError(new HttpError("Network request for 'sendMessage' failed!", "weird"), 1).type, "unknown");
  });

  it("any other thrown value → retry, never a crash", () => {
    for (const e of [new Error("boom"), new TypeError("fetch failed"), "string", null, undefined, 42, {}]) {
      const r = classifySendError(e, 1);
      assert.equal(r.type, "retry");
      assert.equal(typeof r.reason, "string");
    }
  });

  it("reasons never contain a bot token, even when the error's text has one", () => {
    const url = `https://api.telegram.org/bot${TOKEN}/sendMessage`;
    const errors: unknown[] = [
      networkError(undefined, `request to ${url} failed, reason: getaddrinfo ENOTFOUND`),
      networkError(undefined, `token ${TOKEN} rejected`),
      new HttpError(`Network request for 'sendMessage' failed! request to ${url} failed`, undefined),
      new Error(`fetch ${url} failed`),
      new Error(`bad token ${TOKEN}`),
      `thrown string with ${TOKEN}`,
      apiError(401, `Unauthorized: invalid token ${TOKEN}`),
      apiError(400, `Bad Request: wrong url ${url}`),
      apiError(502, `Bad Gateway (upstream ${url})`),
      apiError(429, `Too Many Requests for bot${TOKEN}`, { retry_after: 3 }),
    ];
    for (const e of errors) {
      const r = classifySendError(e, 1);
      assertNoToken(r.reason);
    }
    // The bot id alone is public (it is in getMe); only the secret part matters, but check the
    // scrubbing did not just drop the colon.
    assert.ok(!classifySendError(new Error(`x ${TOKEN}`), 1).reason.includes(`${TOKEN_ID}:`));
  });
});

describe("backoffMs", () => {
  const top = () => 0.999999999;
  const bottom = () => 0;

  it("grows with each attempt (0.5 s, 1 s, 2 s …) until the 5 minute cap", () => {
    const steps = Array.from({ length: 12 }, (_, i) => backoffMs(i + 1, top));
    assert.deepEqual(steps.slice(0, 5), [500, 1000, 2000, 4000, 8000]);
    for (let i = 1; i < steps.length; i++) {
      if (steps[i - 1]! < 300_000) assert.ok(steps[i]! > steps[i - 1]!, `attempt ${i + 1} not longer`);
    }
  });

  it("is capped at 5 minutes, however many attempts", () => {
    for (const attempt of [11, 12, 20, 100, 1100, 10_000]) {
      const d = backoffMs(attempt, top);
      assert.ok(Number.isFinite(d));
      assert.equal(d, 300_000, `attempt ${attempt}`);
      assert.equal(backoffMs(attempt, bottom), 150_000);
    }
  });

  it("jitter stays within [step/2, step]", () => {
    for (const attempt of [1, 2, 5, 9, 15]) {
      const step = Math.min(500 * 2 ** (attempt - 1), 300_000);
      assert.equal(backoffMs(attempt, bottom), step / 2);
      assert.equal(backoffMs(attempt, top), step);
      const seen = new Set<number>();
      for (let i = 0; i < 500; i++) {
        const d = backoffMs(attempt);
        assert.ok(d >= step / 2 && d <= step, `attempt ${attempt}: ${d}`);
        seen.add(d);
      }
      assert.ok(seen.size > 10, "the delay is actually jittered");
    }
  });

  it("attempt 0 or below is treated as the first attempt", () => {
    assert.equal(backoffMs(0, top), 500);
    assert.equal(backoffMs(-3, top), 500);
  });
});

describe("chatPaceMs", () => {
  it("private chats: 1 s between messages", () => {
    assert.equal(PACE.privateChatMs, 1000);
    for (const id of [1, 123456789, 4_503_599_627_370_495]) assert.equal(chatPaceMs(id), 1000);
  });
  it("groups and supergroups (negative ids): 3 s (Telegram allows 20 a minute)", () => {
    assert.equal(PACE.groupChatMs, 3000);
    for (const id of [-1, -123456, -1001234567890, -4_503_599_627_370_495]) assert.equal(chatPaceMs(id), 3000);
    assert.ok(60_000 / chatPaceMs(-100123) <= 20);
  });
});

describe("BotLimiter", () => {
  function clock(start = 1_000_000) {
    const c = { t: start, now: () => c.t };
    return c;
  }
  const isSlot = (r: Slot | number): r is Slot => typeof r !== "number";

  it("lets 30 sends start at once; the 31st waits until one second after an answer came back", () => {
    const c = clock();
    const lim = new BotLimiter(PACE.perBotPerSecond, c.now);
    assert.equal(PACE.perBotPerSecond, 30);
    const slots = Array.from({ length: 30 }, (_, i) => {
      const r = lim.tryAcquire(1);
      assert.ok(isSlot(r), `send ${i + 1}`);
      return r;
    });
    // All 30 still in flight: nothing frees until an answer comes back.
    const inFlight = lim.tryAcquire(1);
    assert.ok(!isSlot(inFlight) && inFlight > 0);
    c.t += 200; // the answers arrive 200 ms after the starts
    for (const s of slots) lim.release(s);
    const wait = lim.tryAcquire(1);
    assert.equal(wait, 1000, "a slot frees one second after its answer, not after its start");
    c.t += 999;
    assert.ok(!isSlot(lim.tryAcquire(1)));
    c.t += 1;
    assert.ok(isSlot(lim.tryAcquire(1)));
  });

  it("never lets Telegram see more than 30 arrivals in a second, whatever the network delay", () => {
    const c = clock();
    const lim = new BotLimiter(30, c.now);
    let rnd = 12345;
    const random = (n: number) => {
      rnd = (rnd * 1103515245 + 12345) % 2 ** 31;
      return rnd % n;
    };
    const arrivals: number[] = [];
    // A greedy sender: as soon as a slot is free it starts a send; each send arrives at Telegram
    // 0-80 ms after its start and its answer comes back 0-20 ms after that.
    const pending: Array<{ slot: Slot; answerAt: number }> = [];
    while (arrivals.length < 1000) {
      for (const p of pending.filter((p) => p.answerAt <= c.t)) lim.release(p.slot);
      pending.splice(0, pending.length, ...pending.filter((p) => p.answerAt > c.t));
      const r = lim.tryAcquire(42);
      if (isSlot(r)) {
        const arrival = c.t + random(80);
        arrivals.push(arrival);
        pending.push({ slot: r, answerAt: arrival + random(20) });
      } else c.t += Math.min(r, 5);
    }
    arrivals.sort((a, b) => a - b);
    let i = 0;
    for (let j = 0; j < arrivals.length; j++) {
      while (arrivals[j]! - arrivals[i]! >= 1000) i++;
      assert.ok(j - i + 1 <= 30, `${j - i + 1} arrivals within 1 s ending at ${arrivals[j]}`);
    }
    // And it does not crawl: 1000 sends at ~30 per (1 s + the round trip).
    const elapsed = arrivals.at(-1)! - arrivals[0]!;
    assert.ok(elapsed < 40_000, `1000 sends took ${elapsed} ms of clock time`);
  });

  it("keeps bots independent", () => {
    const c = clock();
    const lim = new BotLimiter(29, c.now);
    for (let i = 0; i < 29; i++) lim.tryAcquire(1);
    assert.ok(!isSlot(lim.tryAcquire(1)));
    for (let i = 0; i < 29; i++) assert.ok(isSlot(lim.tryAcquire(2)), `bot 2 send ${i + 1}`);
    assert.ok(!isSlot(lim.tryAcquire(2)));
  });
});
