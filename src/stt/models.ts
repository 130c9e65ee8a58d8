// `stt fetch-model <name>`: whisper.cpp's ggml models, downloaded where the machine has internet,
// checked against the SHA-1 whisper.cpp publishes for each (models/README.md), written to a
// temporary file and renamed only once complete and verified.
import fs from "node:fs";
import path from "node:path";
import { createHash } from "node:crypto";

export const MODEL_BASE_URL = "https://huggingface.co/ggerganov/whisper.cpp/resolve/main";

/** name → SHA-1 and approximate size (MiB), as whisper.cpp lists them. */
export const WHISPER_MODELS: Record<string, { sha1: string; mib: number }> = {
  tiny: { sha1: "bd577a113a864445d4c299885e0cb97d4ba92b5f", mib: 75 },
  "tiny.en": { sha1: "c78c86eb1a8faa21b369bcd33207cc90d64ae9df", mib: 75 },
  base: { sha1: "465707469ff3a37a2b9b8d8f89f2f99de7299dac", mib: 142 },
  "base.en": { sha1: "137c40403d78fd54d454da0f9bd998f78703390c", mib: 142 },
  small: { sha1: "55356645c2b361a969dfd0ef2c5a50d530afd8d5", mib: 466 },
  "small.en": { sha1: "db8a495a91d927739e50b3fc1cc4c6b8f6c2d022", mib: 466 },
  medium: { sha1: "fd9727b6e1217c2f614f9b698455c4ffd82463b4", mib: 1536 },
  "medium.en": { sha1: "8c30f0e44ce9560643ebd10bbe50cd20eafd3723", mib: 1536 },
  "large-v3": { sha1: "ad82bf6a9043ceed055076d0fd39f5f186ff8062", mib: 2970 },
};

export class ModelFetchError extends Error {}

export interface FetchProgress {
  start(total: number): void;
  update(done: number): void;
  stop(): void;
}

export async function fetchModel(
  name: string,
  dir: string,
  o: { baseUrl?: string; progress?: FetchProgress; fetch?: typeof fetch } = {},
): Promise<{ file: string; bytes: number; sha1: string }> {
  const known = WHISPER_MODELS[name];
  if (!known) throw new ModelFetchError(`unknown model "${name}": one of ${Object.keys(WHISPER_MODELS).join(", ")}`);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `ggml-${name}.bin`);
  const url = `${(o.baseUrl ?? MODEL_BASE_URL).replace(/\/+$/, "")}/ggml-${name}.bin`;
  let res: Response;
  try {
    res = await (o.fetch ?? fetch)(url, { redirect: "follow" });
  } catch (err) {
    throw new ModelFetchError(
      `cannot download ${url}: ${((err as Error).cause as Error | undefined)?.message ?? (err as Error).message} (this needs internet access; or copy a ggml model file here yourself and set WHISPER_MODEL to it)`,
    );
  }
  if (!res.ok || !res.body) throw new ModelFetchError(`downloading ${url} answered ${res.status}`);
  const total = Number(res.headers.get("content-length")) || known.mib * 1024 * 1024;
  const tmp = `${file}.part`;
  const out = fs.createWriteStream(tmp);
  const hash = createHash("sha1");
  let done = 0;
  o.progress?.start(total);
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      hash.update(chunk);
      done += chunk.byteLength;
      if (!out.write(chunk)) await new Promise<void>((r) => out.once("drain", () => r()));
      o.progress?.update(done);
    }
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  } catch (err) {
    out.destroy();
    fs.rmSync(tmp, { force: true });
    throw new ModelFetchError(`download of ${name} interrupted: ${(err as Error).message}`);
  } finally {
    o.progress?.stop();
  }
  const sha1 = hash.digest("hex");
  if (sha1 !== known.sha1) {
    fs.rmSync(tmp, { force: true });
    throw new ModelFetchError(`checksum mismatch for ${name}: got SHA-1 ${sha1}, expected ${known.sha1}; the file was discarded`);
  }
  fs.renameSync(tmp, file);
  return { file, bytes: done, sha1 };
}
