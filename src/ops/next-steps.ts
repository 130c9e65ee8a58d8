// The one line `serve` logs on start saying what to do next: where Telegram should deliver (the
// webhook URL in use) or that bots are polled, or how to add a first bot.
// Hook: other features add their own hint by pushing to NEXT_STEP_HINTS (e.g. the dashboard's
// sign-in link); each returns a short sentence or null, and all are joined into the one line.
import type { Runtime } from "../runtime.ts";
import { deliveryModeOf } from "../polling/mode.ts";
import { SERVICIO } from "../plugins/store.ts";

export type NextStepHint = (rt: Runtime, info: { url: string; polling: boolean }) => Promise<string | null>;

export const NEXT_STEP_HINTS: NextStepHint[] = [deliveryHint];

async function deliveryHint(rt: Runtime, info: { url: string; polling: boolean }): Promise<string | null> {
  const rows = await rt.store.db.selectFrom("plugin_configs").select(["id", "metadatos"]).where("servicio", "=", SERVICIO).execute();
  if (rows.length === 0) {
    return "no bot yet: add one with `npx joe-telegram user create <you>` and `npx joe-telegram plugin create --user <you> --identificador @your_bot --token -`";
  }
  const webhook = rows.filter((r) => deliveryModeOf(r, rt.store.seam) === "webhook").length;
  const polled = rows.length - webhook;
  const parts: string[] = [];
  if (webhook > 0) {
    parts.push(
      rt.config.PUBLIC_URL
        ? `${webhook} bot(s) by webhook at ${rt.config.PUBLIC_URL.replace(/\/+$/, "")}/plugins/telegram/webhook/<id>/`
        : `${webhook} bot(s) by webhook (check with \`npx joe-telegram webhook info <id>\`)`,
    );
  }
  if (polled > 0) {
    parts.push(
      info.polling
        ? `${polled} bot(s) polled with getUpdates from here (no public URL needed): send your bot a message`
        : `${polled} bot(s) in polling mode, but this process runs no workers: start \`serve\` with workers to poll them`,
    );
  }
  return parts.join("; ");
}

export async function nextSteps(rt: Runtime, info: { url: string; polling: boolean }): Promise<void> {
  const hints = (await Promise.all(NEXT_STEP_HINTS.map((h) => h(rt, info)))).filter((h): h is string => !!h);
  if (hints.length > 0) rt.logger.info({ next: hints }, `next: ${hints.join(" | ")}`);
}
