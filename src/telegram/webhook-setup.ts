// Joe's webhook path, and registering a plugin's webhook with Telegram, the one way the CLI
// (`webhook set`, `plugin create` with PUBLIC_URL) and the dashboard ("add bot" with PUBLIC_URL)
// do it: setWebhook with Joe's path and the plugin's secret, asking for ALLOWED_UPDATES (the same
// list getUpdates asks for); then the bot's command menu (setMyCommands, so /tareas and /deshacer
// show in Telegram); then the delivery mode recorded as "webhook".
import type { Api } from "grammy";
import type { Db, DialectSeam } from "../db/dialect.ts";
import type { PluginRow } from "../db/schema.ts";
import { getPluginRow } from "../plugins/store.ts";
import { metadatosOf } from "../plugins/state.ts";
import { ALLOWED_UPDATES, setDeliveryMode } from "../polling/mode.ts";
import { registerBotCommands } from "./commands.ts";
import { callBot, type BotCallContext } from "./bot-call.ts";
import { JoeError } from "../errors.ts";

/** The route Telegram POSTs updates to (webhook/route.ts serves it; also without the trailing slash). */
export const WEBHOOK_PATH = "/plugins/telegram/webhook/:pluginId/";

/** WEBHOOK_PATH for one plugin. */
export function webhookPath(pluginId: number): string {
  return WEBHOOK_PATH.replace(":pluginId", String(pluginId));
}

export interface WebhookSetupDeps {
  db: Db;
  seam: DialectSeam;
  /** A Bot API call with the plugin's token, its failures turned into the caller's errors. */
  callBot: <T>(row: PluginRow, fn: (api: Api) => Promise<T>) => Promise<T>;
}

/** Registers the webhook at `base` (no trailing slash) + Joe's path, with the runtime's Bot API calls; returns the URL. */
export async function setWebhook(rt: BotCallContext, pluginId: number, base: string): Promise<string> {
  return setWebhookVia({ db: rt.store.db, seam: rt.store.seam, callBot: (row, fn) => callBot(rt, row, fn) }, pluginId, base);
}

/** The same, with the caller's own Bot API calls (the dashboard turns their failures into its own errors). */
export async function setWebhookVia(deps: WebhookSetupDeps, pluginId: number, base: string): Promise<string> {
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
