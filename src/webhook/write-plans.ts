// Writing a batch of plans: the webhook's one procedure, the same on both databases. It is a
// generator of steps (run this SQL operation, hand out a task id) so each dialect's writer can
// drive it its own way — SQLite synchronously inside one IMMEDIATE transaction, PostgreSQL
// through a transaction's connection — while the rules live here once:
//   - plugins in id order (every instance locks in that order, so two cannot deadlock), each
//     plugin's updates in update_id order;
//   - before a plan is written, the state it rests on is checked against the row read in this
//     transaction; a plan that does not hold (decided on the webhook's cached state, or on a
//     state an earlier plan of the batch did not bring about) is decided again, with the rest of
//     that plugin's updates, on what this transaction reads;
//   - the mark first (a duplicate stops there), then the link, the counters, a command's or an
//     edit's change, the task with its event, and the reply.
import { run, nextTaskId, type Steps, type WriteContext } from "./steps.ts";
import { isLinkedChat, pluginState, sameLinkingState, type PluginState } from "../plugins/state.ts";
import { EMPTY_CHAT, type ChatState, type Outcome, type Reply } from "./decide.ts";
import { planBatch, chatKey, type Plan, type PlanJob, type WritePlan } from "./plan.ts";
import { eventRow, markRow, outgoingRow, taskRow } from "./rows.ts";
import { writeIntent } from "./write-intent.ts";
import { readPlugin, readPluginForLinking } from "./sql/read-plugin.ts";
import { readChat } from "./sql/read-chat.ts";
import { upsertMark } from "./sql/upsert-mark.ts";
import { linkPlugin } from "./sql/link-plugin.ts";
import { setPluginCounters } from "./sql/set-plugin-counters.ts";
import { upsertChat } from "./sql/upsert-chat.ts";
import { insertTask } from "./sql/insert-task.ts";
import { insertEvent } from "./sql/insert-event.ts";
import { insertOutgoing } from "./sql/insert-outgoing.ts";

/** What became of one update, once committed. */
export interface ApplyResult {
  outcome: Outcome;
  taskCodigo?: string;
  /** An outgoing message was written: the sender may wake up. */
  queuedMessage: boolean;
}

export const DUPLICATE: ApplyResult = { outcome: "duplicate", queuedMessage: false };
const PLUGIN_GONE: ApplyResult = { outcome: "plugin_gone", queuedMessage: false };

/** Writes `plans` (made by planBatch for `jobs`); returns each update's result by its batch index. */
export function* writePlans(jobs: readonly PlanJob[], plans: readonly Plan[], ctx: WriteContext): Steps<Map<number, ApplyResult>> {
  const jobOf = new Map(jobs.map((j) => [j.index, j]));
  const byPlugin = new Map<number, Plan[]>();
  for (const p of plans) {
    const list = byPlugin.get(p.pluginId);
    if (list) list.push(p);
    else byPlugin.set(p.pluginId, [p]);
  }
  const results = new Map<number, ApplyResult>();
  for (const pluginId of [...byPlugin.keys()].sort((a, b) => a - b)) {
    yield* writePluginPlans(pluginId, byPlugin.get(pluginId)!, jobOf, ctx, results);
  }
  return results;
}

function* writePluginPlans(pluginId: number, plans: Plan[], jobOf: Map<number, PlanJob>, ctx: WriteContext, results: Map<number, ApplyResult>): Steps<void> {
  // Whatever may change the link or the counters takes the plugin's "decide" lock before any of
  // its marks is written: one lock order (plugin, then its marks) for every instance, or two
  // instances holding the same update could each wait for the other.
  let lockedForLinking = plans.some((p) => p.kind === "needs_state" || p.kind === "plugin_gone" || (p.kind === "write" && p.rests === "linking"));
  const row = yield* run(lockedForLinking ? readPluginForLinking : readPlugin, { id: pluginId });
  let live: PluginState | null = row ? pluginState(row, ctx.seam) : null;
  const chats = new Map<string, ChatState>();
  let pending = plans;
  let decidedAgainAt = -1;
  for (let i = 0; i < pending.length; ) {
    const plan = pending[i]!;
    if (plan.kind === "duplicate") {
      results.set(plan.index, DUPLICATE);
      i++;
      continue;
    }
    if (live === null) {
      results.set(plan.index, PLUGIN_GONE);
      i++;
      continue;
    }
    if (!holds(plan, live, chats)) {
      // Decided on the state this transaction reads, the new plan holds by construction.
      if (decidedAgainAt === i) throw new Error(`webhook: the plan for update ${plan.updateId} does not hold on the state it was decided on`);
      decidedAgainAt = i;
      const rest = pending.slice(i).map((p) => jobOf.get(p.index)!);
      const fromOtherChats = (s: PluginState) => rest.filter((j) => j.update.message !== undefined && !isLinkedChat(s, j.update.message.chatId));
      // Anything from a chat that is not the linked one may change the link or the counters:
      // decide it on the row locked for that (PostgreSQL; one at a time across instances).
      if (!lockedForLinking && fromOtherChats(live).length > 0) {
        const locked = yield* run(readPluginForLinking, { id: pluginId });
        lockedForLinking = true;
        live = locked ? pluginState(locked, ctx.seam) : null;
        if (live === null) continue;
      }
      for (const j of fromOtherChats(live)) {
        const key = chatKey(pluginId, j.update.message!.chatId);
        if (!chats.has(key)) chats.set(key, chatStateOf(yield* run(readChat, { pluginId, chatId: j.update.message!.chatId })));
      }
      pending = [...pending.slice(0, i), ...planBatch(rest, { plugins: new Map([[pluginId, live]]), chats }, ctx.now)];
      ctx.stats?.replanned.push(...rest.map((j) => j.update.updateId));
      continue;
    }
    const written = yield* writePlan(plan as WritePlan, live, chats, ctx);
    results.set(plan.index, written.result);
    live = written.live;
    i++;
  }
}

/** Does the state `plan` was decided on still hold? */
function holds(plan: Plan, live: PluginState, chats: Map<string, ChatState>): boolean {
  if (plan.kind !== "write") return false;
  if (plan.rests === "linked") return plan.chatId === null || isLinkedChat(live, plan.chatId);
  if (!sameLinkingState(plan.decidedOn, live) || plan.chatId === null) return false;
  const chat = chats.get(chatKey(plan.pluginId, plan.chatId));
  return chat !== undefined && plan.chatBefore !== undefined && sameChat(chat, plan.chatBefore);
}

function sameChat(a: ChatState, b: ChatState): boolean {
  return a.lastWarnedAt === b.lastWarnedAt && a.failedStarts === b.failedStarts && a.failedWindowStartedAt === b.failedWindowStartedAt;
}

function chatStateOf(
  row: { last_warned_at: number | string | null; failed_starts: number | string; failed_window_started_at: number | string | null } | undefined,
): ChatState {
  if (!row) return EMPTY_CHAT;
  return {
    lastWarnedAt: row.last_warned_at === null ? null : Number(row.last_warned_at),
    failedStarts: Number(row.failed_starts),
    failedWindowStartedAt: row.failed_window_started_at === null ? null : Number(row.failed_window_started_at),
  };
}

function* writePlan(plan: WritePlan, plugin: PluginState, chats: Map<string, ChatState>, ctx: WriteContext): Steps<{ result: ApplyResult; live: PluginState }> {
  const { now } = ctx;
  const { pluginId } = plan;
  if ((yield* run(upsertMark, markRow(pluginId, plan.updateId, plan.chatId, plan.messageId, plan.outcome, now))) === 0) {
    return { result: DUPLICATE, live: plugin };
  }
  let live = plugin;
  if (plan.link) {
    // The plan holds on the row this transaction read (and locked, on PostgreSQL): the code matches.
    if ((yield* run(linkPlugin, { id: pluginId, chatId: plan.link.chatId, codigo: live.codigoVerificacion, now })) !== 1) {
      throw new Error(`webhook: linking plugin ${pluginId} found it changed under its lock`);
    }
    live = { ...live, verificado: true, chatIdVerificado: plan.link.chatId, intentosFallidos: 0, bloqueadoEn: null };
    yield* run(insertEvent, eventRow("plugin.linked", live.usuarioId, pluginId, null, now));
  }
  if (plan.pluginNext) {
    yield* run(setPluginCounters, { id: pluginId, ...plan.pluginNext });
    live = { ...live, ...plan.pluginNext };
  }
  if (plan.chatNext && plan.chatId !== null) {
    yield* run(upsertChat, { pluginId, chatId: plan.chatId, ...plan.chatNext });
    chats.set(chatKey(pluginId, plan.chatId), plan.chatNext);
  }
  let outcome = plan.outcome;
  let reply: Reply | undefined = plan.reply;
  if (plan.intent && plan.chatId !== null) {
    const done = yield* writeIntent(live, plan.chatId, plan.intent, ctx);
    outcome = done.outcome;
    reply = done.reply;
  }
  let task: { id: number; codigo: string } | null = null;
  if (plan.task) {
    const row = taskRow(yield* nextTaskId(), plan.task, now);
    // The same message already has its task (it came under another update_id): nothing more.
    if ((yield* run(insertTask, row)) === 0) return { result: { outcome: "duplicate_message", queuedMessage: false }, live };
    task = { id: row.id, codigo: row.codigo };
    yield* run(insertEvent, eventRow("task.created", row.usuario_id, pluginId, row.id, now));
  }
  if (reply && plan.chatId !== null) yield* run(insertOutgoing, outgoingRow(pluginId, plan.chatId, reply, task, now));
  return { result: { outcome, ...(task ? { taskCodigo: task.codigo } : {}), queuedMessage: reply !== undefined && plan.chatId !== null }, live };
}
