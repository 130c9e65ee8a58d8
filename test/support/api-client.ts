// Helpers for /api/v1 tests: a user with a linked bot and an API token, a JSON client over real
// HTTP, and a bulk writer of queued tasks (for tests that need many; single tasks come through
// the webhook like Telegram's).
import type { Stack, TestBot } from "./stack.ts";
import type { Db, DialectSeam } from "../../src/db/dialect.ts";
import { createApiToken } from "../../src/api/tokens.ts";
import { taskCodigo } from "../../src/tasks/codigo.ts";

export interface ApiUser {
  bot: TestBot;
  usuarioId: number;
  token: string;
  tokenId: number;
  chatId: number;
}

let chatSeq = 0;

export async function userWithBot(s: Stack, opts: { idioma?: "es" | "en" } = {}): Promise<ApiUser> {
  const bot = await s.addBot(opts);
  const chatId = 700_000 + ++chatSeq;
  await s.link(bot, chatId);
  const row = await s.rt.store.db.selectFrom("plugin_configs").select("usuario_id").where("id", "=", bot.pluginId).executeTakeFirstOrThrow();
  const usuarioId = Number(row.usuario_id);
  const { token, info } = await createApiToken(s.rt.store.db, usuarioId, "test");
  return { bot, usuarioId, token, tokenId: info.id, chatId };
}

export interface Answer<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export function client(baseUrl: string, token: string | null) {
  async function call<T = any>(method: string, path: string, body?: unknown): Promise<Answer<T>> {
    const headers: Record<string, string> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    const r = await fetch(`${baseUrl}/api/v1${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.text();
    return { status: r.status, body: text ? JSON.parse(text) : null, headers: r.headers };
  }
  return {
    get: <T = any>(path: string) => call<T>("GET", path),
    post: <T = any>(path: string, body?: unknown) => call<T>("POST", path, body),
    del: <T = any>(path: string) => call<T>("DELETE", path),
  };
}

/** Sends a text from the linked chat and waits until its task exists; returns the task's code. */
export async function taskFromChat(s: Stack, u: ApiUser, text: string, extra?: { languageCode?: string }): Promise<{ codigo: string; messageId: number }> {
  const r = await s.sendText(u.bot, u.chatId, text, extra);
  if (r.status !== 200) throw new Error(`webhook answered ${r.status}`);
  const messageId = Number((r.update.message as { message_id: number }).message_id);
  for (let i = 0; i < 200; i++) {
    const t = await s.rt.store.db
      .selectFrom("tasks")
      .select("codigo")
      .where("plugin_id", "=", u.bot.pluginId)
      .where("message_id", "=", messageId)
      .executeTakeFirst();
    if (t) return { codigo: t.codigo, messageId };
    await new Promise((res) => setTimeout(res, 25));
  }
  throw new Error("task did not appear");
}

/** Writes `n` queued text tasks for a plugin directly (ids from the dialect, like the webhook). */
export async function insertQueuedTasks(
  db: Db,
  seam: DialectSeam,
  p: { usuarioId: number; pluginId: number; chatId: number },
  n: number,
  firstMessageId = 1,
): Promise<number[]> {
  const ids: number[] = [];
  for (let done = 0; done < n; ) {
    const k = Math.min(200, n - done);
    await db.transaction().execute(async (trx) => {
      const got = await seam.taskIds.next(trx, k);
      await trx
        .insertInto("tasks")
        .values(
          got.map((id, i) => ({
            id,
            codigo: taskCodigo(id),
            usuario_id: p.usuarioId,
            plugin_id: p.pluginId,
            tipo: "telegram",
            titulo: `tarea ${done + i}`,
            estado: "queued",
            chat_id: p.chatId,
            message_id: firstMessageId + done + i,
            metadatos_extra: JSON.stringify({
              chat_id: p.chatId,
              message_id: firstMessageId + done + i,
              plugin_id: p.pluginId,
              texto_original: `tarea ${done + i}`,
            }),
            created_at: new Date().toISOString(),
          })),
        )
        .execute();
      ids.push(...got);
    });
    done += k;
  }
  return ids;
}
