// The plugin row an update is decided on. "read" (PostgreSQL `for key share`) waits for an unlink
// in progress and decides on its result without blocking other writers of the row; "decide"
// (`for no key update`) is taken before deciding anything that may change the link or the
// brute-force counters, so instances decide such updates one after the other on committed counters.
import type { Kysely, RawBuilder } from "kysely";
import { defineOp } from "../../db/prepared-op.ts";
import type { Database, PluginRow } from "../../db/schema.ts";

type Args = { id: number };
const build = (db: Kysely<Database>, a: Args, lock: RawBuilder<unknown> | null) =>
  db
    .selectFrom("plugin_configs")
    .selectAll()
    .where("id", "=", a.id)
    .$if(lock !== null, (q) => q.modifyEnd(lock!));
const params = (a: Args) => [a.id];

export const readPlugin = defineOp<Args, PluginRow | undefined>({ name: "read_plugin", mode: "get", lock: "read", build, params });
export const readPluginForLinking = defineOp<Args, PluginRow | undefined>({ name: "read_plugin_linking", mode: "get", lock: "decide", build, params });
