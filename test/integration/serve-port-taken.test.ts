// A `serve` that cannot take its port must exit with an error, not linger as a headless worker
// (on SQLite it would release the live server's claims and send its messages a second time).
import { it } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { generateKey } from "../../src/crypto/fernet.ts";
import { spawnJoe } from "../support/child-process.ts";
import { removeDir, tempDir } from "../support/temp-dir.ts";

it("serve exits with code 1 and a clear error when its port is taken", { timeout: 60_000 }, async () => {
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", () => r()));
  const port = (blocker.address() as net.AddressInfo).port;
  const dataDir = tempDir("tg-port");
  try {
    const child = spawnJoe(["serve"], { PORT: String(port), HOST: "127.0.0.1", DATA_DIR: dataDir, FERNET_KEYS: generateKey(), LOG_LEVEL: "warn" });
    let stderr = "";
    child.stderr!.on("data", (d) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
    assert.equal(code, 1, `exit code ${code}; stderr: ${stderr}`);
    assert.match(stderr, /EADDRINUSE/);
    // Says which port, and how to choose another — not a bare "internal error".
    assert.match(stderr, new RegExp(`port ${port}\\b`));
    assert.match(stderr, /PORT=/);
    assert.match(stderr, /--port/);
    assert.doesNotMatch(stderr, /internal error/);
  } finally {
    blocker.close();
    removeDir(dataDir);
  }
});
