// The webhook's plugin lookup: id → (is it a telegram plugin, which secrets open it), cached for a
// few seconds so a busy bot does not cost a query per update before its write. Its state may be
// that old: updates are planned on it (webhook/plan.ts) and the writer checks that what each plan
// rests on still holds; everywhere else the plugin is read fresh in the transaction.
//
// Refusals must be cheap, and strangers must not be able to push real plugins out: anyone can
// send requests for made-up plugin ids or with a wrong secret. So
// - real plugins live in their own map, which only real rows enter (bounded by the table);
// - an id far above the highest plugin id (more than NEAR_WINDOW) is refused without a query; that
//   highest id is read again at most once per CEILING_TTL_MS, when such an id comes;
// - an id just above it may be a plugin created a moment ago (by the CLI, another process): it
//   waits for a read of the highest id that starts after it came — one read for every such request
//   waiting, at most one per NEAR_READ_GAP_MS — so a new plugin is found at once, and a flood of
//   such ids costs at most 1000 / NEAR_READ_GAP_MS queries a second;
// - an unknown id below it (a gap) is looked up once, then remembered in a small bounded map of
//   its own for UNKNOWN_TTL_MS; when full it drops its own oldest entries, never a real plugin;
// - a wrong secret re-reads the plugin (the secret may just have been rotated) at most once per
//   plugin per SECRET_RECHECK_MS;
// - concurrent lookups of one id, or of the highest id, share one query.
import type { Db, DialectSeam } from "../db/dialect.ts";
import { metadatosOf, pluginState } from "./state.ts";
import type { PluginState } from "./state.ts";
import { timingSafeEqual } from "node:crypto";
import { secretDigest } from "../crypto/random.ts";

export interface PluginGate {
  id: number;
  servicio: string;
  /** Digests of the secrets (secretDigest), made once per lookup rather than once per request. */
  secret: Buffer | null;
  previousSecret: Buffer | null;
  previousUntil: number;
  /** The plugin's state at the lookup, on which updates are planned (webhook/plan.ts). */
  state: PluginState;
}

export interface DirectoryLimits {
  /** How long a real plugin's gate is used before it is read again. */
  ttlMs: number;
  /** How long the highest plugin id is trusted for refusing ids far above it. */
  ceilingTtlMs: number;
  /** Ids up to this far above the highest are checked against a fresh read of it. */
  nearWindow: number;
  /** Fresh reads of the highest id start at least this far apart. */
  nearReadGapMs: number;
  /** How long an id found missing is refused without a query. */
  unknownTtlMs: number;
  /** How many missing ids are remembered (the oldest are dropped first). */
  unknownMax: number;
  /** A wrong secret re-reads its plugin at most this often. */
  secretRecheckMs: number;
}

export const DIRECTORY_LIMITS: DirectoryLimits = {
  ttlMs: 2000,
  ceilingTtlMs: 1000,
  nearWindow: 1000,
  nearReadGapMs: 50,
  unknownTtlMs: 10_000,
  unknownMax: 10_000,
  secretRecheckMs: 1000,
};

interface KnownEntry {
  gate: PluginGate;
  at: number;
  recheckedAt: number;
}

export class PluginDirectory {
  private readonly known = new Map<number, KnownEntry>();
  /** id → when it was found missing; insertion order is age order (re-inserted on refresh). */
  private readonly unknown = new Map<number, number>();
  private ceiling = { maxId: 0, at: -Infinity };
  private ceilingRead: Promise<number> | null = null;
  /** The next fresh read of the highest id, not started yet: requests that come join it. */
  private nextFreshCeiling: Promise<number> | null = null;
  private lastFreshCeilingAt = -Infinity;
  private readonly reads = new Map<number, Promise<PluginGate | null>>();
  private readonly limits: DirectoryLimits;

  constructor(
    private readonly db: Db,
    private readonly seam: DialectSeam,
    ttlMs = DIRECTORY_LIMITS.ttlMs,
    private readonly now: () => number = Date.now,
    limits: Partial<DirectoryLimits> = {},
  ) {
    this.limits = { ...DIRECTORY_LIMITS, ttlMs, ...limits };
  }

  /** The plugin's gate, or null when there is no such plugin. `fresh`: skip the cache (and refresh it). */
  async lookup(id: number, fresh = false): Promise<PluginGate | null> {
    const t = this.now();
    const hit = this.known.get(id);
    if (!fresh && hit && t - hit.at < this.limits.ttlMs) return hit.gate;
    if (!hit) {
      const missingAt = this.unknown.get(id);
      if (missingAt !== undefined && t - missingAt < this.limits.unknownTtlMs) return null;
      const highest = await this.highestId(t);
      if (id > highest + this.limits.nearWindow) return null;
      if (id > highest && id > (await this.freshHighestId())) return null;
    }
    return this.read(id);
  }

  /**
   * A request for this plugin came with a secret that does not open the cached gate: the secret
   * may have been rotated a moment ago. Read the plugin again, unless a wrong secret already did
   * so within SECRET_RECHECK_MS (then the cached gate stands, and the request is refused).
   */
  async recheck(id: number): Promise<PluginGate | null> {
    const hit = this.known.get(id);
    const t = this.now();
    if (hit && t - hit.recheckedAt < this.limits.secretRecheckMs) return hit.gate;
    if (hit) hit.recheckedAt = t; // before the read: concurrent wrong secrets wait on the same one
    const gate = await this.read(id);
    const entry = this.known.get(id);
    if (entry) entry.recheckedAt = t;
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

  /** One query per id at a time, however many requests ask for it. */
  private read(id: number): Promise<PluginGate | null> {
    let pending = this.reads.get(id);
    if (!pending) {
      pending = this.readRow(id).finally(() => this.reads.delete(id));
      this.reads.set(id, pending);
    }
    return pending;
  }

  private async readRow(id: number): Promise<PluginGate | null> {
    const row = await this.db.selectFrom("plugin_configs").selectAll().where("id", "=", id).executeTakeFirst();
    const t = this.now();
    if (!row) {
      this.known.delete(id);
      this.unknown.delete(id);
      if (this.unknown.size >= this.limits.unknownMax) this.unknown.delete(this.unknown.keys().next().value!);
      this.unknown.set(id, t);
      return null;
    }
    const m = metadatosOf(row, this.seam);
    const gate: PluginGate = {
      id: Number(row.id),
      servicio: row.servicio,
      secret: typeof m.webhook_secret === "string" ? secretDigest(m.webhook_secret) : null,
      previousSecret: typeof m.webhook_secret_anterior === "string" ? secretDigest(m.webhook_secret_anterior) : null,
      previousUntil: Number(m.webhook_secret_anterior_hasta ?? 0),
      state: pluginState(row, this.seam),
    };
    this.unknown.delete(id);
    this.known.set(id, { gate, at: t, recheckedAt: this.known.get(id)?.recheckedAt ?? -Infinity });
    if (gate.id > this.ceiling.maxId) this.ceiling = { maxId: gate.id, at: this.ceiling.at };
    return gate;
  }

  /** The highest plugin id from a read that starts after this call (see the header). */
  private freshHighestId(): Promise<number> {
    if (this.nextFreshCeiling) return this.nextFreshCeiling;
    const wait = Math.max(0, this.lastFreshCeilingAt + this.limits.nearReadGapMs - this.now());
    const next = (async () => {
      await new Promise((r) => (wait > 0 ? setTimeout(r, wait) : setImmediate(r)));
      this.nextFreshCeiling = null; // started: later requests wait for the one after
      this.lastFreshCeilingAt = this.now();
      return this.readCeiling();
    })();
    this.nextFreshCeiling = next;
    return next;
  }

  /** The highest plugin id, read again when older than CEILING_TTL_MS (one query for all who ask). */
  private async highestId(t: number): Promise<number> {
    if (t - this.ceiling.at < this.limits.ceilingTtlMs) return this.ceiling.maxId;
    if (!this.ceilingRead)
      this.ceilingRead = this.readCeiling().finally(() => {
        this.ceilingRead = null;
      });
    return this.ceilingRead;
  }

  private async readCeiling(): Promise<number> {
    const at = this.now();
    const r = await this.db
      .selectFrom("plugin_configs")
      .select((eb) => eb.fn.max("id").as("max_id"))
      .executeTakeFirst();
    const maxId = Number(r?.max_id ?? 0);
    if (at >= this.ceiling.at) this.ceiling = { maxId, at };
    return maxId;
  }
}
