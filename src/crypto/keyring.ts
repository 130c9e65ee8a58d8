// Where the Fernet keys come from: FERNET_KEYS (comma-separated; the first encrypts, all decrypt)
// or, in development, a key generated once into the data folder (mode 0600) with a warning.
import fs from "node:fs";
import path from "node:path";
import { MultiFernet, generateKey, isValidKey } from "./fernet.ts";
import { ConfigError } from "../config.ts";

export interface KeySource {
  fernet: MultiFernet;
  /** Where the keys came from, safe to print. */
  origin: "FERNET_KEYS" | "generated" | "file";
  file?: string;
}

export function loadKeys(opts: { fernetKeys?: string; dataDir: string; production: boolean; warn: (msg: string) => void }): KeySource {
  if (opts.fernetKeys && opts.fernetKeys.trim() !== "") {
    const keys = opts.fernetKeys
      .split(",")
      .map((k) => k.trim())
      .filter((k) => k !== "");
    keys.forEach((k, i) => {
      if (!isValidKey(k)) throw new ConfigError(`FERNET_KEYS entry ${i + 1} is not a valid Fernet key (32 bytes, url-safe base64)`);
    });
    return { fernet: new MultiFernet(keys), origin: "FERNET_KEYS" };
  }
  if (opts.production) throw new ConfigError("FERNET_KEYS is required when NODE_ENV=production");
  const file = path.join(opts.dataDir, "fernet.key");
  if (fs.existsSync(file)) {
    const key = fs.readFileSync(file, "utf8").trim();
    if (!isValidKey(key)) throw new ConfigError(`${file} does not hold a valid Fernet key`);
    return { fernet: new MultiFernet([key]), origin: "file", file };
  }
  fs.mkdirSync(opts.dataDir, { recursive: true });
  const key = generateKey();
  try {
    // "wx": never overwrite a key another process wrote a moment ago.
    fs.writeFileSync(file, key + "\n", { mode: 0o600, flag: "wx" });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return loadKeys(opts);
    throw e;
  }
  opts.warn(
    `FERNET_KEYS is not set: generated a development key in ${file} (mode 0600). Set FERNET_KEYS in production and keep a copy of the key: tokens cannot be decrypted without it.`,
  );
  return { fernet: new MultiFernet([key]), origin: "generated", file };
}
