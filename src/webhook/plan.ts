// The planner, pure like decide(): a batch of updates and the state they are decided on become
// one plan per update — the rows to write, the state changes, and the state the plan rests on,
// which the writer checks before it writes (write-plans.ts). Updates are planned in
// (plugin, update_id) order, the order Telegram numbered them in, and each plan's effects (a link,
// the brute-force counters, a chat's warning time) are carried into the state the next plan sees,
// so a whole batch can be written at once and still mean what writing it one by one would.
import type { ParsedUpdate } from "../telegram/update.ts";
import { decide, EMPTY_CHAT, type ChatState, type Outcome, type Reply, type TaskDraft } from "./decide.ts";
import type { ChatIntent } from "./decide-chat.ts";
import { isLinkedChat, type PluginState } from "../plugins/state.ts";

export interface PlanJob {
  /** Position in the batch: results are given back in the batch's order. */
  index: number;
  pluginId: number;
  update: ParsedUpdate;
}

/** The state plans are decided on. A plugin or chat missing from a map is unknown (not read). */
export interface PlanState {
  plugins: ReadonlyMap<number, PluginState | null>;
  /** Chat counters by chatKey(); only chats that are not a plugin's linked chat need them. */
  chats: ReadonlyMap<string, ChatState>;
}

export const chatKey = (pluginId: number, chatId: number) => `${pluginId}:${chatId}`;

/** A task to write: everything but its id, which the writer hands out. */
export interface TaskPlan extends TaskDraft {
  usuarioId: number;
  pluginId: number;
  chatId: number;
  messageId: number;
}

export interface WritePlan {
  kind: "write";
  index: number;
  pluginId: number;
  updateId: number;
  chatId: number | null;
  messageId: number | null;
  outcome: Outcome;
  /**
   * What the plan rests on. "linked": only that the plugin exists and (for a message) is linked
   * to this chat. "linking": the plugin's link, code and counters (`decidedOn`) and the chat's
   * counters (`chatBefore`) as they were; messages from any other chat are decided on those.
   */
  rests: "linked" | "linking";
  decidedOn: PluginState;
  chatBefore?: ChatState;
  /** Link the plugin to this chat (it is unlinked with `decidedOn.codigoVerificacion`). */
  link?: { chatId: number };
  /** The plugin's counters after this update. */
  pluginNext?: { intentosFallidos: number; bloqueadoEn: number | null };
  /** The chat's counters after this update. */
  chatNext?: ChatState;
  /** A command or an edit: the writer reads the tasks it is about (write-intent.ts). */
  intent?: ChatIntent;
  task?: TaskPlan;
  reply?: Reply;
}

export type Plan =
  | WritePlan
  /** The same update earlier in this batch (two deliveries at once): the first one counts. */
  | { kind: "duplicate"; index: number; pluginId: number; updateId: number }
  /** The plugin is not there. */
  | { kind: "plugin_gone"; index: number; pluginId: number; updateId: number }
  /** Cannot be decided on this state (the plugin, or a chat's counters, were not read). */
  | { kind: "needs_state"; index: number; pluginId: number; updateId: number };

/** Jobs in the order plans are made and written: (plugin, update_id); the batch order breaks ties. */
function planOrder<J extends PlanJob>(jobs: readonly J[]): J[] {
  return [...jobs].sort((a, b) => a.pluginId - b.pluginId || a.update.updateId - b.update.updateId || a.index - b.index);
}

/** One plan per job, in planOrder. */
export function planBatch(jobs: readonly PlanJob[], state: PlanState, now: number): Plan[] {
  const plugins = new Map(state.plugins);
  const chats = new Map(state.chats);
  const seen = new Set<string>();
  const plans: Plan[] = [];
  for (const job of planOrder(jobs)) {
    const { index, pluginId, update } = job;
    const id = { index, pluginId, updateId: update.updateId };
    const key = `${pluginId}:${update.updateId}`;
    if (seen.has(key)) {
      plans.push({ kind: "duplicate", ...id });
      continue;
    }
    seen.add(key);
    const plugin = plugins.get(pluginId);
    if (plugin === undefined) {
      plans.push({ kind: "needs_state", ...id });
      continue;
    }
    if (plugin === null) {
      plans.push({ kind: "plugin_gone", ...id });
      continue;
    }
    const msg = update.message;
    const fromLinkedChat = msg === undefined || isLinkedChat(plugin, msg.chatId);
    const chat = fromLinkedChat ? undefined : chats.get(chatKey(pluginId, msg.chatId));
    if (!fromLinkedChat && chat === undefined) {
      plans.push({ kind: "needs_state", ...id });
      continue;
    }
    const d = decide(update, plugin, chat ?? EMPTY_CHAT, now);
    const plan: WritePlan = {
      kind: "write",
      ...id,
      chatId: msg?.chatId ?? null,
      messageId: msg?.messageId ?? null,
      outcome: d.outcome,
      rests: fromLinkedChat ? "linked" : "linking",
      decidedOn: plugin,
      ...(chat ? { chatBefore: chat } : {}),
    };
    if (d.intent) plan.intent = d.intent;
    if (d.reply && d.chatId !== undefined) plan.reply = d.reply;
    if (d.task && msg) plan.task = { ...d.task, usuarioId: plugin.usuarioId, pluginId, chatId: msg.chatId, messageId: msg.messageId };
    // Carry the plan's effects into the state the next plan is decided on.
    let next = plugin;
    if (d.link) {
      plan.link = d.link;
      next = { ...next, verificado: true, chatIdVerificado: d.link.chatId, intentosFallidos: 0, bloqueadoEn: null };
    }
    if (d.pluginPatch) {
      plan.pluginNext = {
        intentosFallidos: d.pluginPatch.intentosFallidos ?? next.intentosFallidos,
        bloqueadoEn: d.pluginPatch.bloqueadoEn ?? next.bloqueadoEn,
      };
      next = { ...next, ...plan.pluginNext };
    }
    if (next !== plugin) plugins.set(pluginId, next);
    if (d.chatPatch && msg) {
      plan.chatNext = { ...(chat ?? EMPTY_CHAT), ...d.chatPatch };
      chats.set(chatKey(pluginId, msg.chatId), plan.chatNext);
    }
    plans.push(plan);
  }
  return plans;
}

/** True when writing `plan` needs nothing but its rows: no state change, no reads (the common case). */
export function onlyRows(plan: Plan): plan is WritePlan {
  return plan.kind === "write" && plan.rests === "linked" && !plan.link && !plan.pluginNext && !plan.chatNext && !plan.intent;
}
