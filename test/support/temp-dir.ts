// Scratch directories for tests: under the OS temp dir, named by what they hold so a leftover
// one (after a killed run) says where it came from. The caller removes it.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export function tempDir(tag: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `joe-${tag}-`));
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}
