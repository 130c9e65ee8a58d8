// The webhook's raw body as text. A UTF-8 byte order mark before the JSON is tolerated: JSON.parse
// would refuse it, the answer would be 400, and Telegram (or a proxy that adds one) would deliver
// the same update again forever.
export function bodyText(body: unknown): string {
  const raw = body instanceof Buffer ? body.toString("utf8") : "";
  return raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw;
}
