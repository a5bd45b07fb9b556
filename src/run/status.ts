/**
 * `ferry status` and `ferry history`: what the cluster runs now, and what ferry has done to it.
 */
import { type Cluster, onlineHosts } from "../cluster/cluster.js";
import { DriverPool } from "../drivers/driver-pool.js";
import { clusterMembers } from "../plan/build-plan.js";
import { POINT_OF_NO_RETURN } from "../plan/plan.js";
import type {
  Measurement,
  RunNote,
  RunStatus,
  RunSummary,
  StateStore,
  StepRecord,
  WarningAcceptance,
} from "../store/state-store.js";
import { describeHolder } from "./lock.js";
import { type Observation, observe } from "./observe.js";
import { waitingJson } from "./waiting.js";

export interface RunProgress {
  readonly id: string;
  readonly from: string;
  readonly to: string;
  readonly path: readonly string[];
  readonly status: RunStatus;
  readonly startedAt: string;
  readonly startedBy: string;
  /** The hop in progress (of its first step not done); null once every step is done. */
  readonly hop: { readonly from: string; readonly to: string } | null;
  /** Whether that hop has passed its point of no return: then only `resume` goes on. */
  readonly pastPointOfNoReturn: boolean;
  readonly steps: { readonly total: number } & Partial<Record<StepRecord["state"], number>>;
  /** Steps running now, or the ones that failed. */
  readonly current: readonly string[];
  /** Who holds the lock, when someone does. */
  readonly heldBy: string | null;
  readonly error: string | null;
  /** The release warnings accepted to start it: who, when, how, which. */
  readonly acceptedWarnings: WarningAcceptance | null;
  /** What was done to the run besides its steps (a host undone, an approval), oldest first. */
  readonly notes: readonly NoteEntry[];
  /** Every measurement of its metric gates, oldest first. */
  readonly measurements: readonly MeasurementEntry[];
  /** What the run waits for (an approval, a window, an alarm…); null when it does not wait. */
  readonly waiting: WaitingEntry;
}

/** A gate's measurement (Measurement) as status, history and the API show it: its time as ISO 8601. */
export interface MeasurementEntry {
  readonly step: string;
  readonly gate: string;
  readonly attempt: number;
  readonly at: string;
  readonly value: number | null;
  readonly verdict: Measurement["verdict"];
  readonly detail: string;
}

export function measurementEntry(m: Measurement): MeasurementEntry {
  return { ...m, at: new Date(m.at).toISOString() };
}

export type WaitingEntry = ReturnType<typeof waitingJson>;

/** A note of a run's history (RunNote) as status, history and the API show it: its time as ISO 8601. */
export interface NoteEntry {
  readonly at: string;
  readonly by: string;
  readonly kind: string;
  readonly text: string;
  /** The step it answers (an approval). */
  readonly step?: string;
}

/** The document `ferry status --json` prints (DESIGN.md). */
export interface ClusterStatus {
  readonly cluster: string;
  readonly version: string | null;
  readonly mixed: boolean;
  readonly members: readonly {
    readonly host: string;
    readonly component: string;
    readonly version: string | null;
    readonly healthy: boolean | null;
    readonly error?: string;
  }[];
  readonly run: RunProgress | null;
}

/**
 * The status document: the members as `given` (by default, asked now: version command and health
 * probe), and the unfinished run as the journal has it at this moment.
 */
export async function clusterStatus(
  cluster: Cluster,
  store: StateStore,
  given?: Observation,
): Promise<ClusterStatus> {
  const pool = given ? undefined : new DriverPool(onlineHosts(cluster));
  try {
    const seen =
      given ?? (await observe(clusterMembers(cluster), (pool as DriverPool).driverFor, { health: true }));
    const open = await store.unfinishedRun(cluster.name);
    let run: RunProgress | null = null;
    if (open) {
      const steps = await store.steps(open.id);
      const counts: Partial<Record<StepRecord["state"], number>> = {};
      for (const s of steps) counts[s.state] = (counts[s.state] ?? 0) + 1;
      const holder = await store.lockHolder(open.cluster);
      const live = holder && holder.leaseUntil > Date.now() ? holder : undefined;
      run = {
        id: open.id,
        from: open.from,
        to: open.to,
        path: open.path,
        status: open.status,
        startedAt: new Date(open.startedAt).toISOString(),
        startedBy: open.startedBy,
        steps: { total: steps.length, ...counts },
        ...currentHop(open.path, steps),
        current: steps
          .filter((s) => s.state === "running" || s.state === "undoing" || s.state === "failed")
          .map((s) => s.id),
        heldBy: live ? describeHolder(live) : null,
        error: open.error,
        acceptedWarnings: open.acceptedWarnings,
        notes: (await store.notes(open.id)).map(noteEntry),
        measurements: (await store.measurements(open.id)).map(measurementEntry),
        waiting: waitingJson(open.waiting),
      };
    }
    return { cluster: cluster.name, version: seen.version, mixed: seen.mixed, members: seen.members, run };
  } finally {
    await pool?.close();
  }
}

export interface HistoryEntry extends Omit<RunSummary, "startedAt" | "endedAt" | "waiting"> {
  readonly startedAt: string;
  readonly endedAt: string | null;
  readonly durationS: number | null;
  /** What was done to the run besides its steps (`ferry host undo`): who, when, what; oldest first. */
  readonly notes: readonly NoteEntry[];
  /** Every measurement of its metric gates, oldest first. */
  readonly measurements: readonly MeasurementEntry[];
  readonly waiting: WaitingEntry;
}

export async function runHistory(cluster: Cluster, store: StateStore): Promise<HistoryEntry[]> {
  const runs = await store.listRuns(cluster.name);
  return Promise.all(
    runs.map(async (r) => historyEntry(r, await store.notes(r.id), await store.measurements(r.id))),
  );
}

/** A run as `ferry history --json` and the API show it: times as ISO 8601, its duration in seconds. */
export function historyEntry(
  r: RunSummary,
  notes: readonly RunNote[],
  measurements: readonly Measurement[] = [],
): HistoryEntry {
  return {
    ...r,
    startedAt: new Date(r.startedAt).toISOString(),
    endedAt: r.endedAt === null ? null : new Date(r.endedAt).toISOString(),
    durationS: r.endedAt === null ? null : Math.round((r.endedAt - r.startedAt) / 100) / 10,
    notes: notes.map(noteEntry),
    measurements: measurements.map(measurementEntry),
    waiting: waitingJson(r.waiting),
  };
}

/**
 * The hop of the first step not done: step ids start with their hop's id, its target version, and
 * each hop's point of no return is the step `HOP/point-of-no-return`.
 */
function currentHop(
  path: readonly string[],
  steps: readonly StepRecord[],
): Pick<RunProgress, "hop" | "pastPointOfNoReturn"> {
  const current = steps.find((s) => s.state !== "done");
  if (!current) return { hop: null, pastPointOfNoReturn: false };
  const to = current.id.slice(0, current.id.indexOf("/"));
  const from = path[path.indexOf(to) - 1] ?? "";
  const past = steps.some((s) => s.id === `${to}/${POINT_OF_NO_RETURN}` && s.state === "done");
  return { hop: { from, to }, pastPointOfNoReturn: past };
}

function noteEntry(n: RunNote): NoteEntry {
  return {
    at: new Date(n.at).toISOString(),
    by: n.by,
    kind: n.kind,
    text: n.text,
    ...(n.step ? { step: n.step } : {}),
  };
}
