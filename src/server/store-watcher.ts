/**
 * The live feed for runs this server does not drive (a `ferry apply` in a terminal, a ferry on
 * another machine sharing a PostgreSQL store): the state store is read every `intervalMs` and
 * what changed since the last read becomes the same typed events an executor emits. A step that
 * went from pending to done between two reads is reported once, done; a run first seen is
 * reported by its status alone (a client reads the rest from the API).
 */
import { type Plan, planSteps } from "../plan/plan.js";
import type { RunEvents } from "../run/events.js";
import {
  FINISHED_STATUSES,
  type RunStatus,
  type StateStore,
  type StepState,
  type Waiting,
} from "../store/state-store.js";

export interface WatchOptions {
  readonly store: StateStore;
  readonly cluster: string;
  readonly feed: RunEvents;
  /** Runs whose events reach the feed already (driven in this process). */
  readonly isLocal: (runId: string) => boolean;
  readonly intervalMs?: number;
  /** A read that failed; the next tick tries again. */
  readonly onError?: (err: unknown) => void;
}

interface Seen {
  status: RunStatus;
  waiting: Waiting | null;
  steps: Map<string, StepState>;
  about: Map<string, { host?: string; component?: string }>;
}

/** Starts watching; the returned function stops it. */
export function watchStore(options: WatchOptions): () => void {
  const { store, feed } = options;
  const seen = new Map<string, Seen>();
  let busy = false;
  /** The newest run at the last read; undefined before the first. */
  let newest: { id: string | null } | undefined;

  const tick = async () => {
    const open = await store.unfinishedRun(options.cluster);
    const runs = await store.listRuns(options.cluster);
    const ids = new Set(seen.keys());
    // Runs created since the last read, even those that ended before it (a run of a second).
    if (newest) {
      for (const r of runs) {
        if (r.id === newest.id) break;
        ids.add(r.id);
      }
    }
    newest = { id: runs[0]?.id ?? null };
    if (open) ids.add(open.id);
    for (const runId of ids) {
      const run = runId === open?.id ? open : await store.getRun(runId);
      if (!run) {
        seen.delete(runId);
        continue;
      }
      const steps = await store.steps(runId);
      const before = seen.get(runId);
      const now: Seen = {
        status: run.status,
        waiting: run.waiting,
        steps: new Map(steps.map((s) => [s.id, s.state])),
        about: before?.about ?? aboutSteps(run.plan),
      };
      const quiet = options.isLocal(runId);
      if (!before) {
        if (!quiet) {
          feed.emit({ type: "run", runId, status: run.status, ...(run.error ? { message: run.error } : {}) });
          // First seen already waiting (it got there between two reads): say so, as for a wait seen start.
          if (run.waiting) feed.emit({ type: "wait", runId, waiting: run.waiting });
        }
      } else if (!quiet) {
        for (const s of steps) {
          if (before.steps.get(s.id) === s.state) continue;
          const ended =
            (s.state === "done" || s.state === "failed") && s.startedAt !== null && s.endedAt !== null;
          feed.emit({
            type: "step",
            runId,
            id: s.id,
            state: s.state,
            ...now.about.get(s.id),
            ...(ended ? { durationMs: (s.endedAt as number) - (s.startedAt as number) } : {}),
            ...(s.error && (s.state === "failed" || s.state === "undone") ? { error: s.error } : {}),
          });
        }
        if (before.status !== run.status) {
          feed.emit({ type: "run", runId, status: run.status, ...(run.error ? { message: run.error } : {}) });
        }
        const was = before.waiting;
        if (was && (run.waiting === null || run.waiting.for !== was.for || run.waiting.step !== was.step))
          feed.emit({ type: "wait-ended", runId, waiting: was, how: "it waits no longer", at: Date.now() });
        if (run.waiting && JSON.stringify(run.waiting) !== JSON.stringify(was))
          feed.emit({ type: "wait", runId, waiting: run.waiting });
      }
      if (FINISHED_STATUSES.includes(run.status)) seen.delete(runId);
      else seen.set(runId, now);
    }
  };

  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    tick()
      .catch((err) => options.onError?.(err))
      .finally(() => {
        busy = false;
      });
  }, options.intervalMs ?? 500);
  timer.unref();
  return () => clearInterval(timer);
}

function aboutSteps(plan: unknown): Map<string, { host?: string; component?: string }> {
  const about = new Map<string, { host?: string; component?: string }>();
  if (!plan || typeof plan !== "object" || !("hops" in plan)) return about;
  for (const { step } of planSteps(plan as Plan)) {
    about.set(step.id, {
      ...(step.host ? { host: step.host } : {}),
      ...(step.component ? { component: step.component } : {}),
    });
  }
  return about;
}
