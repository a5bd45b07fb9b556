/**
 * `--json` for `apply`, `resume` and `rollback`: one JSON event per line on stdout (NDJSON) and
 * nothing else there, ending with a `result` event that carries the outcome and the exit code.
 * Every event has `type`, `time` and `runId`; the others are the run's events as the library
 * types them (RunEvent), except `start`, which carries a summary of the plan (its hops, with
 * their release notes and warnings, and phases) rather than the whole plan: `ferry plan --json`
 * prints that.
 *
 * Lines are gathered and written together once the current burst of events is over, so a command
 * that prints a lot costs the executor one write per burst rather than one per line.
 */
import {
  forTerminal,
  hopOutlines,
  jsonForTerminal,
  type RunEvent,
  stepsDone,
  waitingJson,
} from "../index.js";
import type { ProgressSink } from "./progress.js";

export function jsonStream(out: NodeJS.WritableStream = process.stdout): ProgressSink & {
  result(value: Record<string, unknown>): void;
} {
  let buffer = "";
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (buffer === "") return;
    const text = buffer;
    buffer = "";
    out.write(text);
  };
  const push = (value: Record<string, unknown>) => {
    // Output lines stay as the host printed them, escaped: JSON is data, and this is its record.
    buffer += `${jsonForTerminal({ type: value.type, time: new Date().toISOString(), ...value })}\n`;
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
  return {
    listener: (event) => push(jsonEvent(event)),
    // A signal's message goes to stderr as usual: stdout holds events only.
    note: (text) => process.stderr.write(`${forTerminal(text)}\n`),
    finish: flush,
    result(value) {
      push({ type: "result", ...value });
      flush();
    },
  };
}

function jsonEvent(event: RunEvent): Record<string, unknown> {
  // What a run waits for is shown as `status --json` shows it: `since` in ISO 8601.
  if ((event.type === "wait" || event.type === "wait-ended" || event.type === "run") && event.waiting)
    return { ...event, waiting: waitingJson(event.waiting) };
  if (event.type !== "start") return { ...event };
  const { plan } = event;
  return {
    type: "start",
    runId: event.runId,
    operation: event.operation,
    cluster: plan.cluster,
    from: plan.from,
    to: plan.to,
    path: plan.path,
    steps: { total: event.states.size, done: stepsDone(event) },
    hops: hopOutlines(plan).map((hop, i) => ({
      ...hop,
      // Plans journaled before release notes were kept have none.
      notes: plan.hops[i]?.notes ?? [],
      warnings: plan.hops[i]?.warnings ?? [],
      phases: hop.phases.map((phase) => ({ ...phase, steps: phase.steps.length })),
    })),
  };
}
