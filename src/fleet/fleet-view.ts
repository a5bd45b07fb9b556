/**
 * A fleet run as the API, the dashboard and the metrics show it: counts per state, per group, the
 * failures, and each cluster with the address of its own run. Pure: the server reads the store
 * and says where a cluster's run is served.
 */
import {
  type ClusterRunState,
  type ClusterRunSummary,
  FAILED_STATES,
  type FleetRunRecord,
} from "./fleet-store.js";

/** Every state, in the order a cluster moves through them: counts list each, zeros included. */
export const CLUSTER_STATES: readonly ClusterRunState[] = [
  "pending",
  "claimed",
  "running",
  "done",
  "failed",
  "rolled-back",
  "refused",
  "aborted",
];

export type StateCounts = Readonly<Record<ClusterRunState, number>>;

export interface FleetClusterView extends ClusterRunSummary {
  /** Where its journal run is served (its own state store's), once it has one. */
  readonly runUrl: string | null;
}

export interface FleetRunView {
  readonly fleet: string;
  readonly fleetRunId: string;
  readonly target: string;
  readonly status: FleetRunRecord["status"];
  readonly reason: string | null;
  readonly createdBy: string;
  readonly createdAt: number;
  readonly endedAt: number | null;
  readonly strategy: FleetRunRecord["strategy"];
  readonly counts: StateCounts;
  /** The clusters that count toward maxFailures, and the refused: which, and why. */
  readonly failures: readonly {
    readonly cluster: string;
    readonly group: string;
    readonly state: ClusterRunState;
    readonly error: string | null;
    readonly runUrl: string | null;
  }[];
  readonly groups: readonly {
    readonly name: string;
    readonly counts: StateCounts;
    readonly clusters: readonly FleetClusterView[];
  }[];
}

export function countStates(clusters: readonly Pick<ClusterRunSummary, "state">[]): StateCounts {
  const counts = Object.fromEntries(CLUSTER_STATES.map((s) => [s, 0])) as Record<ClusterRunState, number>;
  for (const c of clusters) counts[c.state]++;
  return counts;
}

/**
 * The view of `run` and its cluster runs; `runUrl` says where a cluster's journal run is served
 * (none on the command line, where the view is printed).
 *
 * @example fleetRunView(run, await store.clusterRuns(run.id), (c) => `/api/fleet/clusters/${c.cluster}/runs/${c.runId}`)
 */
export function fleetRunView(
  run: FleetRunRecord,
  clusters: readonly ClusterRunSummary[],
  runUrl?: (c: ClusterRunSummary & { readonly runId: string }) => string,
): FleetRunView {
  const views: FleetClusterView[] = clusters.map((c) => ({
    ...c,
    runUrl: c.runId === null || !runUrl ? null : runUrl({ ...c, runId: c.runId }),
  }));
  return {
    fleet: run.fleet,
    fleetRunId: run.id,
    target: run.target,
    status: run.status,
    reason: run.reason,
    createdBy: run.createdBy,
    createdAt: run.createdAt,
    endedAt: run.endedAt,
    strategy: run.strategy,
    counts: countStates(views),
    failures: views
      .filter((c) => FAILED_STATES.includes(c.state) || c.state === "refused")
      .map((c) => ({ cluster: c.cluster, group: c.group, state: c.state, error: c.error, runUrl: c.runUrl })),
    // A group the run no longer names (none today) would still show its clusters, last.
    groups: [...new Set([...run.strategy.groups, ...views.map((c) => c.group)])].map((name) => {
      const mine = views.filter((c) => c.group === name);
      return { name, counts: countStates(mine), clusters: mine };
    }),
  };
}
