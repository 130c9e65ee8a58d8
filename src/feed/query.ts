// The feed's query parameters, shared by GET /events, the SSE stream and subscriptions.
import { EVENT_TYPES } from "../events/append.ts";
import { JoeError } from "../errors.ts";

/** `types=a,b` → the list (undefined: every type); an unknown type is a 400 naming it. */
export function parseTypes(raw: string | undefined, field = "types"): readonly string[] | undefined {
  if (raw === undefined || raw.trim() === "") return undefined;
  return checkTypes(
    raw
      .split(",")
      .map((t) => t.trim())
      .filter((t) => t !== ""),
    field,
  );
}

export function checkTypes(types: string[], field: string): string[] {
  for (const t of types) {
    if (!(EVENT_TYPES as readonly string[]).includes(t))
      throw new JoeError("INVALID_INPUT", `${field}: unknown event type "${t.slice(0, 40)}" (known: ${EVENT_TYPES.join(", ")})`);
  }
  return [...new Set(types)];
}

/** JSON schema pieces for the route schemas (and so the OpenAPI document). */
export const eventTypeSchema = { type: "string", enum: [...EVENT_TYPES] } as const;

export const feedItemSchema = {
  type: "object",
  required: ["id", "type", "at", "plugin_id"],
  properties: {
    id: { type: "integer", description: "the event id; also the X-Joe-Delivery of its webhook deliveries" },
    type: eventTypeSchema,
    at: { type: "integer", description: "epoch milliseconds" },
    task: { type: "object", additionalProperties: true, description: "the task's current public JSON (task events)" },
    plugin_id: { type: "integer" },
  },
} as const;
