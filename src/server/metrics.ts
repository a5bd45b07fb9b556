/**
 * `GET /metrics` in Prometheus's text format (0.0.4), written by hand: a few gauges read from the
 * state store and the cluster at scrape time, and a histogram of step durations fed by the run
 * events this server sees (its own runs, and the store watcher's for the others).
 */
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
