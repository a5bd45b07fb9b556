/**
 * The `approval` step kind: the run waits for a person (`ferry approve`, the API, the dashboard),
 * whose answer is a note of the run about this step, journaled by whoever gave it. Polling the
 * journal rather than being told makes an answer given from any process, or while no ferry ran
 * (after `kill -9`), count alike. `--yes` never answers it. A rejection rolls the hop back.
 */
import type { RunNote } from "../../store/state-store.js";
import { hold } from "../waiting.js";
import { type ActionOf, holdResult, type StepKind } from "./step-kind.js";

/** How often the journal is read for an answer. */
const POLL_MS = 300;

export const APPROVAL_KINDS = ["approved", "rejected"] as const;

/** The answer given to the approval of `step`: the first one journaled counts. */
export function answerOf(notes: readonly RunNote[], step: string): RunNote | undefined {
  return notes.find((n) => n.step === step && (APPROVAL_KINDS as readonly string[]).includes(n.kind));
}

export const approvalGate: StepKind<ActionOf<"approval">> = {
  async run(action, ctx) {
    let rejected = false;
    const result = await hold(ctx.waiting, {
      for: "approval",
      intervalMs: POLL_MS,
      poll: async () => {
        const answer = answerOf(await ctx.notes(), ctx.step.id);
        if (!answer) return { go: false, detail: action.question };
        if (answer.kind === "approved") return { go: true, how: `approved by ${answer.by}` };
        rejected = true;
        return { fail: `rejected by ${answer.by}` };
      },
    });
    const r = holdResult(result);
    return rejected && !r.ok ? { ...r, rollback: true } : r;
  },
};
