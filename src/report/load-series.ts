/**
 * The demo's load, second by second over the upgrade's span, from the requests it recorded: what
 * `ferry demo --report` charts. A request counts in the second it was sent, within the same span
 * and by the same rule as the demo's JSON report (`at` from the first step's start to the last
 * step's end, both included), so the series sum to its totals.
 */

/** One request as the load generator recorded it. */
export interface LoadSample {
  /** Wall clock when it was sent (epoch ms). */
  readonly at: number;
  readonly ms: number;
  readonly ok: boolean;
}

export interface LoadSeries {
  /** The span, epoch ms. */
  readonly from: number;
  readonly to: number;
  /** Each second's start, epoch ms. */
  readonly seconds: readonly number[];
  readonly requests: readonly number[];
  readonly failures: readonly number[];
  /** Latency of the requests sent in that second; null when none was. */
  readonly p50Ms: readonly (number | null)[];
  readonly p99Ms: readonly (number | null)[];
  /** Jobs the product finished in that second. */
  readonly jobsDone: readonly number[];
}

export function buildLoadSeries(
  samples: readonly LoadSample[],
  jobsDoneAt: readonly number[],
  window: { readonly from: number; readonly to: number },
): LoadSeries {
  const n = Math.max(1, Math.ceil((window.to - window.from + 1) / 1000));
  const bucket = (at: number) => Math.min(n - 1, Math.floor((at - window.from) / 1000));
  const inside = (at: number) => at >= window.from && at <= window.to;
  const requests = new Array<number>(n).fill(0);
  const failures = new Array<number>(n).fill(0);
  const jobsDone = new Array<number>(n).fill(0);
  const latencies: number[][] = Array.from({ length: n }, () => []);
  for (const s of samples) {
    if (!inside(s.at)) continue;
    const i = bucket(s.at);
    requests[i] = (requests[i] ?? 0) + 1;
    if (!s.ok) failures[i] = (failures[i] ?? 0) + 1;
    latencies[i]?.push(s.ms);
  }
  for (const at of jobsDoneAt) {
    if (!inside(at)) continue;
    const i = bucket(at);
    jobsDone[i] = (jobsDone[i] ?? 0) + 1;
  }
  const sorted = latencies.map((l) => l.sort((a, b) => a - b));
  return {
    from: window.from,
    to: window.to,
    seconds: Array.from({ length: n }, (_, i) => window.from + i * 1000),
    requests,
    failures,
    p50Ms: sorted.map((l) => percentile(l, 0.5)),
    p99Ms: sorted.map((l) => percentile(l, 0.99)),
    jobsDone,
  };
}

/** The nearest-rank percentile, as the demo's report computes it; null for no value. */
function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const value = sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] as number;
  return Math.round(value * 10) / 10;
}
