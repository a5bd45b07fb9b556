/**
 * `GET /metrics` in Prometheus's text format (0.0.4), written by hand: a few gauges read from the
 * state store and the cluster at scrape time, and a histogram of step durations fed by the run
 * events this server sees (its own runs, and the store watcher's for the others).
 */
import { CLUSTER_STATES, type FleetRunView } from "../fleet/fleet-view.js";
import type { RunEvent } from "../run/events.js";
import type { RunSummary, StepRecord, StepState } from "../store/state-store.js";

const STEP_STATES: readonly StepState[] = ["pending", "running", "done", "failed", "undoing", "undone"];
/** Seconds: from a quick mark to a slow health gate or a long data migration. */
const BUCKETS = [0.1, 0.5, 1, 5, 15, 60, 300, 1800] as const;

interface Histogram {
  counts: number[];
  sum: number;
  count: number;
}

/** Durations of the steps that ended while the server ran, by phase (`roll`, `verify`, …). */
export class StepDurations {
  readonly #byPhase = new Map<string, Histogram>();

  /** A listener for the server's feed. */
  readonly listener = (event: RunEvent): void => {
    if (event.type !== "step" || event.durationMs === undefined) return;
    this.observe(phaseOf(event.id), event.durationMs / 1000);
  };

  observe(phase: string, seconds: number): void {
    let h = this.#byPhase.get(phase);
    if (!h) {
      h = { counts: BUCKETS.map(() => 0), sum: 0, count: 0 };
      this.#byPhase.set(phase, h);
    }
    BUCKETS.forEach((le, i) => {
      if (seconds <= le) (h.counts[i] as number)++;
    });
    h.sum += seconds;
    h.count++;
  }

  lines(): string[] {
    const out = [
      "# HELP ferry_step_duration_seconds How long steps took, by phase (steps that ended while this server ran).",
      "# TYPE ferry_step_duration_seconds histogram",
    ];
    for (const [phase, h] of [...this.#byPhase].sort(([a], [b]) => a.localeCompare(b))) {
      BUCKETS.forEach((le, i) => {
        out.push(`ferry_step_duration_seconds_bucket{phase=${label(phase)},le="${le}"} ${h.counts[i]}`);
      });
      out.push(`ferry_step_duration_seconds_bucket{phase=${label(phase)},le="+Inf"} ${h.count}`);
      out.push(`ferry_step_duration_seconds_sum{phase=${label(phase)}} ${round(h.sum)}`);
      out.push(`ferry_step_duration_seconds_count{phase=${label(phase)}} ${h.count}`);
    }
    return out;
  }
}

export interface MetricsInput {
  /** The steps of the newest run, or none. */
  readonly steps: readonly StepRecord[];
  /** What every member reports; version null when it could not tell. */
  readonly members: readonly { readonly component: string; readonly version: string | null }[];
  readonly runs: readonly RunSummary[];
  readonly durations: StepDurations;
}

export function renderMetrics(input: MetricsInput): string {
  const lines: string[] = [
    "# HELP ferry_steps Steps of the newest run, by state.",
    "# TYPE ferry_steps gauge",
    ...STEP_STATES.map(
      (state) => `ferry_steps{state="${state}"} ${input.steps.filter((s) => s.state === state).length}`,
    ),
    ...input.durations.lines(),
    "# HELP ferry_hosts Members (a component on a host) by component and the version they report.",
    "# TYPE ferry_hosts gauge",
  ];
  for (const [key, n] of tally(input.members.map((m) => [m.component, m.version ?? "unknown"]))) {
    const [component, version] = JSON.parse(key) as [string, string];
    lines.push(`ferry_hosts{component=${label(component)},version=${label(version)}} ${n}`);
  }
  lines.push(
    "# HELP ferry_runs Runs of this cluster in the journal, by result (status).",
    "# TYPE ferry_runs gauge",
  );
  for (const [key, n] of tally(input.runs.map((r) => [r.status]))) {
    lines.push(`ferry_runs{result=${label((JSON.parse(key) as [string])[0])}} ${n}`);
  }
  return `${lines.join("\n")}\n`;
}

/**
 * `ferry serve -f fleet.yaml`'s series: the newest fleet run's clusters by group and state (every
 * state, zeros included, so a rate or an alert sees a cluster leave one), its status, its limits
 * and how many lapsed claims were taken over. No fleet run yet: the status series alone, at 0.
 */
export function renderFleetMetrics(fleet: string, view: FleetRunView | null): string {
  const f = `fleet=${label(fleet)}`;
  const lines: string[] = [
    "# HELP ferry_fleet_clusters Clusters of the newest fleet run, by group and state.",
    "# TYPE ferry_fleet_clusters gauge",
  ];
  for (const g of view?.groups ?? []) {
    for (const state of CLUSTER_STATES)
      lines.push(`ferry_fleet_clusters{${f},group=${label(g.name)},state="${state}"} ${g.counts[state]}`);
  }
  lines.push(
    "# HELP ferry_fleet_run The newest fleet run: 1, labelled with its id, target and status.",
    "# TYPE ferry_fleet_run gauge",
    view
      ? `ferry_fleet_run{${f},run=${label(view.fleetRunId)},target=${label(view.target)},status=${label(view.status)}} 1`
      : `ferry_fleet_run{${f},run="",target="",status="none"} 0`,
  );
  if (!view) return `${lines.join("\n")}\n`;
  const failed = view.counts.failed + view.counts["rolled-back"];
  const live = view.counts.claimed + view.counts.running;
  const takeovers = view.groups.flatMap((g) => g.clusters).reduce((n, c) => n + c.takeovers, 0);
  lines.push(
    "# HELP ferry_fleet_failed_clusters Clusters of the newest fleet run that failed (rolled back or not).",
    "# TYPE ferry_fleet_failed_clusters gauge",
    `ferry_fleet_failed_clusters{${f}} ${failed}`,
    "# HELP ferry_fleet_max_failures Failed clusters that stop the fleet run (maxFailures, counted out).",
    "# TYPE ferry_fleet_max_failures gauge",
    `ferry_fleet_max_failures{${f}} ${view.strategy.maxFailures}`,
    "# HELP ferry_fleet_live_clusters Cluster runs claimed or running now, lapsed claims included.",
    "# TYPE ferry_fleet_live_clusters gauge",
    `ferry_fleet_live_clusters{${f}} ${live}`,
    "# HELP ferry_fleet_max_parallel At most this many cluster runs at once (maxParallel).",
    "# TYPE ferry_fleet_max_parallel gauge",
    `ferry_fleet_max_parallel{${f}} ${view.strategy.maxParallel}`,
    "# HELP ferry_fleet_takeovers Lapsed claims of the newest fleet run taken over by another worker.",
    "# TYPE ferry_fleet_takeovers gauge",
    `ferry_fleet_takeovers{${f}} ${takeovers}`,
  );
  return `${lines.join("\n")}\n`;
}

/** `1.0.1/roll/api/h2/activate` → `roll`. */
function phaseOf(stepId: string): string {
  return stepId.split("/")[1] ?? stepId;
}

function tally(keys: readonly (readonly string[])[]): [string, number][] {
  const counts = new Map<string, number>();
  for (const k of keys) counts.set(JSON.stringify(k), (counts.get(JSON.stringify(k)) ?? 0) + 1);
  return [...counts].sort(([a], [b]) => a.localeCompare(b));
}

/** A label value, quoted and escaped as the text format wants. */
function label(value: string): string {
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
