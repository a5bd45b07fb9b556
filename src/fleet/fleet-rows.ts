/**
 * The fleet tables' rows as both SQL stores return them (PostgreSQL's bigint as a string, SQLite's
 * as a number), turned into the fleet store's records; and the counts the claim rules read.
 */
import type { GroupCounts } from "./claim-rules.js";
import type {
  ClaimedClusterRun,
  ClusterRunState,
  ClusterRunSummary,
  FleetRunRecord,
  FleetStatus,
  NewClusterRun,
  RunStrategy,
} from "./fleet-store.js";

type Int = string | number;

export interface FleetRunRow {
  id: string;
  fleet: string;
  target: string;
  strategy: string | RunStrategy;
  status: string;
  reason: string | null;
  created_by: string;
  created_at: Int;
  ended_at: Int | null;
}

export interface ClusterRunRow {
  fleet_run_id: string;
  cluster: string;
  ord: number;
  grp: string;
  state: string;
  version: string | null;
  worker: string | null;
  lease_until: Int | null;
  claimed_at: Int | null;
  started_at: Int | null;
  ended_at: Int | null;
  run_id: string | null;
  error: string | null;
  takeovers: number;
  file: string;
}

export interface ClaimRow extends ClusterRunRow {
  target: string;
  cluster_text: string;
  catalog_file: string;
  catalog_text: string;
}

/** The columns of a summary, without the file texts. */
export const SUMMARY_COLUMNS =
  "fleet_run_id, cluster, ord, grp, state, version, worker, lease_until, claimed_at, started_at, ended_at, run_id, error, takeovers, file";

const num = (v: Int | null): number | null => (v === null || v === undefined ? null : Number(v));

export function toFleetRun(r: FleetRunRow): FleetRunRecord {
  return {
    id: r.id,
    fleet: r.fleet,
    target: r.target,
    strategy: typeof r.strategy === "string" ? JSON.parse(r.strategy) : r.strategy,
    status: r.status as FleetStatus,
    reason: r.reason,
    createdBy: r.created_by,
    createdAt: Number(r.created_at),
    endedAt: num(r.ended_at),
  };
}

export function toClusterRun(r: ClusterRunRow): ClusterRunSummary {
  return {
    fleetRunId: r.fleet_run_id,
    cluster: r.cluster,
    group: r.grp,
    ord: Number(r.ord),
    state: r.state as ClusterRunState,
    version: r.version,
    worker: r.worker,
    leaseUntil: num(r.lease_until),
    claimedAt: num(r.claimed_at),
    startedAt: num(r.started_at),
    endedAt: num(r.ended_at),
    runId: r.run_id,
    error: r.error,
    takeovers: Number(r.takeovers),
    file: r.file,
  };
}

export function toClaim(r: ClaimRow, tookOverFrom: string | null): ClaimedClusterRun {
  return {
    ...toClusterRun(r),
    target: r.target,
    clusterText: r.cluster_text,
    catalogFile: r.catalog_file,
    catalogText: r.catalog_text,
    tookOverFrom,
  };
}

export interface CountRow {
  grp_ord: number;
  pending: Int;
  live: Int;
  lapsed: Int;
  failed: Int;
  done: Int;
  unreached: Int;
  last_ended: Int | null;
}

/** `SELECT … GROUP BY grp_ord` over a fleet run's cluster runs; `?now` is where the store puts its clock. */
export function countsSql(table: string, fleetParam: string, nowParam: string): string {
  return `SELECT grp_ord,
      sum(CASE WHEN state = 'pending' THEN 1 ELSE 0 END) AS pending,
      sum(CASE WHEN state IN ('claimed', 'running') THEN 1 ELSE 0 END) AS live,
      sum(CASE WHEN state IN ('claimed', 'running') AND lease_until < ${nowParam} THEN 1 ELSE 0 END) AS lapsed,
      sum(CASE WHEN state IN ('failed', 'rolled-back') THEN 1 ELSE 0 END) AS failed,
      sum(CASE WHEN state = 'done' THEN 1 ELSE 0 END) AS done,
      sum(CASE WHEN state IN ('refused', 'aborted') THEN 1 ELSE 0 END) AS unreached,
      max(ended_at) AS last_ended
    FROM ${table} WHERE fleet_run_id = ${fleetParam} GROUP BY grp_ord`;
}

/** One entry per group of the strategy, in its order; a group without cluster runs counts zero. */
export function toCounts(groups: number, rows: readonly CountRow[]): GroupCounts[] {
  const counts: GroupCounts[] = Array.from({ length: groups }, () => ({
    pending: 0,
    live: 0,
    lapsed: 0,
    failed: 0,
    done: 0,
    unreached: 0,
    lastEndedAt: null,
  }));
  for (const r of rows) {
    counts[r.grp_ord] = {
      pending: Number(r.pending),
      live: Number(r.live),
      lapsed: Number(r.lapsed),
      failed: Number(r.failed),
      done: Number(r.done),
      unreached: Number(r.unreached),
      lastEndedAt: num(r.last_ended),
    };
  }
  return counts;
}

/**
 * Why a fleet stopped on failures (`maxFailures` given) or ended without every cluster at the target:
 * the clusters and their reasons, in words.
 */
export function failuresReason(
  maxFailures: number | null,
  failed: readonly { cluster: string; error: string | null }[],
): string {
  const list = failed.map((f) => `${f.cluster}: ${f.error ?? "failed"}`).join("; ");
  return maxFailures === null
    ? `${failed.length} cluster(s) did not reach the target — ${list}`
    : `stopped: ${failed.length} cluster(s) failed, maxFailures ${maxFailures} reached — ${list}`;
}

/** The error of a cluster run that an aborted fleet run never started. */
export const NOT_STARTED_ABORTED = "not started: the fleet run was aborted";

/**
 * A fleet run's cluster runs in the order they start: the strategy's groups in order, then the
 * fleet file's order; each with its position (`ord`) and its group's (`grp`). Throws on a cluster
 * whose group is not in the strategy.
 */
export function inStartOrder(
  clusters: readonly NewClusterRun[],
  groups: readonly string[],
): { readonly c: NewClusterRun; readonly ord: number; readonly grp: number }[] {
  const ordered = clusters
    .map((c, i) => ({ c, i, grp: groups.indexOf(c.group) }))
    .sort((a, b) => a.grp - b.grp || a.i - b.i);
  const stray = ordered.find((x) => x.grp < 0);
  if (stray)
    throw new Error(`cluster ${stray.c.cluster}: group ${stray.c.group} is not in the strategy's groups`);
  return ordered.map(({ c, grp }, ord) => ({ c, ord, grp }));
}
