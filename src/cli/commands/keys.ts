// `keys rotate`: re-encrypt every stored bot token under the first key of FERNET_KEYS.
import type { Command } from "commander";
import { rotateTokens } from "../../plugins/store.ts";
import { withRuntime } from "../context.ts";
import { print } from "../output.ts";
import { generateKey } from "../../crypto/fernet.ts";

export function registerKeys(program: Command): void {
  const keys = program.command("keys").description("Fernet keys that encrypt the bot tokens");
  // Needs no database: prints a key for FERNET_KEYS (the one place a key is meant to be shown).
  keys
    .command("generate")
    .description("print a new Fernet key for FERNET_KEYS (keep a copy: tokens cannot be decrypted without it)")
    .option("--json", "print JSON")
    .action((o: { json?: boolean }) => {
      const key = generateKey();
      print(o, { key }, () => key);
    });
  keys
    .command("rotate")
    .description("re-encrypt every token under the first key of FERNET_KEYS (run after prepending a new key)")
    .option("--json", "print JSON")
    .action((o: { json?: boolean }) =>
      withRuntime(o, async (rt) => {
        const r = await rotateTokens(rt.store.db, rt.keys.fernet);
        const out = { ...r, primary_key_fingerprint: rt.keys.fernet.primaryKeyFingerprint };
        print(o, out, () => `Re-encrypted ${r.rotated} token(s) under key ${out.primary_key_fingerprint}. Old keys may now be removed from FERNET_KEYS.`);
      }),
    );
}
