/**
 * `soak`: after a batch is healthy, wait before its gates and the next batch (DESIGN.md "Gates").
 * The run is marked waiting for `soak` meanwhile. The wait counts from when the step first began
 * (StepContext.since, kept in the journal), so a run resumed after a crash or a pause waits only
 * what is left. A halt ends it early, `cut`: it stays running in the journal, and a resume takes
 * it up where it was.
 */
import { type ActionOf, passed, type StepKind, type StepResult } from "./step-kind.js";

export const soak: StepKind<ActionOf<"soak">> = {
  async run(action, { since, waiting, step }) {
    const left = since + action.ms - waiting.now();
    if (left <= 0) return passed(`soaked ${formatMs(action.ms)}\n`);
    const batch = /\/roll\/([^/]+)\/(batch-\d+)\//.exec(step.id);
    const detail = batch
      ? `${formatMs(action.ms)} after ${batch[2]?.replace("-", " ")} of ${batch[1]}`
      : formatMs(action.ms);
    await waiting.start({ for: "soak", detail });
    const ran = await waitFor(left, waiting.halted);
    await waiting.end(ran ? "soaked" : "the run halts");
    return ran ? passed(`soaked ${formatMs(action.ms)}\n`) : cutShort(action.ms, since, waiting.now());
  },
};

/** Waits `ms`, or until `halted`; true when the time ran out. */
export function waitFor(ms: number, halted: AbortSignal): Promise<boolean> {
  if (halted.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (ran: boolean) => {
      clearTimeout(timer);
      halted.removeEventListener("abort", stop);
      resolve(ran);
    };
    const stop = () => done(false);
    const timer = setTimeout(() => done(true), ms);
    halted.addEventListener("abort", stop, { once: true });
  });
}

function cutShort(ms: number, since: number, now: number): StepResult {
  const left = Math.max(0, since + ms - now);
  return {
    ok: false,
    cut: true,
    error: `soak cut short by the run stopping, ${formatMs(left)} of ${formatMs(ms)} left`,
    exitCode: null,
    output: "",
  };
}

/** 500ms, 1.5s, 30s. */
export function formatMs(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 100) / 10}s` : `${Math.round(ms)}ms`;
}
