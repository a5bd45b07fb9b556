/**
 * `exec`: a shell command on the step's host, with the FERRY_* values of its hop (of the way back
 * for an undo rendered with `back`) and FERRY_STEP. Its output goes to the run's listeners line
 * by line as it arrives; a non-zero exit, a timeout or a kill fails the step, saying which. Its
 * FERRY_PROCESS marker is how a resume after ferry died finds it, if it still runs, to end it.
 */
import { describeExit, lastLineOf, MARKER_VARIABLE } from "../../drivers/driver.js";
import { lineSplitter } from "../events.js";
import { type ActionOf, failed, passed, type StepKind } from "./step-kind.js";

export const runCommand: StepKind<ActionOf<"exec">> = {
  async run(action, ctx) {
    const { step, driver, events, runId, signal, marker } = ctx;
    const lines = lineSplitter((line) => events.emit({ type: "output", runId, id: step.id, line }));
    const r = await driver
      .exec(action.command, {
        env: { ...ctx.env(action.back === true), FERRY_STEP: step.id, [MARKER_VARIABLE]: marker },
        timeoutMs: step.timeoutMs,
        signal,
        onOutput: lines.push,
      })
      .finally(lines.end);
    if (r.exitCode === 0 && !r.timedOut && !r.aborted) return passed(r.output, 0);
    const last = lastLineOf(r.output);
    return failed(
      `\`${action.command}\` on ${step.host ?? "this machine"}: ${describeExit(r, step.timeoutMs)}${last ? `: ${last}` : ""}`,
      r.output,
      r.exitCode,
    );
  },
};
