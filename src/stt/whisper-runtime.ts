// Where whisper.cpp lives once `npx joe-telegram stt install` built it: a folder of its own in
// the project (`stt-runtime/`, not in node_modules), so `npm install` neither builds it for users
// who never enable local transcription nor removes it for those who did.
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

/** The project folder: src/stt/ or dist/stt/ → ../.. */
export const PROJECT_ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const STT_RUNTIME_DIR = process.env.JOE_STT_RUNTIME_DIR ?? path.join(PROJECT_ROOT, "stt-runtime");
/** The whisper.cpp binding we build (pinned: the model layout and API are checked against it). */
export const WHISPER_BINDING = { name: "smart-whisper", version: "0.8.1" } as const;

export function whisperInstalled(dir = STT_RUNTIME_DIR): boolean {
  return fs.existsSync(path.join(dir, "node_modules", WHISPER_BINDING.name, "build", "Release"));
}

/** The part of smart-whisper's API we use (declared here: it is not one of the project's dependencies). */
export interface WhisperSegment {
  from: number;
  to: number;
  text: string;
  lang?: string;
}
export interface WhisperTask {
  result: Promise<WhisperSegment[]>;
  on(event: "transcribed", listener: (segment: WhisperSegment) => void): unknown;
}
export interface WhisperInstance {
  load(): Promise<unknown>;
  transcribe(pcm: Float32Array, params: Record<string, unknown>): Promise<WhisperTask>;
  free(): Promise<void>;
}
export interface WhisperBinding {
  Whisper: new (file: string, config?: { gpu?: boolean; offload?: number }) => WhisperInstance;
}

/** Loads the binding from the runtime folder; a clear error says how to install it. */
export function loadWhisperBinding(dir = STT_RUNTIME_DIR): WhisperBinding {
  if (!whisperInstalled(dir)) {
    throw new Error(
      `whisper.cpp is not installed: run \`npx joe-telegram stt install\` once (it builds whisper.cpp for this machine, ~1-2 min), or set STT_PROVIDER=openai or none`,
    );
  }
  const require = createRequire(path.join(dir, "package.json"));
  return require(WHISPER_BINDING.name) as WhisperBinding;
}
