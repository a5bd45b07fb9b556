/**
 * `GET /api/runs/:id`: a run with every step (state, timings, exit code, the tail of its output)
 * and the shape of its plan (hops → phases → step ids), which the dashboard draws as a timeline.
 */
import { type HopOutline, hopOutlines, type Plan, planSteps } from "../plan/plan.js";
import { type HistoryEntry, historyEntry } from "../run/status.js";
import type { StateStore, StepState } from "../store/state-store.js";

export interface StepView {
  readonly id: string;
  readonly seq: number;
  readonly state: StepState;
  readonly host: string | null;
  readonly component: string | null;
  readonly startedAt: string | null;
  readonly endedAt: string | null;
  /** When a rollback or host undo undid it; `endedAt` stays the end of its run. */
  readonly undoneAt: string | null;
  readonly durationMs: number | null;
  readonly exitCode: number | null;
  readonly attempts: number;
  readonly error: string | null;
  readonly output: string | null;
}

export type HopView = HopOutline;

export interface RunDetail {
  readonly run: HistoryEntry & { readonly pauseRequestedBy: string | null };
  readonly hops: readonly HopView[];
  readonly steps: readonly StepView[];
}

export async function runDetail(store: StateStore, runId: string): Promise<RunDetail | undefined> {
  const record = await store.getRun(runId);
  if (!record) return undefined;
  const { plan, files: _files, ...summary } = record;
  const [steps, pauseRequestedBy, notes, measurements] = await Promise.all([
    store.steps(runId),
    store.pauseRequest(runId),
    store.notes(runId),
    store.measurements(runId),
  ]);
  const hops: HopView[] = isPlan(plan) ? hopOutlines(plan) : [];
  const about = new Map<string, { host?: string; component?: string }>();
  if (isPlan(plan)) {
    for (const { step } of planSteps(plan)) about.set(step.id, step);
  }
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return {
    run: { ...historyEntry(summary, notes, measurements), pauseRequestedBy },
    hops,
    steps: steps.map((s) => ({
      id: s.id,
      seq: s.seq,
      state: s.state,
      host: about.get(s.id)?.host ?? null,
      component: about.get(s.id)?.component ?? null,
      startedAt: iso(s.startedAt),
      endedAt: iso(s.endedAt),
      undoneAt: iso(s.undoneAt),
      // An undo's end is not the step's: a duration only for a step that ended by running.
      durationMs:
        (s.state === "done" || s.state === "failed") && s.startedAt !== null && s.endedAt !== null
          ? s.endedAt - s.startedAt
          : null,
      exitCode: s.exitCode,
      attempts: s.attempts,
      error: s.error,
      output: s.output,
    })),
  };
}

function isPlan(plan: unknown): plan is Plan {
  return typeof plan === "object" && plan !== null && Array.isArray((plan as Plan).hops);
}
