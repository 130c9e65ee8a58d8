// The webhook's whole hot path, in order (the seed's steps 1-8):
//   route → plugin lookup (404) → secret check (401) → JSON → parse (not understood: kept, 200)
//   → submit to the group committer, which batches concurrent updates: decide (decide.ts, pure)
//     → plan (plan.ts, pure) → the dialect's one writer (dedupe mark, task, outgoing message,
//     atomically; write-batch.ts) → commit
//   → 200 {"ok": true}.  Step 9, the confirmation, is sent later by the outbox worker.
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Db, DialectSeam } from "../db/dialect.ts";
import type { Logger } from "../log.ts";
import type { PluginDirectory } from "../plugins/directory.ts";
import type { GroupCommitter } from "./group-commit.ts";
import { parseUpdate } from "../telegram/update.ts";
import { JoeError } from "../errors.ts";
import { SERVICIO } from "../plugins/store.ts";
import { bodyText } from "../http/body-text.ts";
import { reportOutcome } from "../metrics/registry.ts";
import { WEBHOOK_PATH } from "../telegram/webhook-setup.ts";

export const BODY_LIMIT = 256 * 1024;
const OK = '{"ok":true}';

export interface WebhookDeps {
  db: Db;
  seam: DialectSeam;
  plugins: PluginDirectory;
  committer: GroupCommitter;
  logger: Logger;
}

export function registerWebhook(app: FastifyInstance, deps: WebhookDeps): void {
  app.register(async (scope) => {
    // Keep the raw body: the secret is checked before we spend anything on parsing it.
    scope.addContentTypeParser("application/json", { parseAs: "buffer", bodyLimit: BODY_LIMIT }, (_req, body, done) => done(null, body));
    // Fastify parses text/plain by default; an update sent as text/plain is the wrong media type (415).
    scope.removeContentTypeParser("text/plain");

    scope.post<{ Params: { pluginId: string } }>(WEBHOOK_PATH, { bodyLimit: BODY_LIMIT }, async (req, reply) => handle(req, reply, deps));
  });
}

async function handle(req: FastifyRequest<{ Params: { pluginId: string } }>, reply: FastifyReply, deps: WebhookDeps) {
  const pluginId = /^\d{1,15}$/.test(req.params.pluginId) ? Number(req.params.pluginId) : NaN;
  let gate = Number.isSafeInteger(pluginId) ? await deps.plugins.lookup(pluginId) : null;
  if (!gate || gate.servicio !== SERVICIO) throw new JoeError("PLUGIN_NOT_FOUND");

  const header = req.headers["x-telegram-bot-api-secret-token"];
  const secret = typeof header === "string" ? header : undefined;
  if (!deps.plugins.secretMatches(gate, secret)) {
    // The cached gate may predate `plugin rotate-secret` (Telegram sends the new secret at once):
    // read the plugin again before refusing — at most once a second per plugin (directory.ts).
    const fresh = secret === undefined ? null : await deps.plugins.recheck(pluginId);
    if (!fresh || fresh.servicio !== SERVICIO || !deps.plugins.secretMatches(fresh, secret)) throw new JoeError("BAD_SECRET");
    gate = fresh;
  }

  const raw = bodyText(req.body);
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    throw new JoeError("INVALID_JSON");
  }

  const parsed = parseUpdate(body);
  if (!parsed.ok) {
    // Authenticated but not understood: keep it for inspection and answer 200, or Telegram
    // would deliver it again forever.
    await deps.db.insertInto("unparsed_updates").values({ plugin_id: pluginId, body: raw, error: parsed.error, received_at: Date.now() }).execute();
    deps.logger.warn({ plugin_id: pluginId, reason: parsed.error }, "webhook: update not understood, kept for inspection");
    return reply.type("application/json").send(OK);
  }

  const result = await deps.committer.submit(pluginId, parsed.update, gate.state);
  reportOutcome(deps.logger, "webhook", pluginId, parsed.update.updateId, result.outcome, result.taskCodigo);
  return reply.type("application/json").send(OK);
}
