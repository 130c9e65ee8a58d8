// `user create <username>`, `user list`.
import type { Command } from "commander";
import { createUser, listUsers } from "../../users/store.ts";
import { withRuntime } from "../context.ts";
import { print } from "../output.ts";
import { registerTokenCommands } from "./tokens.ts";

export function registerUsers(program: Command): void {
  const user = program.command("user").description("Joe users (plugin owners)");
  user.command("create <username>").description("create a user").option("--json", "print JSON")
    .action((username: string, o: { json?: boolean }) => withRuntime(o, async (rt) => {
      const u = await createUser(rt.store.db, rt.store.seam, username);
      print(o, u, () => `User ${u.username} created (id ${u.id}).`);
    }));
  user.command("list").description("list users").option("--json", "print JSON")
    .action((o: { json?: boolean }) => withRuntime(o, async (rt) => {
      const users = await listUsers(rt.store.db);
      print(o, users, () => users.length ? users.map((u) => `  ${u.id}\t${u.username}`).join("\n") : "No users yet.");
    }));
  registerTokenCommands(user);
}
