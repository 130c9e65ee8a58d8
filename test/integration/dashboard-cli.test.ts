// `npx joe-telegram user login-link <username>`: the one-time URL it prints (on PUBLIC_URL, else
// http://localhost:PORT) signs in to a running server once; an unknown user is a clear error.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { dbTargets } from "../support/databases.ts";
import { startStack, type Stack } from "../support/stack.ts";
import { runCli } from "../support/cli.ts";
import { DashClient } from "../support/dashboard.ts";
import { createUser } from "../../src/users/store.ts";

for (const target of dbTargets()) {
  describe(`user login-link (${target.name})`, () => {
    let stack: Stack;
    let env: Record<string, string>;
    before(async () => {
      stack = await startStack(target);
      await createUser(stack.rt.store.db, stack.rt.store.seam, "lucia");
      env = { DATA_DIR: stack.database.dataDir, DATABASE_URL: stack.database.url, FERNET_KEYS: stack.fernetKey, TELEGRAM_API_ROOT: stack.fake.url };
    });
    after(() => stack.stop());

    it("prints a link that signs in once, on PUBLIC_URL when set and on localhost:PORT otherwise", async () => {
      const r = await runCli(["user", "login-link", "lucia", "--json"], { env: { ...env, PUBLIC_URL: "https://joe.example.org" } });
      assert.equal(r.code, 0, r.stderr);
      const out = r.json<{ username: string; url: string; expires_at: string }>();
      assert.equal(out.username, "lucia");
      assert.match(out.url, /^https:\/\/joe\.example\.org\/login\/[A-Za-z0-9_-]{43}$/);
      assert.ok(Date.parse(out.expires_at) > Date.now());
      const token = out.url.split("/").pop()!;
      const c = new DashClient(stack.baseUrl);
      await c.signInWith(token);
      assert.match((await c.get("/")).body, /Sign out \(lucia\)/);
      assert.equal((await new DashClient(stack.baseUrl).get(`/login/${token}`)).status, 400, "single use");

      const human = await runCli(["user", "login-link", "lucia"], { env: { ...env, PORT: "9123" } });
      assert.equal(human.code, 0, human.stderr);
      assert.match(human.stdout, /http:\/\/localhost:9123\/login\/[A-Za-z0-9_-]{43}/);
    });

    it("an unknown user is refused with a clear message", async () => {
      const r = await runCli(["user", "login-link", "nadie", "--json"], { env });
      assert.equal(r.code, 1);
      assert.equal(r.json().error_code, "USER_NOT_FOUND");
    });
  });
}
