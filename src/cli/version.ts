// The version `--version` prints: package.json's, read from the package folder.
import fs from "node:fs";
import path from "node:path";
import { PROJECT_ROOT } from "../config.ts";

export function packageVersion(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, "package.json"), "utf8")) as { version?: string };
  return pkg.version ?? "unknown";
}
