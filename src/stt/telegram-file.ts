// Fetching a voice note from Telegram: getFile gives a file_path valid for at least an hour, the
// bytes are at `${apiRoot}/file/bot<token>/<file_path>`. Files over 20 MB cannot be downloaded
// through the Bot API at all, so they are refused before any byte is fetched. The download URL
// carries the bot token: it is never logged or put in an error.
import { GrammyError, type Api } from "grammy";
import { SttError } from "./providers/types.ts";

export const MAX_BOT_API_DOWNLOAD = 20 * 1024 * 1024;

export async function downloadTelegramFile(
  api: Api,
  token: string,
  apiRoot: string,
  fileId: string,
  knownSize: number | null,
  signal: AbortSignal,
): Promise<Uint8Array> {
  if (knownSize !== null && knownSize > MAX_BOT_API_DOWNLOAD) throw tooBig(knownSize);
  // A link that expired between getFile and the download (or a saved one) answers 404: ask again once.
  for (let round = 0; round < 2; round++) {
    let path: string | undefined;
    let size: number | undefined;
    try {
      const f = await api.getFile(fileId);
      path = f.file_path;
      size = f.file_size;
    } catch (err) {
      if (err instanceof GrammyError) {
        const d = err.description.toLowerCase();
        if (d.includes("too big")) throw tooBig(knownSize ?? undefined);
        if (err.error_code === 400) throw new SttError(`Telegram refused getFile: ${err.description}`, false);
        throw new SttError(`Telegram's getFile failed: ${err.error_code} ${err.description}`, true);
      }
      throw new SttError("Telegram's getFile could not be reached", true);
    }
    if (!path) throw new SttError("Telegram's getFile returned no file_path", true);
    if (size !== undefined && size > MAX_BOT_API_DOWNLOAD) throw tooBig(size);
    let res: Response;
    try {
      res = await fetch(`${apiRoot.replace(/\/+$/, "")}/file/bot${token}/${path}`, { signal: AbortSignal.any([signal, AbortSignal.timeout(120_000)]) });
    } catch {
      throw new SttError("the voice file could not be downloaded from Telegram (network)", true);
    }
    if (res.status === 404 || res.status === 410 || res.status === 403) {
      await res.body?.cancel();
      continue; // expired link: getFile again
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new SttError(`the voice file download answered ${res.status}`, res.status >= 500 || res.status === 429);
    }
    return readBounded(res);
  }
  throw new SttError("the voice file's download link kept expiring", true);
}

async function readBounded(res: Response): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = res.body!.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > MAX_BOT_API_DOWNLOAD) {
      await reader.cancel();
      throw tooBig(total);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

function tooBig(size?: number): SttError {
  const mb = size !== undefined ? ` (${(size / 1024 / 1024).toFixed(1)} MB)` : "";
  return new SttError(`the voice note is too big for the Bot API to download${mb}; the limit is 20 MB`, false, undefined, "too_big");
}
