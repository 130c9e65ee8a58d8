// `user token create <username> [--name N]`, `user token list [username]`, `user token revoke <id>`.
import type { Command } from "commander";
import { findUser } from "../../users/store.ts";
import { createApiToken, listApiTokens, revokeApiToken } from "../../api/tokens.ts";
import { withRuntime, parseId } from "../context.ts";
import { print } from "../output.ts";

export function registerTokenCommands(user: Command): void {
  const token = user.command("token").description("API tokens for /api/v1 (Joe's workers)");
  token
    .command("create <username>")
    .description("create an API token (printed once)")
    .option("--name <name>", "what the token is for", "worker")
    .option("--json", "print JSON")
    .action((username: string, o: { name: string; json?: boolean }) =>
      withRuntime(o, async (rt) => {
        const u = await findUser(rt.store.db, username);
        const { token: t, info } = await createApiToken(rt.store.db, u.id, o.name);
        print(
          o,
          { ...info, token: t },
          () => `API token ${info.id} (${info.name}) for ${u.username}:\n\n  ${t}\n\nIt is shown only now: keep it. Use it as "Authorization: Bearer <token>".`,
        );
      }),
    );
  token
    .command("list [username]")
    .description("list API tokens (never the tokens themselves)")
    .option("--json", "print JSON")
    .action((username: string | undefined, o: { json?: boolean }) =>
      withRuntime(o, async (rt) => {
        const uid = username ? (await findUser(rt.store.db, username)).id : undefined;
        const list = await listApiTokens(rt.store.db, uid);
        print(o, list, () =>
          list.length
            ? list.map((t) => `  ${t.id}\tuser ${t.usuario_id}\t${t.name}\t${t.prefix}…\t${t.revoked_at ? `revoked ${t.revoked_at}` : "active"}`).join("\n")
            : "No API tokens.",
        );
      }),
    );
  token
    .command("revoke <id>")
    .description("revoke an API token")
    .option("--json", "print JSON")
    .action((id: string, o: { json?: boolean }) =>
      withRuntime(o, async (rt) => {
        const info = await revokeApiToken(rt.store.db, parseId(id, "token id"));
        print(o, info, () => `API token ${info.id} (${info.name}) revoked.`);
      }),
    );
}
