// Plugin configs: creating one (token encrypted, code and secret generated), listing, unlinking,
// rotating the webhook secret, and what may be shown of one (never the token or the secret).
import type { Db, DialectSeam } from "../db/dialect.ts";
import type { PluginRow } from "../db/schema.ts";
import type { MultiFernet } from "../crypto/fernet.ts";
import { newVerificationCode, newWebhookSecret } from "../crypto/random.ts";
import { JoeError } from "../errors.ts";
import { metadatosOf, type PluginMetadatos } from "./state.ts";
import { botLockedUntil } from "../webhook/lockout.ts";
import { appendEvent } from "../events/append.ts";
import { assertNotDuplicate } from "./duplicates.ts";

export const SERVICIO = "telegram";
export const BOT_TOKEN_RE = /^\d{3,20}:[A-Za-z0-9_-]{20,80}$/;
const USERNAME_RE = /^@?[A-Za-z][A-Za-z0-9_]{3,31}$/;
const SECRET_RE = /^[A-Za-z0-9_-]{1,256}$/;

/** A plugin as shown by the CLI: the contract's field names, minus everything secret. */
export interface PublicPlugin {
  id: number;
  usuario_id: number;
  servicio: string;
  identificador: string;
  metadatos: Record<string, unknown>;
  codigo_verificacion: string;
  verificado: boolean;
  chat_id_verificado: number | null;
  /** Linking is locked now (too many wrong /start codes for this bot); see bloqueado_hasta. */
  bloqueado: boolean;
  /** Wrong /start codes since this code was issued (each 20 lock linking, for longer each time). */
  intentos_fallidos: number;
  /** When the latest lock began (ISO), even if it has run out; null if never locked. */
  bloqueado_en: string | null;
  /** When the current lock ends (ISO); null when linking is not locked. */
  bloqueado_hasta: string | null;
  deep_link: string;
  created_at: string;
}

export function deepLink(identificador: string, codigo: string): string {
  return `https://t.me/${identificador.replace(/^@/, "")}?start=${codigo}`;
}

export function toPublic(row: PluginRow, seam: DialectSeam, now = Date.now()): PublicPlugin {
  const counters = { intentosFallidos: Number(row.intentos_fallidos), bloqueadoEn: row.bloqueado_en === null ? null : Number(row.bloqueado_en) };
  const lockedUntil = botLockedUntil(counters, now);
  const { webhook_secret, webhook_secret_anterior, webhook_secret_anterior_hasta, ...rest } = metadatosOf(row, seam);
  return {
    id: Number(row.id),
    usuario_id: Number(row.usuario_id),
    servicio: row.servicio,
    identificador: row.identificador,
    metadatos: { ...rest, webhook_secret: webhook_secret ? "[set]" : null },
    codigo_verificacion: row.codigo_verificacion,
    verificado: Boolean(row.verificado),
    chat_id_verificado: row.chat_id_verificado === null ? null : Number(row.chat_id_verificado),
    bloqueado: lockedUntil !== null,
    intentos_fallidos: counters.intentosFallidos,
    bloqueado_en: counters.bloqueadoEn === null ? null : new Date(counters.bloqueadoEn).toISOString(),
    bloqueado_hasta: lockedUntil === null ? null : new Date(lockedUntil).toISOString(),
    deep_link: deepLink(row.identificador, row.codigo_verificacion),
    created_at: row.created_at,
  };
}

/** Insert with a fresh verification code, retrying on the (rare) collision with another plugin's. */
async function withUniqueCode<T>(seam: DialectSeam, write: (code: string) => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await write(newVerificationCode());
    } catch (err) {
      if (!seam.errors.isUniqueViolation(err) || i >= 20) throw err;
    }
  }
}

export async function createPlugin(
  db: Db,
  seam: DialectSeam,
  fernet: MultiFernet,
  input: { usuarioId: number; identificador: string; token: string; webhookSecret?: string; idioma?: "es" | "en" },
): Promise<{ plugin: PublicPlugin; webhookSecret: string }> {
  if (!USERNAME_RE.test(input.identificador)) throw new JoeError("INVALID_INPUT", "--identificador must be the bot's username, e.g. @joe_bot");
  // The message must not echo the token back.
  if (!BOT_TOKEN_RE.test(input.token)) throw new JoeError("INVALID_INPUT", "--token does not look like a BotFather token (digits:letters)");
  if (input.webhookSecret !== undefined && !SECRET_RE.test(input.webhookSecret)) {
    throw new JoeError("INVALID_INPUT", "--webhook-secret must be 1-256 characters of A-Z a-z 0-9 _ - (Telegram's rule)");
  }
  const identificador = input.identificador.startsWith("@") ? input.identificador : `@${input.identificador}`;
  await assertNotDuplicate(db, fernet, { identificador, token: input.token });
  const webhookSecret = input.webhookSecret ?? newWebhookSecret();
  const metadatos: PluginMetadatos = { webhook_secret: webhookSecret, ...(input.idioma ? { idioma: input.idioma } : {}) };
  const now = new Date().toISOString();
  const row = await withUniqueCode(seam, (codigo) =>
    db
      .insertInto("plugin_configs")
      .values({
        usuario_id: input.usuarioId,
        servicio: SERVICIO,
        identificador,
        metadatos: JSON.stringify(metadatos),
        token_cifrado: fernet.encrypt(input.token),
        codigo_verificacion: codigo,
        verificado: 0,
        chat_id_verificado: null,
        bloqueado_en: null,
        created_at: now,
        updated_at: now,
      })
      .returningAll()
      .executeTakeFirstOrThrow(),
  );
  return { plugin: toPublic(row, seam), webhookSecret };
}

export async function getPluginRow(db: Db, id: number): Promise<PluginRow> {
  const row = await db.selectFrom("plugin_configs").selectAll().where("id", "=", id).executeTakeFirst();
  if (!row) throw new JoeError("PLUGIN_NOT_FOUND", String(id));
  return row;
}

export async function listPlugins(db: Db, seam: DialectSeam): Promise<PublicPlugin[]> {
  const rows = await db.selectFrom("plugin_configs").selectAll().orderBy("id").execute();
  return rows.map((r) => toPublic(r, seam));
}

/** Forget the linked chat and issue a new code (also clears a brute-force lockout). */
export async function unlinkPlugin(db: Db, seam: DialectSeam, id: number): Promise<PublicPlugin> {
  const before = await getPluginRow(db, id);
  await withUniqueCode(seam, (codigo) =>
    db.transaction().execute(async (trx) => {
      await trx
        .updateTable("plugin_configs")
        .set({
          codigo_verificacion: codigo,
          verificado: 0,
          chat_id_verificado: null,
          intentos_fallidos: 0,
          bloqueado_en: null,
          updated_at: new Date().toISOString(),
        })
        .where("id", "=", id)
        .execute();
      await trx.updateTable("chat_state").set({ failed_starts: 0, failed_window_started_at: null, last_warned_at: null }).where("plugin_id", "=", id).execute();
      await appendEvent(trx, { type: "plugin.unlinked", usuario_id: Number(before.usuario_id), plugin_id: id, at: Date.now() });
    }),
  );
  return toPublic(await getPluginRow(db, id), seam);
}

/** New webhook secret; the old one keeps working for `graceSeconds` so no update is refused in between. */
export async function rotateWebhookSecret(
  db: Db,
  seam: DialectSeam,
  id: number,
  graceSeconds: number,
): Promise<{ secret: string; previousValidUntil: number; undo: () => Promise<void> }> {
  const row = await getPluginRow(db, id);
  const meta = metadatosOf(row, seam);
  const secret = newWebhookSecret();
  const previousValidUntil = Date.now() + graceSeconds * 1000;
  const next: PluginMetadatos = {
    ...meta,
    webhook_secret: secret,
    webhook_secret_anterior: meta.webhook_secret,
    webhook_secret_anterior_hasta: previousValidUntil,
  };
  await db
    .updateTable("plugin_configs")
    .set({ metadatos: JSON.stringify(next), updated_at: new Date().toISOString() })
    .where("id", "=", id)
    .execute();
  // If Telegram could not be told the new secret, the old one must stay the secret.
  const undo = async () => {
    await db
      .updateTable("plugin_configs")
      .set({ metadatos: JSON.stringify(meta) })
      .where("id", "=", id)
      .execute();
  };
  return { secret, previousValidUntil, undo };
}

export function decryptToken(row: PluginRow, fernet: MultiFernet): string {
  try {
    return fernet.decrypt(row.token_cifrado);
  } catch {
    throw new JoeError("KEY_MISMATCH", `plugin ${row.id}`);
  }
}

/** Re-encrypt every token under the first key of FERNET_KEYS. */
export async function rotateTokens(db: Db, fernet: MultiFernet): Promise<{ rotated: number }> {
  const rows = await db.selectFrom("plugin_configs").select(["id", "token_cifrado"]).execute();
  let rotated = 0;
  await db.transaction().execute(async (trx) => {
    for (const r of rows) {
      let token: string;
      try {
        token = fernet.rotate(r.token_cifrado);
      } catch {
        throw new JoeError("KEY_MISMATCH", `plugin ${r.id}`);
      }
      await trx.updateTable("plugin_configs").set({ token_cifrado: token }).where("id", "=", r.id).execute();
      rotated++;
    }
  });
  return { rotated };
}
