// /api/v1/plugins: a user's bots. Never shows a bot token or a webhook secret. Creating one checks
// the token with the Bot API's getMe (the username comes from Telegram, not from the caller);
// unlinking reuses the CLI's unlinkPlugin; deleting removes the plugin and its data (see
// plugins/remove.ts) and then tells Telegram to stop delivering (best effort).
import type { FastifyInstance } from "fastify";
import { GrammyError, HttpError } from "grammy";
import type { ApiDeps } from "./register.ts";
import { JoeError } from "../errors.ts";
import { createPlugin, decryptToken, toPublic, unlinkPlugin } from "../plugins/store.ts";
import { botAlreadyRegistered, deletePlugin } from "../plugins/remove.ts";
import { createBotApi } from "../telegram/api.ts";
import { errors, idSchema, pluginSchema } from "./schemas.ts";

const idParams = { type: "object", properties: { id: idSchema }, required: ["id"] } as const;

export function registerPluginRoutes(scope: FastifyInstance, deps: ApiDeps): void {
  const { db, seam } = deps;

  async function ownRow(usuarioId: number, id: number) {
    const row = await db.selectFrom("plugin_configs").selectAll().where("id", "=", id).where("usuario_id", "=", usuarioId).executeTakeFirst();
    if (!row) throw new JoeError("PLUGIN_NOT_FOUND", String(id));
    return row;
  }

  scope.get(
    "/plugins",
    {
      schema: {
        summary: "The user's plugins (bots)",
        tags: ["plugins"],
        response: { 200: { type: "object", properties: { items: { type: "array", items: pluginSchema } }, required: ["items"] }, ...errors() },
      },
    },
    async (req) => {
      const rows = await db.selectFrom("plugin_configs").selectAll().where("usuario_id", "=", req.principal!.usuarioId).orderBy("id").execute();
      return { items: rows.map((r) => toPublic(r, seam)) };
    },
  );

  scope.get<{ Params: { id: number } }>(
    "/plugins/:id",
    {
      schema: { summary: "One plugin", tags: ["plugins"], params: idParams, response: { 200: pluginSchema, ...errors(400, 404) } },
    },
    async (req) => toPublic(await ownRow(req.principal!.usuarioId, req.params.id), seam),
  );

  scope.post<{ Body: { token: string; idioma?: "es" | "en" } }>(
    "/plugins",
    {
      schema: {
        summary: "Register a bot: its BotFather token is checked with getMe; answers the code to link a chat",
        description: "The new plugin is not linked yet: open its deep_link (or send /start <codigo_verificacion> to the bot) from the chat to link.",
        tags: ["plugins"],
        body: {
          type: "object",
          additionalProperties: false,
          required: ["token"],
          properties: {
            token: { type: "string", minLength: 1, maxLength: 128, description: "the BotFather token (stored encrypted, never shown again)" },
            idioma: { type: "string", enum: ["es", "en"], description: "the bot's language (default: each sender's Telegram language, else Spanish)" },
          },
        },
        response: { 201: pluginSchema, ...errors(400, 409, 502) },
      },
    },
    async (req, reply) => {
      if (!deps.fernet || !deps.telegramApiRoot) throw new JoeError("CONFIG", "this server was started without the keys to store bot tokens");
      // The format check comes first so a malformed token never reaches the network (nor an error message).
      if (!/^\d{3,20}:[A-Za-z0-9_-]{20,80}$/.test(req.body.token))
        throw new JoeError("INVALID_INPUT", "body/token does not look like a BotFather token (digits:letters)");
      let username: string | undefined;
      try {
        const me = await createBotApi(req.body.token, deps.telegramApiRoot, 10).getMe();
        username = me.username;
      } catch (err) {
        if (err instanceof GrammyError && (err.error_code === 401 || err.error_code === 404)) {
          throw new JoeError("INVALID_INPUT", "body/token was refused by Telegram (getMe): check it with BotFather");
        }
        if (err instanceof GrammyError) throw new JoeError("BOT_API", `getMe answered ${err.error_code}`);
        if (err instanceof HttpError) throw new JoeError("BOT_API", "cannot reach the Telegram Bot API; try again");
        throw err;
      }
      if (!username) throw new JoeError("BOT_API", "getMe gave no username");
      const identificador = `@${username}`;
      if (await botAlreadyRegistered(db, identificador)) throw new JoeError("PLUGIN_EXISTS", identificador);
      const { plugin } = await createPlugin(db, seam, deps.fernet, {
        usuarioId: req.principal!.usuarioId,
        identificador,
        token: req.body.token,
        idioma: req.body.idioma,
      });
      return reply.status(201).send(plugin);
    },
  );

  scope.post<{ Params: { id: number } }>(
    "/plugins/:id/unlink",
    {
      schema: {
        summary: "Forget the linked chat and issue a new verification code",
        tags: ["plugins"],
        params: idParams,
        response: { 200: pluginSchema, ...errors(400, 404) },
      },
    },
    async (req) => {
      await ownRow(req.principal!.usuarioId, req.params.id);
      return unlinkPlugin(db, seam, req.params.id);
    },
  );

  scope.delete<{ Params: { id: number }; Querystring: { force?: boolean } }>(
    "/plugins/:id",
    {
      schema: {
        summary: "Delete a plugin and its tasks and messages",
        description:
          "Refused (409 PLUGIN_HAS_OPEN_TASKS) while it has queued or in-progress tasks, unless force=true. Telegram is then told to stop delivering (deleteWebhook, best effort).",
        tags: ["plugins"],
        params: idParams,
        querystring: { type: "object", additionalProperties: false, properties: { force: { type: "boolean", default: false } } },
        response: {
          200: { type: "object", properties: { ok: { type: "boolean" }, id: { type: "integer" } }, required: ["ok", "id"] },
          ...errors(400, 404, 409),
        },
      },
    },
    async (req) => {
      const row = await deletePlugin(db, seam, { id: req.params.id, usuarioId: req.principal!.usuarioId, force: req.query.force === true });
      if (deps.fernet && deps.telegramApiRoot) {
        try {
          await createBotApi(decryptToken(row, deps.fernet), deps.telegramApiRoot, 5).deleteWebhook();
        } catch (err) {
          deps.logger.warn(
            { plugin_id: row.id, error: err instanceof GrammyError ? err.error_code : "unreachable" },
            "plugin deleted; deleteWebhook failed (Telegram stops on its own once the webhook answers 404)",
          );
        }
      }
      return { ok: true, id: Number(row.id) };
    },
  );
}
