/**
 * The fleet strategy's rules (DESIGN.md "A fleet of clusters"), as pure functions over the counts
 * of a fleet run's cluster runs: what a worker may claim now, and what the fleet run's status
 * becomes once a cluster run ends. The stores call them inside the transaction that holds the
 * fleet run's row, so two workers never decide on the same counts.
 *
 * - a lapsed claim (its worker died) is taken up before any new cluster starts; until it lapses
 *   it counts toward maxParallel like any live claim;
 * - at most maxParallel claims live at once;
 * - group N+1 starts only when group N has all finished and `soak` has passed since its last end;
 * - once maxFailures clusters have failed, no new cluster starts.
 */
import type { FleetRunRecord, FleetStatus } from "./fleet-store.js";

/** One group's cluster runs, counted; `lapsed` are live claims whose lease has run out (also in `live`). */
export interface GroupCounts {
  readonly pending: number;
  readonly live: number;
  readonly lapsed: number;
  readonly failed: number;
  readonly done: number;
  /** Final without reaching the target and without failing: refused, aborted. */
  readonly unreached: number;
  /** Epoch ms of the group's last cluster run end; null when none ended. */
  readonly lastEndedAt: number | null;
}

export type ClaimDecision =
  | { readonly kind: "takeover" }
  | { readonly kind: "start"; readonly group: number }
  | { readonly kind: "none"; readonly why: string; readonly stopOnFailures?: boolean };

const sum = (counts: readonly GroupCounts[], f: (c: GroupCounts) => number) =>
  counts.reduce((n, c) => n + f(c), 0);

/** At least one failure stops a fleet: `maxFailures: 0` would otherwise start nothing at all. */
export const failuresToStop = (maxFailures: number): number => Math.max(1, maxFailures);

/** `counts[i]` is the group `strategy.groups[i]`. */
export function decideClaim(
  fleet: Pick<FleetRunRecord, "status" | "strategy" | "endedAt">,
  counts: readonly GroupCounts[],
  now: number,
): ClaimDecision {
  if (fleet.endedAt !== null) return { kind: "none", why: "the fleet run has ended" };
  // A lapsed claim is taken up whatever the fleet's status: its cluster run is under way and must
  // reach an end (an aborting fleet's worker rolls it back).
  if (sum(counts, (c) => c.lapsed) > 0) return { kind: "takeover" };
  if (fleet.status !== "running") return { kind: "none", why: `the fleet run is ${fleet.status}` };
  const { strategy } = fleet;
  const failed = sum(counts, (c) => c.failed);
  if (failed >= failuresToStop(strategy.maxFailures)) {
    return { kind: "none", why: `${failed} cluster(s) failed`, stopOnFailures: true };
  }
  if (sum(counts, (c) => c.live) >= strategy.maxParallel) {
    return { kind: "none", why: `${strategy.maxParallel} cluster runs are under way` };
  }
  const group = counts.findIndex((c) => c.pending + c.live > 0);
  const current = counts[group];
  if (current === undefined) return { kind: "none", why: "no cluster is left to start" };
  if (current.pending === 0) return { kind: "none", why: "the group's last clusters are under way" };
  if (group > 0) {
    const ends = counts.slice(0, group).map((c) => c.lastEndedAt ?? 0);
    const soakedAt = Math.max(0, ...ends) + strategy.soakMs;
    if (now < soakedAt) {
      return { kind: "none", why: `soaking until ${new Date(soakedAt).toISOString()}` };
    }
  }
  return { kind: "start", group };
}

/** What one claim of several cluster runs takes: `takeovers` lapsed claims, then `starts` new clusters of `group`. */
export interface ClaimBatch {
  readonly takeovers: number;
  readonly starts: number;
  /** The group the new clusters are in; -1 when none starts. */
  readonly group: number;
}

/**
 * Up to `max` claims at once, each the one decideClaim allows on the counts the claims before it
 * leave (a takeover ends a lapse, a start makes a pending cluster live), so a batch obeys the rules
 * exactly as that many single claims made one after another would.
 */
export function decideClaims(
  fleet: Pick<FleetRunRecord, "status" | "strategy" | "endedAt">,
  counts: readonly GroupCounts[],
  now: number,
  max: number,
): ClaimBatch {
  const left = counts.map((c) => ({ ...c }));
  let takeovers = 0;
  let starts = 0;
  let group = -1;
  while (takeovers + starts < max) {
    const d = decideClaim(fleet, left, now);
    if (d.kind === "none" || (d.kind === "start" && group >= 0 && d.group !== group)) break;
    if (d.kind === "takeover") {
      const lapsed = left.find((c) => c.lapsed > 0) as { lapsed: number };
      lapsed.lapsed--;
      takeovers++;
    } else {
      const g = left[d.group] as { pending: number; live: number };
      g.pending--;
      g.live++;
      starts++;
      group = d.group;
    }
  }
  return { takeovers, starts, group };
}

/**
 * The fleet run's status once a cluster run has ended, or undefined when it stays as it is; `final`
 * when nothing is left to run (the run's endedAt is then set).
 */
export function settleFleet(
  fleet: Pick<FleetRunRecord, "status" | "strategy" | "endedAt">,
  counts: readonly GroupCounts[],
): { readonly status: FleetStatus; readonly final: boolean } | undefined {
  if (fleet.endedAt !== null) return undefined;
  const live = sum(counts, (c) => c.live);
  const pending = sum(counts, (c) => c.pending);
  const failed = sum(counts, (c) => c.failed);
  let status = fleet.status;
  if ((status === "running" || status === "paused") && failed >= failuresToStop(fleet.strategy.maxFailures)) {
    status = "stopped-on-failures";
  }
  if (live > 0) return status === fleet.status ? undefined : { status, final: false };
  if (status === "aborting") return { status: "aborted", final: true };
  if (status === "stopped-on-failures") return { status, final: true };
  if (pending > 0) return status === fleet.status ? undefined : { status, final: false };
  const reachedAll = failed === 0 && sum(counts, (c) => c.unreached) === 0;
  return { status: reachedAll ? "done" : "failed", final: true };
}

/**
 * Whether a cluster run that ended done may change its fleet run's status (settleFleet): a done
 * outcome adds no failure, so only once nothing is live, and then only when nothing is left to
 * start or the fleet starts nothing more. A store records such an outcome without the fleet run's
 * lock and settles only when this says so.
 */
export const doneMaySettle = (status: FleetStatus, anyLive: boolean, anyPending: boolean): boolean =>
  !anyLive && (!anyPending || (status !== "running" && status !== "paused"));

/**
 * What `fleet pause|resume|abort` makes of a fleet run's status, or undefined when it does not
 * apply (pausing a paused run, resuming a running one, aborting twice): pause running → paused,
 * resume paused → running, abort anything not yet aborting → aborting. Whoever changes it then
 * settles the run (`settleFleet`): an abort with nothing in flight ends at once.
 */
export function steerFleet(
  status: FleetStatus,
  action: "pause" | "resume" | "abort",
): FleetStatus | undefined {
  if (action === "pause") return status === "running" ? "paused" : undefined;
  if (action === "resume") return status === "paused" ? "running" : undefined;
  return status === "aborting" ? undefined : "aborting";
}

/** The reason a steered fleet run records: `paused by alice@ops`. */
export const steerReason = (action: "pause" | "resume" | "abort", by: string): string =>
  `${action === "abort" ? "aborted" : action === "pause" ? "paused" : "resumed"} by ${by}`;

/**
 * Whether a fleet run moving from `before` to `after` records its failed clusters as its reason,
 * and with which limit: on stopping on failures, `maxFailures`; on ending failed, none (null).
 * Undefined when the reason stays as it is.
 */
export function failuresToName(
  before: FleetStatus,
  after: FleetStatus,
  maxFailures: number,
): { readonly limit: number | null } | undefined {
  if (after === "stopped-on-failures" && before !== after) return { limit: failuresToStop(maxFailures) };
  if (after === "failed") return { limit: null };
  return undefined;
}
