// /api/v1 authentication: tokens made by the CLI, checked over real HTTP. No token or a bad one
// → 401 with the project's error body; a revoked token stops working; the clear token is printed
// once and never stored.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { dbTargets } from "../support/databases.ts";
import { startStack, type Stack } from "../support/stack.ts";
import { createUser } from "../../src/users/store.ts";
import { createApiToken, revokeApiToken, listApiTokens } from "../../src/api/tokens.ts";
import { TokenCache } from "../../src/api/auth.ts";

for (const target of dbTargets()) {
  describe(`API tokens (${target.name})`, () => {
    let s: Stack;
    before(async () => {
      s = await startStack(target, { workers: false });
    });
    after(async () => {
      await s.stop();
    });

    const me = (auth?: string) => fetch(`${s.baseUrl}/api/v1/me`, { headers: auth ? { authorization: auth } : {} });

    test("a token sees its user; none or a wrong one is 401 in the project's error format", async () => {
      const u = await createUser(s.rt.store.db, s.rt.store.seam, `ana_${Date.now().toString(36)}`);
      const { token, info } = await createApiToken(s.rt.store.db, u.id, "worker");
      const ok = await me(`Bearer ${token}`);
      assert.equal(ok.status, 200);
      assert.deepEqual(await ok.json(), { usuario_id: u.id });
      for (const auth of [undefined, "Bearer joe_nope", `Basic ${token}`, `Bearer ${token}x`]) {
        const r = await me(auth);
        assert.equal(r.status, 401, String(auth));
        const body = (await r.json()) as { ok: boolean; error_code: string; description: string };
        assert.equal(body.ok, false);
        assert.equal(body.error_code, "UNAUTHORIZED");
        assert.ok(!body.description.includes(token));
      }
      const stored = JSON.stringify(await s.rt.store.db.selectFrom("api_tokens").selectAll().execute());
      assert.ok(!stored.includes(token), "the clear token is not stored");
      assert.equal((await listApiTokens(s.rt.store.db, u.id))[0]!.id, info.id);
    });

    test("a revoked token is refused (once the short cache has expired)", async () => {
      const u = await createUser(s.rt.store.db, s.rt.store.seam, `bea_${Date.now().toString(36)}`);
      const { token, info } = await createApiToken(s.rt.store.db, u.id, "w");
      const cache = new TokenCache(s.rt.store.db, 0);
      assert.deepEqual(await cache.principal(token), { usuarioId: u.id, tokenId: info.id });
      await revokeApiToken(s.rt.store.db, info.id);
      assert.equal(await cache.principal(token), null);
    });
  });
}
