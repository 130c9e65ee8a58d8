// A plugin's delivery mode: "webhook" once `webhook set` (or `plugin create` with PUBLIC_URL)
// registered it with Telegram, "polling" otherwise — then `serve` long-polls getUpdates for it.
// Kept in metadatos.modo, so no column changes for the seed's table.
import type { Db, DialectSeam } from "../db/dialect.ts";
import type { PluginRow } from "../db/schema.ts";
import { metadatosOf } from "../plugins/state.ts";

export type DeliveryMode = "webhook" | "polling";

/** What Joe asks Telegram for, by webhook and by getUpdates alike (one list, so both modes see the same updates). */
export const ALLOWED_UPDATES = ["message", "edited_message"] as const;

export function deliveryModeOf(row: Pick<PluginRow, "metadatos">, seam: DialectSeam): DeliveryMode {
  return metadatosOf(row, seam).modo === "webhook" ? "webhook" : "polling";
}

/**
 * Record the mode after Telegram accepted the change. Back to polling also clears a poller's
 * back-off (a 409 seen while the webhook was set), so polling resumes at once.
 */
export async function setDeliveryMode(db: Db, seam: DialectSeam, pluginId: number, modo: DeliveryMode): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const row = await trx.selectFrom("plugin_configs").select(["metadatos"]).where("id", "=", pluginId).executeTakeFirst();
    if (!row) return;
    const meta = { ...metadatosOf(row, seam), modo };
    await trx
      .updateTable("plugin_configs")
      .set({ metadatos: JSON.stringify(meta), updated_at: new Date().toISOString() })
      .where("id", "=", pluginId)
      .execute();
    if (modo === "polling") {
      await trx.updateTable("polling_state").set({ retry_at: null, last_error: null, last_error_at: null }).where("plugin_id", "=", pluginId).execute();
    }
  });
}
