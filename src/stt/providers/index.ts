// STT_PROVIDER → a provider: none (the seed's behaviour: voice tasks stay pendiente_stt), local
// (whisper.cpp, loaded only when chosen), openai (any OpenAI-compatible endpoint).
import type { Config } from "../../config.ts";
import type { Logger } from "../../log.ts";
import type { SttProvider } from "./types.ts";
import { openAiProvider } from "./openai.ts";

export async function createSttProvider(config: Config, logger: Logger): Promise<SttProvider | null> {
  switch (config.STT_PROVIDER) {
    case "none":
      return null;
    case "openai":
      return openAiProvider({ url: config.STT_URL!, apiKey: config.STT_API_KEY, model: config.STT_MODEL, timeoutBaseMs: config.STT_TIMEOUT_SECONDS * 1000 });
    case "local": {
      const { localWhisperProvider } = await import("./local.ts");
      return localWhisperProvider({ modelPath: config.WHISPER_MODEL!, threads: config.WHISPER_THREADS, logger });
    }
  }
}
