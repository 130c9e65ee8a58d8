// The plugin's brute-force counters after a wrong code (decided on the row read for linking).
import { defineOp } from "../../db/prepared-op.ts";

type Args = { id: number; intentosFallidos: number; bloqueadoEn: number | null };
export const setPluginCounters = defineOp<Args, number>({
  name: "set_plugin_counters",
  mode: "run",
  build: (db, a) => db.updateTable("plugin_configs").set({ intentos_fallidos: a.intentosFallidos, bloqueado_en: a.bloqueadoEn }).where("id", "=", a.id),
  params: (a) => [a.intentosFallidos, a.bloqueadoEn, a.id],
});
