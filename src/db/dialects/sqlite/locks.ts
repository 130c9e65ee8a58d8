import type { PluginLocks } from "../../dialect.ts";

// None: the webhook's write transaction already excludes every other writer.
export const locks: PluginLocks = { read: null, decide: null };
