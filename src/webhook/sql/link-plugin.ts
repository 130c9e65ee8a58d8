// Link the plugin to a chat, only while it is still unlinked with the code the /start carried
// (0 rows: someone linked or unlinked it in between).
import { defineOp } from "../../db/prepared-op.ts";

type Args = { id: number; chatId: number; codigo: string; now: number };
export const linkPlugin = defineOp<Args, number>({
  name: "link_plugin",
  mode: "run",
  build: (db, a) =>
    db
      .updateTable("plugin_configs")
      .set({ verificado: 1, chat_id_verificado: a.chatId, intentos_fallidos: 0, bloqueado_en: null, updated_at: new Date(a.now).toISOString() })
      .where("id", "=", a.id)
      .where("verificado", "=", 0)
      .where("codigo_verificacion", "=", a.codigo),
  params: (a) => [1, a.chatId, 0, null, new Date(a.now).toISOString(), a.id, 0, a.codigo],
});
