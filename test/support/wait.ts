// Waiting in tests: for a condition (polled, with a bound that fails the test rather than a fixed
// pause that hopes), or for a plain delay where the test is about time itself.

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Poll `fn` every `intervalMs` until it returns a truthy value, and return that value; throw after
 * `timeoutMs` (a bound, not a timing assertion) naming `what`.
 */
export async function until<T>(
  fn: () => T | Promise<T>,
  what: string | (() => string),
  timeoutMs = 20_000,
  intervalMs = 50,
): Promise<Exclude<T, false | null | undefined | 0 | "">> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v as Exclude<T, false | null | undefined | 0 | "">;
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${typeof what === "string" ? what : what()}`);
    await sleep(intervalMs);
  }
}
