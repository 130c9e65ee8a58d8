// `webhook set | info | delete`: the Bot API's setWebhook / getWebhookInfo / deleteWebhook for a plugin.
import type { Command } from "commander";
import type { Runtime } from "../../runtime.ts";
import { getPluginRow } from "../../plugins/store.ts";
import { withRuntime, parseId } from "../context.ts";
import { print, table } from "../output.ts";
import { callBot } from "../../telegram/bot-call.ts";
import { setWebhook, webhookPath } from "../../telegram/webhook-setup.ts";
import { JoeError } from "../../errors.ts";
import { setDeliveryMode } from "../../polling/mode.ts";

export function webhookBase(rt: Runtime, url?: string): string {
  const base = url ?? rt.config.PUBLIC_URL;
  if (!base) throw new JoeError("NO_PUBLIC_URL");
  let parsed: URL;
  try {
    parsed = new URL(base);
  } catch {
    throw new JoeError("INVALID_INPUT", "--url must be an absolute URL such as https://joe.example.org");
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") throw new JoeError("INVALID_INPUT", "--url must be http(s)");
  return parsed.toString().replace(/\/+$/, "");
}

export function registerWebhookCommands(program: Command): void {
  const webhook = program.command("webhook").description("the bot's webhook registration with Telegram");

  webhook
    .command("set <plugin_id>")
    .description("register Joe's webhook URL and secret with Telegram (setWebhook)")
    .option("--url <base>", "public https base URL Telegram can reach (default: PUBLIC_URL)")
    .option("--json", "print JSON")
    .action((id: string, o: { url?: string; json?: boolean }) =>
      withRuntime(o, async (rt) => {
        const pluginId = parseId(id, "plugin id");
        const url = await setWebhook(rt, pluginId, webhookBase(rt, o.url));
        const warning = url.startsWith("https://") ? undefined : "Telegram only delivers to https URLs (ports 443, 80, 88, 8443)";
        print(
          o,
          { id: pluginId, url, ok: true, ...(warning ? { warning } : {}) },
          () => `Webhook set: Telegram will POST updates for plugin ${pluginId} to\n  ${url}${warning ? `\n  warning: ${warning}` : ""}`,
        );
      }),
    );

  webhook
    .command("info <plugin_id>")
    .description("what Telegram knows of the webhook (getWebhookInfo)")
    .option("--json", "print JSON")
    .action((id: string, o: { json?: boolean }) =>
      withRuntime(o, async (rt) => {
        const pluginId = parseId(id, "plugin id");
        const row = await getPluginRow(rt.store.db, pluginId);
        const info = await callBot(rt, row, (api) => api.getWebhookInfo());
        const expectedPath = webhookPath(pluginId);
        const pointsHere = info.url ? new URL(info.url).pathname === expectedPath : false;
        const lastError = info.last_error_date ? `${new Date(info.last_error_date * 1000).toISOString()} ${info.last_error_message ?? ""}` : "none";
        const out = { id: pluginId, ...info, points_to_this_plugin: pointsHere };
        print(o, out, () =>
          table([
            ["url", info.url || "(not set: run `webhook set`)"],
            ["points to this plugin", pointsHere ? "yes" : `no (expected …${expectedPath})`],
            ["pending updates", info.pending_update_count],
            ["last error", lastError],
            ["max connections", info.max_connections],
            ["allowed updates", info.allowed_updates?.join(", ") ?? "all"],
          ]),
        );
      }),
    );

  webhook
    .command("delete <plugin_id>")
    .description("remove the webhook (deleteWebhook); the bot is then polled by `serve`")
    .option("--drop-pending", "also drop the updates Telegram is holding")
    .option("--json", "print JSON")
    .action((id: string, o: { dropPending?: boolean; json?: boolean }) =>
      withRuntime(o, async (rt) => {
        const pluginId = parseId(id, "plugin id");
        const row = await getPluginRow(rt.store.db, pluginId);
        await callBot(rt, row, (api) => api.deleteWebhook({ drop_pending_updates: o.dropPending === true }));
        await setDeliveryMode(rt.store.db, rt.store.seam, pluginId, "polling");
        print(o, { id: pluginId, ok: true, modo: "polling" }, () => `Webhook of plugin ${pluginId} deleted: \`serve\` now polls the bot with getUpdates.`);
      }),
    );
}
