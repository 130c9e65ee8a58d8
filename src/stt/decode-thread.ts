// The worker thread behind decodeOggOpusOffThread: decode, hand the samples back (transferred,
// not copied), exit.
import { parentPort, workerData } from "node:worker_threads";
import { decodeOggOpus, AudioDecodeError } from "./audio.ts";

try {
  const a = await decodeOggOpus(workerData as Uint8Array);
  parentPort!.postMessage({ ok: true, pcm: a.pcm, seconds: a.seconds }, [a.pcm.buffer as ArrayBuffer]);
} catch (err) {
  parentPort!.postMessage({ ok: false, message: (err as Error).message, decode: err instanceof AudioDecodeError });
}
