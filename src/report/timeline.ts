/**
 * What a run did over time, read from its journal: one bar per step that ran, on its host's row,
 * the hops' boundaries and points of no return, each member's time out of service. Plain data from
 * a pure function; `report-html.ts` draws it.
 */

import { describeWindow } from "../gates/window.js";
import { type Phase, type Plan, type PlannedHop, POINT_OF_NO_RETURN, planSteps } from "../plan/plan.js";
import type {
  Measurement,
  RunNote,
  RunRecord,
  StepRecord,
  StepState,
  Waiting,
} from "../store/state-store.js";

/** The row of the steps that run on ferry's own machine (cluster actions, migrations, marks). */
export const THIS_MACHINE = "this machine";

export interface TimelineBar {
  readonly step: string;
  /** Within its lane, as `plan` shows it: `activate`, `action/reload`. */
  readonly name: string;
  readonly host: string;
  readonly component: string | null;
  readonly hop: string;
  readonly phase: Phase["name"];
  readonly state: StepState;
  /**
   * It failed: a rollback then undoes it (state `undone`) but keeps its error, so the journal's
   * state alone would hide the step that turned the run back.
   */
  readonly failed: boolean;
  /** Epoch milliseconds: its run (the last, if it ran again after an undo). */
  readonly start: number;
  readonly end: number;
  /** When a rollback or a host undo undid it (or failed to); null if it was not. */
  readonly undoneAt: number | null;
  /** Still running when the report was made: its end is the report's time. */
  readonly open: boolean;
  readonly error: string | null;
  readonly output: string | null;
}

export interface TimelineHop {
  readonly id: string;
  readonly from: string;
  readonly to: string;
  readonly mode: PlannedHop["mode"];
  /** When its first step started; null if none did. */
  readonly start: number | null;
  readonly end: number | null;
  /** When its point of no return was passed; null if it was not. */
  readonly pointOfNoReturn: number | null;
}

/**
 * A member out of service in one hop: from its drain (or stop) to its undrain (or being healthy
 * again), or to the undo of its drain (or stop) when the hop was rolled back.
 */
export interface OutOfService {
  readonly hop: string;
  readonly host: string;
  readonly component: string;
  readonly start: number;
  /** null: it never came back within this run. */
  readonly end: number | null;
  /** It came back on the release it ran, by a rollback or a host undo. */
  readonly undone: boolean;
}

export interface Timeline {
  readonly run: {
    readonly id: string;
    readonly cluster: string;
    readonly from: string;
    readonly to: string;
    readonly path: readonly string[];
    readonly status: RunRecord["status"];
    readonly startedBy: string;
    readonly startedAt: number;
    readonly endedAt: number | null;
    readonly error: string | null;
  };
  /** Rows in the order the plan first names their host, this machine first when it has steps. */
  readonly hosts: readonly string[];
  /** In the order they started. */
  readonly bars: readonly TimelineBar[];
  readonly hops: readonly TimelineHop[];
  readonly outOfService: readonly OutOfService[];
  readonly notes: readonly RunNote[];
  /** Each metric gate's measurements (value, time, verdict), oldest first. */
  readonly measurements: readonly Measurement[];
  /** The maintenance window the run kept to, in words; null: none. */
  readonly window: string | null;
  /** What the run waits for now, if it does. */
  readonly waiting: Waiting | null;
  /** The span drawn: the run's start to its end (or the report's time). */
  readonly start: number;
  readonly end: number;
}

/** Where a member leaves service and comes back, by step name, first found first. */
const OUT = ["drain", "stop"];
const BACK = ["undrain", "health", "start"];

export function buildTimeline(
  run: RunRecord,
  steps: readonly StepRecord[],
  notes: readonly RunNote[],
  now: number,
  measurements: readonly Measurement[] = [],
): Timeline {
  const plan = run.plan as Plan;
  const records = new Map(steps.map((s) => [s.id, s]));
  const hosts = new Set<string>();
  const bars: TimelineBar[] = [];
  const members = new Map<
    string,
    { hop: string; host: string; component: string; byName: Map<string, StepRecord> }
  >();

  for (const { hop, phase, step } of planSteps(plan)) {
    const host = step.host ?? THIS_MACHINE;
    hosts.add(host);
    const r = records.get(step.id);
    if (!r || r.startedAt === null) continue;
    // A step undone while it ran (a rollback after a crash) has no end of its own: its undo ends it.
    const end = r.endedAt ?? r.undoneAt;
    const open = end === null;
    bars.push({
      step: step.id,
      name: step.name,
      host,
      component: step.component ?? null,
      hop: hop.id,
      phase: phase.name,
      state: r.state,
      failed: r.state === "failed" || (r.state === "undone" && r.error !== null),
      start: r.startedAt,
      end: end ?? Math.max(now, r.startedAt),
      undoneAt: r.undoneAt,
      open,
      error: r.error,
      output: r.output,
    });
    if (step.host && step.component) {
      const key = `${hop.id} ${step.component}@${step.host}`;
      const m = members.get(key) ?? {
        hop: hop.id,
        host: step.host,
        component: step.component,
        byName: new Map(),
      };
      m.byName.set(step.name, r);
      members.set(key, m);
    }
  }
  bars.sort((a, b) => a.start - b.start);
  // This machine's row first: its steps frame the hosts' (preflight before, migrations between).
  const rows = hosts.has(THIS_MACHINE)
    ? [THIS_MACHINE, ...[...hosts].filter((h) => h !== THIS_MACHINE)]
    : [...hosts];
  const used = new Set(bars.map((b) => b.host));

  const end =
    run.endedAt ??
    measurements.reduce(
      (m, x) => Math.max(m, x.at),
      bars.reduce((m, b) => Math.max(m, b.end, b.undoneAt ?? 0), now),
    );
  return {
    run: {
      id: run.id,
      cluster: run.cluster,
      from: run.from,
      to: run.to,
      path: run.path,
      status: run.status,
      startedBy: run.startedBy,
      startedAt: run.startedAt,
      endedAt: run.endedAt,
      error: run.error,
    },
    hosts: rows.filter((h) => used.has(h) || h !== THIS_MACHINE),
    bars,
    hops: plan.hops.map((hop) => hopSpan(hop, bars, records)),
    outOfService: [...members.values()].flatMap((m): OutOfService[] => {
      const out = OUT.map((n) => m.byName.get(n)).find((r) => r?.startedAt != null);
      if (!out || out.startedAt === null) return [];
      if (out.state === "undone" && out.undoneAt !== null) {
        return [{ ...where(m), start: out.startedAt, end: out.undoneAt, undone: true }];
      }
      const back = BACK.map((n) => m.byName.get(n)).find((r) => r?.state === "done" && r.endedAt !== null);
      return [{ ...where(m), start: out.startedAt, end: back?.endedAt ?? null, undone: false }];
    }),
    notes,
    measurements,
    window: plan.window ? describeWindow(plan.window) : null,
    waiting: run.waiting,
    start: run.startedAt,
    end: Math.max(end, run.startedAt + 1),
  };
}

function where(m: { hop: string; host: string; component: string }) {
  return { hop: m.hop, host: m.host, component: m.component };
}

function hopSpan(
  hop: PlannedHop,
  bars: readonly TimelineBar[],
  records: ReadonlyMap<string, StepRecord>,
): TimelineHop {
  const own = bars.filter((b) => b.hop === hop.id);
  const ponr = records.get(`${hop.id}/${POINT_OF_NO_RETURN}`);
  return {
    id: hop.id,
    from: hop.from,
    to: hop.to,
    mode: hop.mode,
    start: own.length ? own.reduce((m, b) => Math.min(m, b.start), Number.POSITIVE_INFINITY) : null,
    end: own.length ? own.reduce((m, b) => Math.max(m, b.end), 0) : null,
    pointOfNoReturn: ponr?.state === "done" ? (ponr.endedAt ?? ponr.startedAt) : null,
  };
}
