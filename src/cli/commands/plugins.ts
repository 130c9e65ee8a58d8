// `plugin create | list | show | unlink | rotate-secret`.
import type { Command } from "commander";
import { findUser } from "../../users/store.ts";
import { createPlugin, getPluginRow, listPlugins, toPublic, unlinkPlugin, rotateWebhookSecret, type PublicPlugin } from "../../plugins/store.ts";
import { withRuntime, parseId } from "../context.ts";
import { print, table } from "../output.ts";
import { JoeError } from "../../errors.ts";
import { setWebhook, webhookBase } from "./webhook.ts";
import { lockedChats, type ChatLock } from "../../plugins/locks.ts";

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8").trim();
}

/** The bot-wide linking lock, in words: whether, until when, and how to lift it now. */
function botLockLine(p: PublicPlugin): string {
  if (!p.bloqueado) return "no";
  return `yes, until ${p.bloqueado_hasta} (${p.intentos_fallidos} wrong codes; it lifts by itself, or now with \`plugin unlink\`, which issues a new code)`;
}

/** Chats that may not try a code now (`plugin show` only: it reads chat_state). */
function chatLocksLine(chats: ChatLock[]): string {
  if (chats.length === 0) return "none";
  return chats.map((c) => `${c.chat_id} until ${c.bloqueado_hasta} (${c.intentos_fallidos} wrong codes)`).join("; ");
}

function describe(p: PublicPlugin, chats?: ChatLock[]): string {
  return table([
    ["id", p.id], ["usuario_id", p.usuario_id], ["identificador", p.identificador],
    ["codigo_verificacion", p.codigo_verificacion], ["verificado", p.verificado ? "yes" : "no"],
    ["chat_id_verificado", p.chat_id_verificado], ["linking locked", botLockLine(p)],
    ["wrong codes", `${p.intentos_fallidos} since this code was issued`],
    ...(chats ? [["chats locked out", chatLocksLine(chats)] as [string, unknown]] : []),
    ["webhook secret", p.metadatos.webhook_secret ? "set (sent to Telegram by `webhook set`)" : "not set"],
    ["deep link", p.verificado ? "-" : p.deep_link], ["created_at", p.created_at],
  ]);
}

export function registerPlugins(program: Command): void {
  const plugin = program.command("plugin").description("Telegram plugin configs (one per bot)");

  plugin.command("create").description("register a bot: encrypts its token, generates the verification code and webhook secret")
    .requiredOption("--user <username|id>", "owner (a Joe user)")
    .requiredOption("--identificador <@bot>", "the bot's username, e.g. @joe_bot")
    .requiredOption("--token <token>", "the BotFather token, or - to read it from stdin (keeps it out of shell history)")
    .option("--webhook-secret <secret>", "webhook secret to use (default: 32 random bytes)")
    .option("--idioma <es|en>", "force the bot's language (default: each user's Telegram language, Spanish otherwise)")
    .option("--show-secret", "also print the webhook secret (only needed to call setWebhook by hand)")
    .option("--json", "print JSON")
    .action((o: { user: string; identificador: string; token: string; webhookSecret?: string; idioma?: string; showSecret?: boolean; json?: boolean }) =>
      withRuntime(o, async (rt) => {
        if (o.idioma !== undefined && o.idioma !== "es" && o.idioma !== "en") throw new JoeError("INVALID_INPUT", "--idioma must be es or en");
        const token = o.token === "-" ? await readStdin() : o.token;
        const owner = await findUser(rt.store.db, o.user);
        const { plugin: p, webhookSecret } = await createPlugin(rt.store.db, rt.store.seam, rt.keys.fernet, {
          usuarioId: owner.id, identificador: o.identificador, token, webhookSecret: o.webhookSecret, idioma: o.idioma as "es" | "en" | undefined,
        });
        const out = { ...p, ...(o.showSecret ? { webhook_secret: webhookSecret } : {}) };
        print(o, out, () => [
          `Plugin ${p.id} created for ${owner.username} (${p.identificador}).`,
          describe(p),
          ...(o.showSecret ? [`  webhook_secret       ${webhookSecret}`] : []),
          "",
          "Next:",
          `  1. npx joe-telegram webhook set ${p.id} --url https://<your public host>`,
          `  2. On your phone open ${p.deep_link} and tap Start (or send: /start ${p.codigo_verificacion}).`,
        ].join("\n"));
      }));

  plugin.command("list").description("list plugins").option("--json", "print JSON")
    .action((o: { json?: boolean }) => withRuntime(o, async (rt) => {
      const list = await listPlugins(rt.store.db, rt.store.seam);
      print(o, list, () => list.length === 0 ? "No plugins yet." : list.map((p) =>
        `  ${p.id}\t${p.identificador}\tuser ${p.usuario_id}\t${p.verificado ? `linked to chat ${p.chat_id_verificado}` : `not linked (${p.codigo_verificacion})`}`).join("\n"));
    }));

  plugin.command("show <id>").description("show one plugin").option("--json", "print JSON")
    .action((id: string, o: { json?: boolean }) => withRuntime(o, async (rt) => {
      const pluginId = parseId(id, "plugin id");
      const now = Date.now();
      const p = toPublic(await getPluginRow(rt.store.db, pluginId), rt.store.seam, now);
      const chats = await lockedChats(rt.store.db, pluginId, now);
      print(o, { ...p, chats_bloqueados: chats }, () => describe(p, chats));
    }));

  plugin.command("unlink <id>").description("forget the linked chat and issue a new verification code (also lifts a lockout)").option("--json", "print JSON")
    .action((id: string, o: { json?: boolean }) => withRuntime(o, async (rt) => {
      const p = await unlinkPlugin(rt.store.db, rt.store.seam, parseId(id, "plugin id"));
      print(o, p, () => `Plugin ${p.id} unlinked. New code: ${p.codigo_verificacion}\n  link: ${p.deep_link}`);
    }));

  plugin.command("rotate-secret <id>").description("new webhook secret, registered with Telegram; the old one works for a grace period")
    .option("--url <base>", "public base URL (default: PUBLIC_URL)")
    .option("--grace <seconds>", "how long the old secret keeps working (default: SECRET_GRACE_SECONDS or 600)")
    .option("--json", "print JSON")
    .action((id: string, o: { url?: string; grace?: string; json?: boolean }) => withRuntime(o, async (rt) => {
      const pluginId = parseId(id, "plugin id");
      const base = webhookBase(rt, o.url);
      const grace = o.grace !== undefined ? parseId(o.grace, "--grace") : rt.config.SECRET_GRACE_SECONDS;
      const { previousValidUntil, undo } = await rotateWebhookSecret(rt.store.db, rt.store.seam, pluginId, grace);
      let url: string;
      try {
        url = await setWebhook(rt, pluginId, base);
      } catch (err) {
        await undo();
        throw err;
      }
      const out = { id: pluginId, url, secret_rotated: true, previous_secret_valid_until: new Date(previousValidUntil).toISOString() };
      print(o, out, () => `Webhook secret of plugin ${pluginId} rotated and registered with Telegram (${url}).\n  The old secret is accepted until ${out.previous_secret_valid_until}.`);
    }));
}
