// Unit tests of the planner (webhook/plan.ts): a batch of updates planned at once must mean what
// planning them one by one, each on the state the previous one left, would mean.
import { describe, it } from "node:test";
import assert from "node:assert/strict";

import { planBatch, onlyRows, chatKey, type Plan, type PlanJob, type WritePlan } from "../../src/webhook/plan.ts";
import type { PluginState } from "../../src/plugins/state.ts";
import { parseUpdate, type ParsedUpdate } from "../../src/telegram/update.ts";
import { EMPTY_CHAT as EMPTY, LIMITS } from "../../src/webhook/decide.ts";

const NOW = 1_700_000_000_000;
const CODE = "JOE-A1B2";
const OWNER = 424242;

const plugin = (over: Partial<PluginState> = {}): PluginState => ({
  id: 7,
  usuarioId: 3,
  identificador: "@joe_bot",
  codigoVerificacion: CODE,
  verificado: false,
  chatIdVerificado: null,
  intentosFallidos: 0,
  bloqueadoEn: null,
  ...over,
});

function update(updateId: number, chatId: number, text: string, messageId = updateId + 100): ParsedUpdate {
  const r = parseUpdate({
    update_id: updateId,
    message: { message_id: messageId, date: 1, chat: { id: chatId, type: "private" }, from: { id: chatId, is_bot: false }, text },
  });
  if (!r.ok) throw new Error(r.error);
  return r.update;
}
const jobs = (...updates: ParsedUpdate[]): PlanJob[] => updates.map((u, index) => ({ index, pluginId: 7, update: u }));
const writes = (plans: Plan[]) => plans.filter((p): p is WritePlan => p.kind === "write");

describe("planBatch", () => {
  it("plans in update_id order whatever order the batch holds, and gives each plan its batch index", () => {
    const p = plugin({ verificado: true, chatIdVerificado: OWNER });
    const plans = planBatch(jobs(update(12, OWNER, "b"), update(11, OWNER, "a")), { plugins: new Map([[7, p]]), chats: new Map() }, NOW);
    assert.deepEqual(
      plans.map((x) => [x.updateId, x.index]),
      [
        [11, 1],
        [12, 0],
      ],
    );
    assert.ok(plans.every(onlyRows), "linked-chat messages only write rows");
  });

  it("the same update twice in a batch: the second is planned as a duplicate", () => {
    const p = plugin({ verificado: true, chatIdVerificado: OWNER });
    const u = update(20, OWNER, "una vez");
    const plans = planBatch(jobs(u, u), { plugins: new Map([[7, p]]), chats: new Map() }, NOW);
    assert.deepEqual(
      plans.map((x) => x.kind),
      ["write", "duplicate"],
    );
  });

  it("a /start with the code, then a message from that chat in the same batch: linked, then a task resting on the link", () => {
    const p = plugin();
    const plans = planBatch(
      jobs(update(30, OWNER, `/start ${CODE}`), update(31, OWNER, "primera tarea")),
      { plugins: new Map([[7, p]]), chats: new Map([[chatKey(7, OWNER), EMPTY]]) },
      NOW,
    );
    const [link, task] = writes(plans);
    assert.equal(link!.outcome, "linked");
    assert.deepEqual(link!.link, { chatId: OWNER });
    assert.equal(link!.rests, "linking");
    assert.equal(task!.outcome, "task");
    assert.equal(task!.rests, "linked", "decided on the state the link leaves");
    assert.equal(task!.task?.titulo, "primera tarea");
  });

  it("wrong codes from two chats in one batch count one after the other (bot counter carried, each chat its own)", () => {
    const p = plugin({ intentosFallidos: 4 });
    const a = 5001;
    const b = 5002;
    const chats = new Map([
      [chatKey(7, a), EMPTY],
      [chatKey(7, b), EMPTY],
    ]);
    const plans = writes(
      planBatch(
        jobs(update(40, a, "/start JOE-XXXX"), update(41, b, "/start JOE-YYYY"), update(42, a, "/start JOE-ZZZZ")),
        { plugins: new Map([[7, p]]), chats },
        NOW,
      ),
    );
    assert.deepEqual(
      plans.map((x) => x.pluginNext?.intentosFallidos),
      [5, 6, 7],
    );
    assert.deepEqual(
      plans.map((x) => x.chatNext?.failedStarts),
      [1, 1, 2],
    );
    assert.deepEqual(plans[2]!.decidedOn.intentosFallidos, 6, "the third is decided on the counter the second left");
    assert.deepEqual(plans[2]!.chatBefore?.failedStarts, 1);
  });

  it("the bot locks at its limit within one batch, and the next guess is told it is locked", () => {
    const p = plugin({ intentosFallidos: LIMITS.botFailures - 1 });
    const c = 6001;
    const plans = writes(
      planBatch(
        jobs(update(50, c, "/start JOE-XXXX"), update(51, c + 1, `/start ${CODE}`)),
        {
          plugins: new Map([[7, p]]),
          chats: new Map([
            [chatKey(7, c), EMPTY],
            [chatKey(7, c + 1), EMPTY],
          ]),
        },
        NOW,
      ),
    );
    assert.equal(plans[0]!.outcome, "wrong_code:bot_locked");
    assert.equal(plans[1]!.outcome, "warned:bot_locked", "even the right code is not looked at while the bot is locked");
    assert.equal(plans[1]!.link, undefined);
  });

  it("what it cannot decide on the state given is left for the writer: an unknown plugin, a stranger's chat without its counters", () => {
    const p = plugin({ verificado: true, chatIdVerificado: OWNER });
    assert.equal(planBatch(jobs(update(60, OWNER, "x")), { plugins: new Map(), chats: new Map() }, NOW)[0]!.kind, "needs_state");
    assert.equal(planBatch(jobs(update(61, 999, "x")), { plugins: new Map([[7, p]]), chats: new Map() }, NOW)[0]!.kind, "needs_state");
    assert.equal(planBatch(jobs(update(62, OWNER, "x")), { plugins: new Map([[7, null]]), chats: new Map() }, NOW)[0]!.kind, "plugin_gone");
  });
});
