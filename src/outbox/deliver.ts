// How one outgoing row reaches the chat. Most rows are a sendMessage (replying to the user's
// message when they name one). A `transcript` row edits the task's confirmation to carry the
// transcript (editMessageText), so the chat keeps one message per note; when that message cannot
// be edited (its send failed, it was deleted, it is too old) the transcript is sent as a reply.
import { GrammyError, type Api } from "grammy";
import type { Db } from "../db/dialect.ts";
import type { OutgoingRow } from "../db/schema.ts";

export const TRANSCRIPT_KIND = "transcript";

/** `signal` aborts the Bot API call (the sender's shutdown and send timeout). */
export async function deliverOutgoing(api: Api, db: Db, m: OutgoingRow, signal?: AbortSignal): Promise<{ message_id: number }> {
  const abort = signal as unknown as Parameters<Api["sendMessage"]>[3];
  const chatId = Number(m.chat_id);
  if (m.kind === TRANSCRIPT_KIND && m.task_id !== null) {
    const confirmation = await db
      .selectFrom("outgoing_messages")
      .select(["telegram_message_id", "status"])
      .where("task_id", "=", m.task_id)
      .where("kind", "=", "confirmation")
      .where("status", "=", "sent")
      .executeTakeFirst();
    const target = confirmation?.telegram_message_id != null ? Number(confirmation.telegram_message_id) : null;
    if (target !== null) {
      try {
        await api.editMessageText(chatId, target, m.text, undefined, abort);
        return { message_id: target };
      } catch (err) {
        if (!(err instanceof GrammyError) || err.error_code !== 400) throw err;
        // Already carries this text (an edit whose outcome was not recorded before a crash): done.
        if (/not modified/i.test(err.description)) return { message_id: target };
        // Otherwise the message cannot be edited: a reply below instead.
      }
    }
  }
  return api.sendMessage(
    chatId,
    m.text,
    m.reply_to_message_id ? { reply_parameters: { message_id: Number(m.reply_to_message_id), allow_sending_without_reply: true } } : {},
    abort,
  );
}
