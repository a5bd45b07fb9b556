/**
 * `wait-until`: runs a command on this machine until it exits 0 (a job queue that empties before
 * an offline hop stops anything), every `intervalMs`, for at most `deadlineMs`. Each try may run
 * as long as the step's timeout, but never longer than the whole deadline (and at least a second).
 */
import { describeExit, lastLineOf } from "../../drivers/driver.js";
import { type ActionOf, failed, passed, type StepKind } from "./step-kind.js";

export const waitUntil: StepKind<ActionOf<"wait-until">> = {
  async run(action, { step, driver, signal }) {
    const deadline = Date.now() + action.deadlineMs;
    const timeoutMs = Math.max(1000, Math.min(step.timeoutMs, action.deadlineMs));
    for (let tries = 1; ; tries++) {
      const r = await driver.exec(action.command, { timeoutMs, signal });
      if (r.exitCode === 0) return passed(`\`${action.command}\` passed after ${tries} tries\n`, 0);
      if (Date.now() + action.intervalMs > deadline || signal.aborted) {
        const last = lastLineOf(r.output);
        return failed(
          `\`${action.command}\` did not pass within ${action.deadlineMs} ms (${tries} tries; last: ${describeExit(r)}${last ? `: ${last}` : ""})`,
          r.output,
          r.exitCode,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, action.intervalMs));
    }
  },
};
