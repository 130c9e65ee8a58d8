// Registering a plugin's webhook with Telegram, the one way the CLI (`webhook set`, `plugin create`
// with PUBLIC_URL) and the dashboard ("add bot" with PUBLIC_URL) do it: setWebhook with Joe's path
// and the plugin's secret, asking for ALLOWED_UPDATES (the same list getUpdates asks for); then the
// bot's command menu (setMyCommands); then the delivery mode recorded as "webhook".
import type { Api } from "grammy";
import type { Db, DialectSeam } from "../db/dialect.ts";
import type { PluginRow } from "../db/schema.ts";
import { getPluginRow } from "../plugins/store.ts";
import { metadatosOf } from "../plugins/state.ts";
import { ALLOWED_UPDATES, setDeliveryMode } from "../polling/mode.ts";
import { registerBotCommands } from "./commands.ts";
import { JoeError } from "../errors.ts";

export function webhookPath(pluginId: number): string {
  return `/plugins/telegram/webhook/${pluginId}/`;
}

export interface WebhookSetupDeps {
  db: Db;
  seam: DialectSeam;
  /** A Bot API call with the plugin's token, its failures turned into the caller's errors. */
  callBot: <T>(row: PluginRow, fn: (api: Api) => Promise<T>) => Promise<T>;
}

/** Registers the webhook at `base` (no trailing slash) + Joe's path; returns the URL. */
export async function registerWebhook(deps: WebhookSetupDeps, pluginId: number, base: string): Promise<string> {
  const row = await getPluginRow(deps.db, pluginId);
  const meta = metadatosOf(row, deps.seam);
  const secret = meta.webhook_secret;
  if (!secret) throw new JoeError("INVALID_INPUT", `plugin ${pluginId} has no webhook secret`);
  const url = base + webhookPath(pluginId);
  await deps.callBot(row, (api) => api.setWebhook(url, { secret_token: secret, allowed_updates: [...ALLOWED_UPDATES] }));
  await deps.callBot(row, (api) => registerBotCommands(api, meta.idioma));
  await setDeliveryMode(deps.db, deps.seam, pluginId, "webhook");
  return url;
}
