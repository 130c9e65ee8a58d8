// POST/GET/DELETE /api/v1/subscriptions: the token's user's outgoing webhooks.
import type { FastifyInstance } from "fastify";
import type {} from "@fastify/swagger"; // route schemas carry OpenAPI fields (summary)
import type { Db, DialectSeam } from "../db/dialect.ts";
import type { MultiFernet } from "../crypto/fernet.ts";
import { JoeError } from "../errors.ts";
import { createSubscription, deleteSubscription, listSubscriptions } from "./subscriptions.ts";
import { eventTypeSchema } from "./query.ts";
import { rejectInvalid } from "./routes.ts";

export interface SubscriptionDeps {
  db: Db;
  seam: DialectSeam;
  /** The keys bot tokens are encrypted with (rt.keys.fernet); subscriptions are refused without them. */
  fernet?: MultiFernet;
}

const subscriptionSchema = {
  type: "object",
  properties: {
    id: { type: "integer" },
    url: { type: "string" },
    events: { type: "array", items: eventTypeSchema },
    created_at: { type: "string" },
    delivered: { type: "integer" },
    attempts: { type: "integer" },
    failing_since: { type: ["integer", "null"] },
    last_error: { type: ["string", "null"] },
    next_attempt_at: { type: "integer" },
    given_up: { type: "integer" },
    last_given_up_event_id: { type: ["integer", "null"] },
  },
} as const;

export function registerSubscriptionRoutes(scope: FastifyInstance, deps: SubscriptionDeps): void {
  scope.post<{ Body: { url: string; events: string[] } }>(
    "/subscriptions",
    {
      attachValidation: true,
      schema: {
        summary: "Subscribe a URL to event types; the signing secret is in this answer only",
        body: {
          type: "object",
          required: ["url", "events"],
          additionalProperties: false,
          properties: {
            url: { type: "string", maxLength: 2048, description: "http(s) URL each event is POSTed to" },
            events: { type: "array", minItems: 1, maxItems: 10, items: eventTypeSchema },
          },
        },
        response: { 201: { type: "object", required: ["id", "secret"], properties: { ...subscriptionSchema.properties, secret: { type: "string" } } } },
      },
    },
    async (req, reply) => {
      rejectInvalid(req);
      if (!deps.fernet) throw new JoeError("CONFIG", "no FERNET_KEYS loaded: subscriptions cannot store their secret");
      const { subscription, secret } = await createSubscription(deps.db, deps.seam, deps.fernet, req.principal!.usuarioId, req.body);
      return reply.status(201).send({ ...subscription, secret });
    },
  );

  scope.get(
    "/subscriptions",
    {
      schema: {
        summary: "The user's subscriptions and their delivery state (never the secret)",
        response: { 200: { type: "object", properties: { items: { type: "array", items: subscriptionSchema } } } },
      },
    },
    async (req) => ({ items: await listSubscriptions(deps.db, deps.seam, req.principal!.usuarioId) }),
  );

  scope.delete<{ Params: { id: string } }>(
    "/subscriptions/:id",
    {
      attachValidation: true,
      schema: {
        summary: "Delete a subscription (no more deliveries)",
        params: { type: "object", properties: { id: { type: "string", pattern: "^[0-9]{1,15}$" } } },
      },
    },
    async (req) => {
      rejectInvalid(req);
      const id = Number(req.params.id);
      await deleteSubscription(deps.db, req.principal!.usuarioId, id);
      return { ok: true, id };
    },
  );
}
