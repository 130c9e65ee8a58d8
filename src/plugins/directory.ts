// The webhook's plugin lookup: id → (is it a telegram plugin, which secrets open it), cached for a
// few seconds so a busy bot does not cost a query per update before its write. Its state may be
// that old: where it decides an update (the fast path, webhook/write-linked.ts), the write checks
// that the link still holds; everywhere else the plugin is read fresh in the transaction.
import type { Db, DialectSeam } from "../db/dialect.ts";
import { metadatosOf, pluginState } from "./state.ts";
import type { PluginState } from "../webhook/decide.ts";
import { timingSafeEqual } from "node:crypto";
import { secretDigest } from "../crypto/random.ts";

export interface PluginGate {
  id: number;
  servicio: string;
  /** Digests of the secrets (secretDigest), made once per lookup rather than once per request. */
  secret: Buffer | null;
  previousSecret: Buffer | null;
  previousUntil: number;
  /** The plugin's state at the lookup, on which the fast path decides (webhook/write-linked.ts). */
  state: PluginState;
}

export class PluginDirectory {
  private cache = new Map<number, { gate: PluginGate | null; at: number }>();
  constructor(private readonly db: Db, private readonly seam: DialectSeam, private readonly ttlMs = 2000, private readonly now: () => number = Date.now) {}

  /** `fresh`: skip the cache (and refresh it). */
  async lookup(id: number, fresh = false): Promise<PluginGate | null> {
    const hit = fresh ? undefined : this.cache.get(id);
    if (hit && this.now() - hit.at < this.ttlMs) return hit.gate;
    const row = await this.db.selectFrom("plugin_configs").selectAll().where("id", "=", id).executeTakeFirst();
    let gate: PluginGate | null = null;
    if (row) {
      const m = metadatosOf(row, this.seam);
      gate = {
        id: Number(row.id), servicio: row.servicio,
        secret: typeof m.webhook_secret === "string" ? secretDigest(m.webhook_secret) : null,
        previousSecret: typeof m.webhook_secret_anterior === "string" ? secretDigest(m.webhook_secret_anterior) : null,
        previousUntil: Number(m.webhook_secret_anterior_hasta ?? 0),
        state: pluginState(row, this.seam),
      };
    }
    if (this.cache.size > 50_000) this.cache.clear();
    this.cache.set(id, { gate, at: this.now() });
    return gate;
  }

  /** Constant-time check of the X-Telegram-Bot-Api-Secret-Token header. */
  secretMatches(gate: PluginGate, header: string | undefined): boolean {
    if (!header || !gate.secret) return false;
    const digest = secretDigest(header);
    const current = timingSafeEqual(digest, gate.secret);
    const previous = gate.previousSecret !== null && this.now() < gate.previousUntil && timingSafeEqual(digest, gate.previousSecret);
    return current || previous;
  }
}
