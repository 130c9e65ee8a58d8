// `user create <username>`, `user list`, `user login-link <username>`.
import type { Command } from "commander";
import { createUser, findUser, listUsers } from "../../users/store.ts";
import { createLoginLink, loginUrl } from "../../dashboard/auth-store.ts";
import { dashboardBase } from "../../dashboard/first-run.ts";
import { withRuntime } from "../context.ts";
import { print } from "../output.ts";
import { registerTokenCommands } from "./tokens.ts";

export function registerUsers(program: Command): void {
  const user = program.command("user").description("Joe users (plugin owners)");
  user
    .command("create <username>")
    .description("create a user")
    .option("--json", "print JSON")
    .action((username: string, o: { json?: boolean }) =>
      withRuntime(o, async (rt) => {
        const u = await createUser(rt.store.db, rt.store.seam, username);
        print(o, u, () => `User ${u.username} created (id ${u.id}).`);
      }),
    );
  user
    .command("list")
    .description("list users")
    .option("--json", "print JSON")
    .action((o: { json?: boolean }) =>
      withRuntime(o, async (rt) => {
        const users = await listUsers(rt.store.db);
        print(o, users, () => (users.length ? users.map((u) => `  ${u.id}\t${u.username}`).join("\n") : "No users yet."));
      }),
    );
  registerTokenCommands(user);
  // The link is the only way into the dashboard: printed once, stored hashed, single use, 15 minutes.
  user
    .command("login-link <username>")
    .description("print a one-time sign-in link for the web dashboard")
    .option("--json", "print JSON")
    .action((ref: string, o: { json?: boolean }) =>
      withRuntime(o, async (rt) => {
        const u = await findUser(rt.store.db, ref);
        const { token, expiresAt } = await createLoginLink(rt.store.db, u.id);
        const url = loginUrl(dashboardBase(rt.config.PUBLIC_URL, rt.config.PORT), token);
        const expires_at = new Date(expiresAt).toISOString();
        print(o, { username: u.username, url, expires_at }, () => `Open this link to sign in as ${u.username} (works once, until ${expires_at}):\n  ${url}`);
      }),
    );
}
