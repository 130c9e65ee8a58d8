// The `joe-telegram` command. Each command group lives in ./commands; every command takes --json.
import { Command } from "commander";
import { registerServe } from "./commands/serve.ts";
import { registerUsers } from "./commands/users.ts";
import { registerPlugins } from "./commands/plugins.ts";
import { registerWebhookCommands } from "./commands/webhook.ts";
import { registerTasks } from "./commands/tasks.ts";
import { registerKeys } from "./commands/keys.ts";
import { packageVersion } from "./version.ts";
import { registerStt } from "./commands/stt.ts";

export function buildProgram(): Command {
  const program = new Command("joe-telegram")
    .description("Joe's Telegram plugin: turn what you send your own bot into shell tasks")
    .version(packageVersion(), "-V, --version", "print the version")
    .showHelpAfterError();
  registerServe(program);
  registerUsers(program);
  registerPlugins(program);
  registerWebhookCommands(program);
  registerTasks(program);
  registerKeys(program);
  registerStt(program);
  return program;
}

await buildProgram().parseAsync(process.argv);
