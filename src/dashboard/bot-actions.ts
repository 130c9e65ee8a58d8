// What the dashboard does to a user's bots: add one by its token (checked with getMe, refused
// when the bot is already added), unlink it, delete it, and send failed messages again. Every
// Bot API call goes through grammY against TELEGRAM_API_ROOT, with the token only in memory.
import { GrammyError, HttpError, type Api } from "grammy";
import type { Db, DialectSeam } from "../db/dialect.ts";
import type { PluginRow } from "../db/schema.ts";
import type { MultiFernet } from "../crypto/fernet.ts";
import { createBotApi } from "../telegram/api.ts";
import { BOT_TOKEN_RE, createPlugin, decryptToken } from "../plugins/store.ts";
import { metadatosOf } from "../plugins/state.ts";
import { removePlugin } from "../plugins/remove.ts";
import { setWebhookVia, webhookPath } from "../telegram/webhook-setup.ts";
import { readPollingState, type PollingStatus } from "../polling/state.ts";
import { newVerificationCode } from "../crypto/random.ts";
import { appendEvent } from "../events/append.ts";
import { JoeError } from "../errors.ts";
import { scrub } from "../log.ts";
import type { Logger } from "../log.ts";

export interface BotDeps {
  db: Db;
  seam: DialectSeam;
  fernet: MultiFernet;
  apiRoot: string;
  /** Where Telegram reaches this server; when set, a new bot's webhook is registered at once. */
  publicUrl?: string;
  logger: Logger;
}

/** A Bot API call with its failure turned into a message for the page (never the token). */
async function call<T>(deps: BotDeps, token: string, fn: (api: Api) => Promise<T>): Promise<T> {
  try {
    return await fn(createBotApi(token, deps.apiRoot, 10));
  } catch (err) {
    if (err instanceof GrammyError) {
      if (err.error_code === 401 || err.error_code === 404) throw new JoeError("BOT_TOKEN_REFUSED");
      throw new JoeError("BOT_API", scrub(`${err.error_code} ${err.description}`));
    }
    if (err instanceof HttpError) throw new JoeError("BOT_API", "Telegram cannot be reached right now, try again in a moment");
    throw err;
  }
}

/** Add a bot from its BotFather token: its username comes from getMe, never from the form. */
export async function addBotByToken(deps: BotDeps, usuarioId: number, rawToken: string): Promise<{ pluginId: number; webhookError?: string }> {
  const token = rawToken.trim();
  if (!BOT_TOKEN_RE.test(token)) {
    throw new JoeError("INVALID_INPUT", "that is not a bot token: it looks like 123456789:AAH… (ask @BotFather, /mybots → API Token)");
  }
  const me = await call(deps, token, (api) => api.getMe());
  const identificador = `@${me.username}`;
  // The same bot twice (same token, or a new token of the same bot, or the same username) would
  // have two plugins fight over one webhook: refused. Tokens are encrypted with a random IV, so
  // the bot id (the token's number) is compared after decrypting; a few rows per server.
  const rows = await deps.db
    .selectFrom("plugin_configs")
    .select(["id", "usuario_id", "identificador", "token_cifrado"])
    .where("servicio", "=", "telegram")
    .execute();
  for (const r of rows) {
    let sameBot = r.identificador.toLowerCase() === identificador.toLowerCase();
    if (!sameBot) {
      try {
        sameBot = deps.fernet.decrypt(r.token_cifrado).split(":")[0] === String(me.id);
      } catch {
        // A token this server cannot decrypt is reported elsewhere (start-up check); not a duplicate.
      }
    }
    if (sameBot) {
      throw new JoeError(
        "BOT_ALREADY_ADDED",
        Number(r.usuario_id) === usuarioId ? `${identificador} is already one of your bots` : `${identificador} is registered on this server by another user`,
      );
    }
  }
  const { plugin } = await createPlugin(deps.db, deps.seam, deps.fernet, { usuarioId, identificador, token });
  if (!deps.publicUrl) return { pluginId: plugin.id };
  // With a public URL Telegram can deliver to us, so the webhook is registered now, as `plugin
  // create` / `webhook set` do (ALLOWED_UPDATES, the command menu, the delivery mode recorded);
  // if Telegram refuses, the bot stays added and its page shows why.
  try {
    await setWebhookVia(
      { db: deps.db, seam: deps.seam, callBot: (row, fn) => call(deps, decryptToken(row, deps.fernet), fn) },
      plugin.id,
      deps.publicUrl.replace(/\/+$/, ""),
    );
    return { pluginId: plugin.id };
  } catch (err) {
    deps.logger.warn({ plugin_id: plugin.id, err }, "dashboard: setWebhook for a new bot failed");
    return { pluginId: plugin.id, webhookError: (err as Error).message };
  }
}

export interface BotHealth {
  mode: "webhook" | "polling";
  /** What Telegram reports (null when it could not be asked). */
  webhook: { url: string; ours: boolean; pending: number; lastError: string | null } | null;
  /** Polling facts from polling_state: last poll time, last error (empty before the first poll). */
  polling: Array<[string, string]>;
  error: string | null;
}

/** What the poller recorded in polling_state (polling/state.ts); none before its first poll. */
function pollingFacts(st: PollingStatus | null, now = Date.now()): Array<[string, string]> {
  if (!st || (st.last_poll_at === null && st.last_error_at === null)) return [];
  const iso = (ms: number) => new Date(ms).toISOString();
  const facts: Array<[string, string]> = [["Last poll", st.last_poll_at === null ? "never" : iso(st.last_poll_at)]];
  facts.push(["Last polling error", st.last_error === null ? "none" : `${st.last_error_at === null ? "" : `${iso(st.last_error_at)} `}${st.last_error}`]);
  if (st.retry_at !== null && st.retry_at > now) facts.push(["Next try", iso(st.retry_at)]);
  return facts;
}

/** Delivery mode and health: Telegram's getWebhookInfo is the truth about the webhook. */
export async function botHealth(deps: BotDeps, row: PluginRow): Promise<BotHealth> {
  const meta = metadatosOf(row, deps.seam);
  const polling = pollingFacts(await readPollingState(deps.db, Number(row.id)));
  const metaMode = typeof meta.modo === "string" ? meta.modo : typeof meta.delivery_mode === "string" ? meta.delivery_mode : undefined;
  let token: string;
  try {
    token = decryptToken(row, deps.fernet);
  } catch (err) {
    return { mode: metaMode === "webhook" ? "webhook" : "polling", webhook: null, polling, error: (err as Error).message };
  }
  try {
    const info = await call(deps, token, (api) => api.getWebhookInfo());
    let ours = false;
    if (info.url) {
      const u = new URL(info.url);
      const hostOk = deps.publicUrl ? new URL(deps.publicUrl).host === u.host : true;
      ours = hostOk && u.pathname.replace(/\/?$/, "/") === webhookPath(Number(row.id));
    }
    const lastError = info.last_error_date ? `${new Date(info.last_error_date * 1000).toISOString()} ${info.last_error_message ?? ""}`.trim() : null;
    return {
      mode: info.url ? "webhook" : "polling",
      webhook: { url: info.url ?? "", ours, pending: info.pending_update_count, lastError },
      polling,
      error: null,
    };
  } catch (err) {
    return { mode: metaMode === "webhook" || meta.webhook_url ? "webhook" : "polling", webhook: null, polling, error: (err as Error).message };
  }
}

/** Forget the linked chat and issue a new code, with its `plugin.unlinked` event, in one transaction. */
export async function unlinkBot(deps: BotDeps, row: PluginRow, now = Date.now()): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await deps.db.transaction().execute(async (trx) => {
        await trx
          .updateTable("plugin_configs")
          .set({
            codigo_verificacion: newVerificationCode(),
            verificado: 0,
            chat_id_verificado: null,
            intentos_fallidos: 0,
            bloqueado_en: null,
            updated_at: new Date(now).toISOString(),
          })
          .where("id", "=", row.id)
          .execute();
        await trx
          .updateTable("chat_state")
          .set({ failed_starts: 0, failed_window_started_at: null, last_warned_at: null })
          .where("plugin_id", "=", row.id)
          .execute();
        await appendEvent(trx, { type: "plugin.unlinked", usuario_id: Number(row.usuario_id), plugin_id: Number(row.id), at: now });
      });
      return;
    } catch (err) {
      // A new code that collides with another plugin's: draw again.
      if (!deps.seam.errors.isUniqueViolation(err) || attempt >= 20) throw err;
    }
  }
}

/**
 * Delete a bot and everything Joe holds for it (its tasks included: the page says how many
 * first). The webhook is removed at Telegram first, so Telegram does not keep delivering to a
 * plugin that is gone; if Telegram cannot be reached the bot is deleted anyway.
 */
export async function deleteBot(deps: BotDeps, row: PluginRow, now = Date.now()): Promise<void> {
  try {
    const info = await call(deps, decryptToken(row, deps.fernet), (api) => api.getWebhookInfo());
    if (info.url && new URL(info.url).pathname.replace(/\/?$/, "/") === webhookPath(Number(row.id))) {
      await call(deps, decryptToken(row, deps.fernet), (api) => api.deleteWebhook());
    }
  } catch (err) {
    deps.logger.warn({ plugin_id: Number(row.id), err }, "dashboard: could not remove the webhook of a deleted bot");
  }
  try {
    await removePlugin(deps.db, deps.seam, { id: Number(row.id), refuse: "none" }, now);
  } catch (err) {
    // Deleted meanwhile (another tab): nothing left to delete.
    if (!(err instanceof JoeError && err.code === "PLUGIN_NOT_FOUND")) throw err;
  }
}

/** A failed message back to pending (attempts reset), so the sender tries it again. False if it was not failed. */
export async function retryMessage(db: Db, pluginId: number, messageId: number, now = Date.now()): Promise<boolean> {
  const r = await db
    .updateTable("outgoing_messages")
    .set({ status: "pending", attempts: 0, next_attempt_at: now, claimed_until: null })
    .where("id", "=", messageId)
    .where("plugin_id", "=", pluginId)
    .where("status", "=", "failed")
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}
