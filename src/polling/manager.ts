// Which bots this instance polls: every few seconds, the plugins in polling mode are listed and,
// for each, the lease is taken or renewed (polling_state.lease_owner). A bot whose lease we hold
// gets a BotPoller; one whose lease we lose (or that left polling mode) has its poller stopped.
// One poller per bot across all instances; an instance that dies lets its leases run out and
// another takes over.
import { randomUUID } from "node:crypto";
import type { Logger } from "../log.ts";
import { SERVICIO } from "../plugins/store.ts";
import { BotPoller, type PollerDeps } from "./poller.ts";
import { deliveryModeOf } from "./mode.ts";
import { releaseLease, tryLease } from "./state.ts";
import { createBotApi } from "../telegram/api.ts";
import { registerBotCommands } from "../telegram/commands.ts";
import { decryptToken } from "../plugins/store.ts";
import { metadatosOf } from "../plugins/state.ts";

export interface PollingOptions {
  /** How long a lease lasts without renewal (ms). */
  leaseMs: number;
  /** How often the plugins are listed and the leases renewed (ms); well under leaseMs. */
  scanMs: number;
}

export class PollingManager {
  readonly owner = randomUUID();
  private readonly pollers = new Map<number, BotPoller>();
  private timer: NodeJS.Timeout | undefined;
  private scanning: Promise<void> = Promise.resolve();
  private stopped = false;
  private readonly logger: Logger;
  /** Bots whose command menu this process registered (a webhook bot gets it from `webhook set`). */
  private readonly menus = new Set<number>();
  private readonly menuCalls = new Set<Promise<void>>();

  constructor(
    private readonly deps: PollerDeps,
    private readonly opts: PollingOptions,
  ) {
    this.logger = deps.logger;
  }

  /** Bots this instance polls right now. */
  get polled(): number[] {
    return [...this.pollers.keys()].sort((a, b) => a - b);
  }

  start(): void {
    const tick = () => {
      this.scanning = this.scan()
        .catch((err) => this.logger.warn({ err }, "polling: cannot list the bots to poll (will retry)"))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, this.opts.scanMs);
        });
    };
    tick();
  }

  /** Stop every poller (aborting their long polls) and hand the leases back. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.scanning;
    await Promise.all([...this.menuCalls]);
    const all = [...this.pollers.values()];
    this.pollers.clear();
    await Promise.all(
      all.map(async (p) => {
        await p.stop();
        await releaseLease(this.deps.db, p.pluginId, this.owner).catch(() => {});
      }),
    );
  }

  /**
   * The bot's command menu (setMyCommands), once per bot per process, when this instance first
   * takes its lease: a polled bot never goes through `webhook set`, which registers it otherwise.
   * Best effort: a failure is logged, and tried again the next time the lease is taken.
   */
  private registerMenu(id: number): void {
    if (this.menus.has(id)) return;
    this.menus.add(id);
    const { db, seam, fernet, apiRoot } = this.deps;
    const call = (async () => {
      const row = await db.selectFrom("plugin_configs").selectAll().where("id", "=", id).executeTakeFirst();
      if (!row) return;
      await registerBotCommands(createBotApi(decryptToken(row, fernet), apiRoot, 10), metadatosOf(row, seam).idioma);
    })().catch((err) => {
      this.menus.delete(id);
      this.logger.warn({ plugin_id: id, err }, "polling: could not register the bot's command menu (setMyCommands)");
    });
    this.menuCalls.add(call);
    void call.finally(() => this.menuCalls.delete(call));
  }

  private async scan(): Promise<void> {
    const { db, seam } = this.deps;
    const rows = await db.selectFrom("plugin_configs").select(["id", "servicio", "metadatos"]).where("servicio", "=", SERVICIO).execute();
    const wanted = new Set(rows.filter((r) => deliveryModeOf(r, seam) === "polling").map((r) => Number(r.id)));
    for (const [id, poller] of this.pollers) {
      if (!wanted.has(id) || poller.stopped) {
        this.pollers.delete(id);
        await poller.stop();
        await releaseLease(db, id, this.owner);
      }
    }
    for (const id of wanted) {
      if (this.stopped) return;
      const held = await tryLease(db, id, this.owner, Date.now(), this.opts.leaseMs);
      const poller = this.pollers.get(id);
      if (held && !poller) {
        const p = new BotPoller(id, this.deps);
        this.pollers.set(id, p);
        p.start();
        this.logger.info({ plugin_id: id }, "polling: this instance now polls the bot");
        this.registerMenu(id);
      } else if (!held && poller) {
        // Someone else took the lease (ours ran out, e.g. the database was unreachable).
        this.pollers.delete(id);
        await poller.stop();
        this.logger.info({ plugin_id: id }, "polling: another instance polls the bot now");
      }
    }
  }
}
