// whisper.cpp on this machine (STT_PROVIDER=local). Placeholder until the local runtime lands.
import type { Logger } from "../../log.ts";
import { SttError, type SttProvider } from "./types.ts";

export function localWhisperProvider(o: { modelPath: string; threads?: number; logger: Logger }): SttProvider {
  return {
    name: "local",
    model: o.modelPath,
    async transcribe() {
      throw new SttError("STT_PROVIDER=local is not available in this build", false);
    },
  };
}
