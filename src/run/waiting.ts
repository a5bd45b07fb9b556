/**
 * A run's waiting state (DESIGN.md "Gates"): a gate that holds the run (an approval, a window, a
 * soak, an alarm, a metric gate) marks it waiting in the journal, with what for, since when and
 * in words what it waits on. Status, the API and the dashboard read it from the store, so every
 * process sees it; a resume after `kill -9` that waits again at the same step for the same thing
 * keeps the original `since`.
 *
 * A step kind waits through `ctx.waiting` (WaitingSlot) and `hold` below, which also gives up
 * when the run halts (a pause, a signal, another step's failure): the step then goes back to
 * pending, and a resume waits again.
 */
import type { Waiting, WaitingFor } from "../store/state-store.js";

export type { Waiting, WaitingFor };

export const WAITING_FOR: readonly WaitingFor[] = ["approval", "window", "soak", "alarm", "gate"];

/** What a step kind sees of the run's waiting state. */
export interface WaitingSlot {
  /**
   * Marks the run waiting for `what`, journaled before it resolves, and tells the listeners (one
   * line off a terminal). When the run already waited for the same thing at the same step (a
   * resume after a crash), its `since` is kept. Calling it again while waiting updates the detail.
   */
  start(what: { readonly for: WaitingFor; readonly detail: string }): Promise<Waiting>;
  /** Ends the wait this step started, saying how (`approved by ann`); nothing when it started none. */
  end(how: string): Promise<void>;
  /** Aborted when the run halts (pause, signal, lost lock, another step failed): stop waiting. */
  readonly halted: AbortSignal;
  /** Epoch milliseconds now (injectable in unit tests only). */
  now(): number;
}

/** What a `hold` poll says: go on, keep waiting (with what it waits on now), or fail the step. */
export type HoldVerdict =
  | { readonly go: true; readonly how: string }
  | { readonly go: false; readonly detail: string }
  | { readonly fail: string };

export interface HoldSpec {
  readonly for: WaitingFor;
  /** Asked first at once, then every `intervalMs`, until it says go or fail. */
  poll(): Promise<HoldVerdict>;
  readonly intervalMs: number;
  /**
   * Fails the step once the run has waited this long (counted from `since`, so across a resume);
   * 0: fails at once, without marking the run waiting.
   */
  readonly deadlineMs?: number;
}

/** How a hold ended. `halted`: the run halts; the step did not happen and goes back to pending. */
export type HoldResult =
  | { readonly kind: "go"; readonly how: string }
  | { readonly kind: "fail"; readonly error: string }
  | { readonly kind: "halted" };

/**
 * Waits while `spec.poll` says so: the run is marked waiting only once it does have to wait
 * (a gate that passes at once leaves no trace), and the mark is ended whatever happens.
 */
export async function hold(slot: WaitingSlot, spec: HoldSpec): Promise<HoldResult> {
  let waiting: Waiting | undefined;
  let outcome = "it stopped waiting";
  try {
    for (;;) {
      if (slot.halted.aborted) {
        outcome = "the run halts";
        return { kind: "halted" };
      }
      const verdict = await spec.poll();
      if ("fail" in verdict) {
        outcome = verdict.fail;
        return { kind: "fail", error: verdict.fail };
      }
      if (verdict.go) {
        outcome = verdict.how;
        return { kind: "go", how: verdict.how };
      }
      if (spec.deadlineMs === 0) {
        // No time to wait at all (`ferry check`): what would hold the run fails it.
        outcome = `${spec.for} would hold the run: ${verdict.detail}`;
        return { kind: "fail", error: outcome };
      }
      if (waiting === undefined || waiting.detail !== verdict.detail)
        waiting = await slot.start({ for: spec.for, detail: verdict.detail });
      if (spec.deadlineMs !== undefined && slot.now() - waiting.since >= spec.deadlineMs) {
        const error = `waited ${formatWait(spec.deadlineMs)} for ${spec.for} (${verdict.detail}), its deadline`;
        outcome = error;
        return { kind: "fail", error };
      }
      await pause(spec.intervalMs, slot.halted);
    }
  } finally {
    // Also when this attempt did not have to wait: a resume may find the wait of the attempt
    // before it journaled (answered while no ferry ran), and it is over now.
    await slot.end(outcome);
  }
}

/** Resolves after `ms`, or as soon as `signal` is aborted. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

/** `run.waiting` as `status --json` and the API show it: `since` in ISO 8601. */
export function waitingJson(w: Waiting | null): {
  for: WaitingFor;
  since: string;
  detail: string;
  step: string | null;
} | null {
  return w && { for: w.for, since: new Date(w.since).toISOString(), detail: w.detail, step: w.step };
}

/** One line for a wait that starts: `waiting for approval since 12:00:03Z: approve 1.1.0/roll/api/approve/before`. */
export function waitingLine(w: Waiting): string {
  return `waiting for ${w.for}${w.step ? ` at ${w.step}` : ""}: ${w.detail}`;
}

/** One line for a wait that ends, with how it ended and how long it lasted. */
export function waitEndedLine(w: Waiting, how: string, now: number): string {
  return `no longer waiting for ${w.for}${w.step ? ` at ${w.step}` : ""} (${formatWait(now - w.since)}): ${how}`;
}

/** 45s, 3m, 2h05m. */
export function formatWait(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${s % 60 ? `${String(s % 60).padStart(2, "0")}s` : ""}`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}
