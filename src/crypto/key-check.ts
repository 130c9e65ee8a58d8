// Before `serve` or `worker` starts: every stored bot token must decrypt with the configured
// keys. Otherwise the bots would be polled with nothing and their confirmations stay pending
// forever (what happened when data/fernet.key was deleted and a new key generated silently).
import type { Runtime } from "../runtime.ts";
import { JoeError } from "../errors.ts";

export async function undecryptablePlugins(rt: Runtime): Promise<number[]> {
  const rows = await rt.store.db.selectFrom("plugin_configs").select(["id", "token_cifrado"]).orderBy("id").execute();
  const bad: number[] = [];
  for (const r of rows) {
    try {
      rt.keys.fernet.decrypt(r.token_cifrado);
    } catch {
      bad.push(Number(r.id));
    }
  }
  return bad;
}

/** Throws KEYS_CANNOT_DECRYPT with what to do (never a key or a token). */
export async function assertKeysDecryptTokens(rt: Runtime): Promise<void> {
  const bad = await undecryptablePlugins(rt);
  if (bad.length === 0) return;
  const source =
    rt.keys.origin === "FERNET_KEYS"
      ? "FERNET_KEYS"
      : rt.keys.origin === "generated"
        ? `${rt.keys.file} (a NEW key, generated just now because the file was missing)`
        : (rt.keys.file ?? "the key file");
  const list = bad.length > 10 ? `${bad.slice(0, 10).join(", ")}, …` : bad.join(", ");
  throw new JoeError(
    "KEYS_CANNOT_DECRYPT",
    [
      `${bad.length} plugin(s) (${list}) cannot be decrypted with the key(s) from ${source}. Refusing to start.`,
      `  To recover: restore the key that encrypted them (your backup of FERNET_KEYS or of data/fernet.key${rt.keys.origin === "generated" ? `, copied over ${rt.keys.file}` : ""}).`,
      `  Or re-enter each bot's token (from BotFather): npx joe-telegram plugin set-token <id> --token -`,
    ].join("\n"),
  );
}
