/**
 * `irreversible`: the undo of an operator's action that has no `undo` (DESIGN.md: "a rollback that
 * would need it stops and says so"). When the action has a `check` and it exits non-zero, the
 * effect is not there (the action never got that far, or the operator undid it by hand) and there
 * is nothing to undo. Otherwise the step fails as irreversible: the executor stops the rollback
 * there rather than retry it, and the error names the action and the ways on.
 */
import { describeExit } from "../../drivers/driver.js";
import { type ActionOf, passed, type StepKind, type StepResult } from "./step-kind.js";

export const irreversible: StepKind<ActionOf<"irreversible">> = {
  async run(action, ctx) {
    const what = `action ${action.action}${ctx.step.host ? ` on ${ctx.step.host}` : ""} has no undo`;
    if (action.check === undefined) {
      return cannot(
        `${what} (nor a check to tell that its effect is gone), so ferry cannot roll back past it: \`ferry resume\` carries the hop forward`,
      );
    }
    const r = await ctx.driver.exec(action.check, {
      env: { ...ctx.env(false), FERRY_STEP: ctx.step.id },
      timeoutMs: ctx.step.timeoutMs,
      signal: ctx.signal,
    });
    // Only a check that ran and said no counts: one that could not run (126, 127), timed out or
    // was killed has not said that the effect is gone.
    const ran = !r.timedOut && !r.aborted && r.exitCode !== null && r.exitCode < 126;
    if (ran && r.exitCode !== 0)
      return passed(`the check of action ${action.action} says its effect is not there: nothing to undo\n`);
    const said = ran ? "says its effect is there" : `could not tell (${describeExit(r, ctx.step.timeoutMs)})`;
    return cannot(
      `${what}, and its check \`${action.check}\` ${said}: \`ferry resume\` carries the hop forward; or undo it by hand until the check exits non-zero, then \`ferry rollback\` undoes the rest`,
      r.output,
      r.exitCode,
    );
  },
};

function cannot(error: string, output = "", exitCode: number | null = null): StepResult {
  return { ok: false, error, output, exitCode, irreversible: true };
}
