/**
 * The fleet store contract (DESIGN.md "A fleet of clusters"): fleet runs and their cluster runs,
 * kept in the shared state store beside the clusters' journals, and the claims by which workers on
 * any number of machines share the work. A separate small contract rather than more of StateStore:
 * a cluster's journal never needs it, and only PostgreSQL (and SQLite, for one worker) hold it.
 *
 * What a claim may take is decided by `decideClaims` (claim-rules.ts), a pure function; a store only
 * serialises the decision (the fleet run's row is locked while it is taken) and writes it.
 */

/** A fleet run's condition. stopped-on-failures, done, failed and aborted are final once `endedAt` is set. */
export type FleetStatus =
  | "running"
  | "paused"
  | "aborting"
  | "aborted"
  | "stopped-on-failures"
  | "done"
  | "failed";

/**
 * pending → claimed (a worker holds it) → running (its journal run exists) → done | failed |
 * rolled-back (it failed and was undone) | aborted (rolled back, or never started, by `fleet abort`).
 * refused: the plan refused it (recorded, never claimed).
 */
export type ClusterRunState =
  | "pending"
  | "claimed"
  | "running"
  | "done"
  | "failed"
  | "rolled-back"
  | "refused"
  | "aborted";

export const LIVE_STATES: readonly ClusterRunState[] = ["claimed", "running"];
/** The states that count toward `maxFailures`. */
export const FAILED_STATES: readonly ClusterRunState[] = ["failed", "rolled-back"];
export const FINAL_STATES: readonly ClusterRunState[] = [
  "done",
  "failed",
  "rolled-back",
  "refused",
  "aborted",
];

export interface RunStrategy {
  /** Group names in the order they run. */
  readonly groups: readonly string[];
  readonly maxParallel: number;
  readonly soakMs: number;
  /** A count: a percentage in the fleet file is resolved against the number of clusters when the run is recorded. */
  readonly maxFailures: number;
}

export interface FleetRunRecord {
  readonly id: string;
  /** The fleet file's `name`. */
  readonly fleet: string;
  readonly target: string;
  readonly strategy: RunStrategy;
  readonly status: FleetStatus;
  /** Why it is in its status, in words: who paused it, which clusters stopped it. */
  readonly reason: string | null;
  readonly createdBy: string;
  /** Epoch milliseconds. */
  readonly createdAt: number;
  readonly endedAt: number | null;
}

export interface NewClusterRun {
  /** The cluster's `name`, unique within a fleet run. */
  readonly cluster: string;
  readonly group: string;
  /** The cluster file's path where `fleet apply` read it, and its text (passwords masked). */
  readonly file: string;
  readonly clusterText: string;
  readonly catalogFile: string;
  readonly catalogText: string;
  /** Set to record it as refused by the plan, with the reason. */
  readonly refused?: string;
  /** The version it ran when the fleet was planned, when known. */
  readonly version?: string | null;
}

/** A cluster run as `fleet status` and a dashboard show it: without the file texts. */
export interface ClusterRunSummary {
  readonly fleetRunId: string;
  readonly cluster: string;
  readonly group: string;
  /** Position in the fleet run, 0-based: groups in order, then the fleet file's order. */
  readonly ord: number;
  readonly state: ClusterRunState;
  /** The version it runs as last known: at the start, the start of its journal run; at its end, where it ended. */
  readonly version: string | null;
  /** Who holds (or last held) its claim: `host:pid:tag`. */
  readonly worker: string | null;
  /** Epoch ms at which the claim lapses unless renewed. */
  readonly leaseUntil: number | null;
  readonly claimedAt: number | null;
  readonly startedAt: number | null;
  readonly endedAt: number | null;
  /** The cluster's journal run (in the cluster's own state store), once it exists. */
  readonly runId: string | null;
  /** Why it failed, was refused or aborted, in words. */
  readonly error: string | null;
  /** How many times a lapsed claim on it was taken over by another worker. */
  readonly takeovers: number;
  readonly file: string;
}

/** A claim a worker holds: what it needs to run the cluster on a machine without its files. */
export interface ClaimedClusterRun extends ClusterRunSummary {
  readonly target: string;
  readonly clusterText: string;
  readonly catalogFile: string;
  readonly catalogText: string;
  /** The worker whose lapsed claim this one took over; null for a first claim. */
  readonly tookOverFrom: string | null;
}

export interface ClusterRunOutcome {
  readonly state: Extract<
    ClusterRunState,
    "done" | "failed" | "rolled-back" | "aborted" | "refused" | "pending"
  >;
  readonly version?: string | null;
  readonly error?: string | null;
}

/** What a renewal found, per claim: still held (and the fleet's status now), or lost. */
export type Renewal = ReadonlyMap<string, FleetStatus | "lost">;

export interface FleetStore {
  /** Creates the tables if they are missing (the state store's schema migrations); idempotent. */
  init(): Promise<void>;

  /** Records a fleet run and its cluster runs (pending, or refused), in one transaction. */
  createFleetRun(
    run: Omit<FleetRunRecord, "endedAt" | "reason">,
    clusters: readonly NewClusterRun[],
  ): Promise<void>;
  getFleetRun(id: string): Promise<FleetRunRecord | undefined>;
  /** The newest fleet run of this fleet name, or undefined. */
  latestFleetRun(fleet: string): Promise<FleetRunRecord | undefined>;
  /** Newest first. */
  listFleetRuns(fleet?: string): Promise<FleetRunRecord[]>;
  /** In the fleet run's order. */
  clusterRuns(fleetRunId: string): Promise<ClusterRunSummary[]>;

  /**
   * Claims up to `max` (default 1) cluster runs of one fleet run still under way, for `worker`, for
   * `leaseMs`: lapsed claims first, then new clusters as the strategy allows (claim-rules.ts); none
   * when none may be taken now. Serialised per fleet run, so `maxParallel` holds whatever the number
   * of workers. Takeovers come first in the answer, then the new clusters in start order.
   */
  claim(worker: string, leaseMs: number, max?: number): Promise<ClaimedClusterRun[]>;
  /** Extends the leases of these claims while `worker` still holds them. */
  renew(worker: string, keys: readonly ClaimKey[], leaseMs: number): Promise<Renewal>;
  /** The claim's journal run is known: the cluster run is running. Ignored when the claim was lost. */
  markRunning(worker: string, key: ClaimKey, runId: string, version: string | null): Promise<boolean>;
  /**
   * Ends the claim with its outcome (`pending` gives the cluster back, for another worker to resume)
   * and settles the fleet run: stopped on failures once `maxFailures` is reached, final once nothing
   * is left to run. Ignored (false) when the claim was lost.
   */
  finish(worker: string, key: ClaimKey, outcome: ClusterRunOutcome): Promise<boolean>;

  /**
   * pause: running → paused; resume: paused → running; abort: running | paused → aborting (and
   * aborted at once when nothing runs). Returns the status after, or undefined for an unknown run.
   */
  setFleetStatus(
    fleetRunId: string,
    action: "pause" | "resume" | "abort",
    by: string,
  ): Promise<FleetRunRecord | undefined>;

  close(): Promise<void>;
}

export interface ClaimKey {
  readonly fleetRunId: string;
  readonly cluster: string;
}

export const keyOf = (k: ClaimKey): string => `${k.fleetRunId}/${k.cluster}`;
