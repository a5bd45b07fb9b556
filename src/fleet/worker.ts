/**
 * A fleet worker (`ferry worker`, and `ferry fleet apply` unless --no-work): claims cluster runs
 * from the fleet store, up to `concurrency` at once, runs each with `runCluster` (the ordinary
 * executor path, run-cluster-run.ts), renews its claims while they run, and records each outcome.
 *
 * Its claims' leases (10 s, renewed every 3 s) are how the others learn it died: a lapsed claim is
 * taken up by another worker, which resumes the cluster's run from its journal. A claim found lost
 * at renewal (taken over while this worker was frozen or cut off) stops its run at once, resumable:
 * the cluster's own lock, fenced, already keeps this worker from writing to its journal.
 *
 * Going down (`interrupt`, SIGTERM): no new claim; the runs in flight are interrupted as ferry's
 * signals interrupt a run (roll back before the point of no return, else finish the hop), and
 * their cluster runs are given back for another worker, unless they ended. `stop` (a second signal)
 * stops them once the steps in flight finish, resumable, also given back.
 */
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { RefusedError } from "../errors.js";
import type { OperationResult } from "../run/upgrade.js";
import {
  type ClaimedClusterRun,
  type ClusterRunOutcome,
  type FleetStatus,
  type FleetStore,
  keyOf,
} from "./fleet-store.js";

/** What a worker's run of one cluster may be told while it goes. */
export interface ClusterRunContext {
  /** Interrupts the run as SIGINT does: the fleet is aborted, or the worker goes down. */
  readonly interrupt: AbortSignal;
  /** Stops the run once the steps in flight finish, resumable: the claim was lost, or a second signal. */
  readonly stop: AbortSignal;
  /** The cluster's journal run exists (its id, the version it starts from). */
  markRunning(runId: string, from: string | null): void;
}

/** Runs one claimed cluster run to an outcome; a RefusedError with rule `lock` means its lock is still held. */
export type RunCluster = (claim: ClaimedClusterRun, ctx: ClusterRunContext) => Promise<OperationResult>;

export interface WorkerOptions {
  readonly store: FleetStore;
  readonly runCluster: RunCluster;
  readonly concurrency: number;
  /** Default `host:pid:random`. */
  readonly id?: string;
  /** How long a claim holds without renewal; default 10 s (at most 15 s, DESIGN.md). */
  readonly leaseMs?: number;
  readonly renewEveryMs?: number;
  /** The longest wait between two attempts to claim while nothing is claimable; default 500 ms. */
  readonly pollMs?: number;
  /** Stop claiming; interrupt the runs in flight. */
  readonly interrupt?: AbortSignal;
  /** Stop the runs in flight once their steps in flight finish. */
  readonly stop?: AbortSignal;
  /** Checked between claims: true ends the worker once its runs have ended (`fleet apply`: its fleet run ended). */
  readonly until?: () => Promise<boolean>;
  /** One line per claim and outcome. */
  readonly log?: (line: string) => void;
  /** Told, for each cluster run claimed, how long the claim that took it lasted (the benchmark's claim latency). */
  readonly onClaim?: (claim: ClaimedClusterRun, ms: number) => void;
}

export const CLAIM_LEASE_MS = 10_000;
/** How long a worker keeps trying the cluster's lock, held by a worker whose claim lapsed. */
const LOCK_WAIT_MS = 40_000;

export function newWorkerId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`;
}

interface InFlight {
  readonly claim: ClaimedClusterRun;
  readonly interrupt: AbortController;
  readonly stop: AbortController;
  fleetStatus: FleetStatus | "lost";
  done: Promise<void>;
}

export interface WorkerSummary {
  readonly id: string;
  readonly claimed: number;
  readonly outcomes: Readonly<Record<string, number>>;
}

/** Runs the worker until `interrupt` (or `until()`), and every claim it took has been settled. */
export async function runWorker(options: WorkerOptions): Promise<WorkerSummary> {
  const id = options.id ?? newWorkerId();
  const { store } = options;
  const leaseMs = options.leaseMs ?? CLAIM_LEASE_MS;
  const pollMs = options.pollMs ?? 500;
  const log = options.log ?? (() => {});
  const inFlight = new Map<string, InFlight>();
  const outcomes: Record<string, number> = {};
  let claimed = 0;
  // Wakes the loop when a run ends, so a free slot is claimed at once rather than at the next poll.
  let wake: () => void = () => {};

  const renewals = setInterval(() => {
    const runs = [...inFlight.values()];
    if (runs.length === 0) return;
    store
      .renew(
        id,
        runs.map((r) => r.claim),
        leaseMs,
      )
      .then(
        (found) => {
          for (const r of runs) {
            const status = found.get(keyOf(r.claim)) ?? "lost";
            r.fleetStatus = status;
            if (status === "lost" && !r.stop.signal.aborted) {
              log(`${r.claim.cluster}: claim lost (taken over by another worker); stopping, resumable`);
              r.stop.abort();
              r.interrupt.abort();
            } else if (status === "aborting" && !r.interrupt.signal.aborted) {
              log(
                `${r.claim.cluster}: the fleet run is aborted: rolling back unless past the point of no return`,
              );
              r.interrupt.abort();
            }
          }
        },
        (err) => log(`renewing claims: ${(err as Error).message}`),
      );
  }, options.renewEveryMs ?? 3_000);

  const start = (claim: ClaimedClusterRun) => {
    const entry: InFlight = {
      claim,
      interrupt: new AbortController(),
      stop: new AbortController(),
      fleetStatus: "running",
      done: Promise.resolve(),
    };
    const key = keyOf(claim);
    inFlight.set(key, entry);
    entry.done = runOne(entry)
      .then(
        async (outcome) => {
          outcomes[outcome.state] = (outcomes[outcome.state] ?? 0) + 1;
          const recorded = await store.finish(id, claim, outcome);
          log(
            `${claim.cluster}: ${outcome.state}${outcome.error ? ` — ${outcome.error}` : ""}${recorded ? "" : " (not recorded: the claim was lost)"}`,
          );
        },
        (err) => log(`${claim.cluster}: recording its outcome failed: ${(err as Error).message}`),
      )
      .finally(() => {
        inFlight.delete(key);
        wake();
      });
  };

  const runOne = async (entry: InFlight): Promise<ClusterRunOutcome> => {
    const { claim } = entry;
    const going = (signal: AbortSignal | undefined, own: AbortController) => {
      if (signal?.aborted) own.abort();
      signal?.addEventListener("abort", () => own.abort(), { once: true });
    };
    going(options.interrupt, entry.interrupt);
    going(options.stop, entry.stop);
    const marks: Promise<unknown>[] = [];
    const ctx: ClusterRunContext = {
      interrupt: entry.interrupt.signal,
      stop: entry.stop.signal,
      markRunning: (runId, from) => {
        marks.push(store.markRunning(id, claim, runId, from).catch(() => false));
      },
    };
    const began = Date.now();
    for (;;) {
      try {
        const result = await options.runCluster(claim, ctx);
        await Promise.all(marks);
        return outcomeOf(claim, result, entry.fleetStatus, options.interrupt?.aborted === true);
      } catch (err) {
        await Promise.all(marks);
        const e = err as Error & { rule?: string };
        // The worker whose claim lapsed may still hold the cluster's lock until its own lease ends.
        if (e.rule === "lock" && Date.now() - began < LOCK_WAIT_MS && !entry.stop.signal.aborted) {
          if (entry.interrupt.signal.aborted) return giveBack(entry);
          await sleep(1_000);
          continue;
        }
        if (entry.interrupt.signal.aborted && options.interrupt?.aborted) return { state: "pending" };
        // Refused by policy or a precondition before anything changed (a forbidden path, an
        // unfinished run to another version): listed, not counted as a failure.
        if (e instanceof RefusedError) return { state: "refused", error: e.message };
        return { state: "failed", error: e.message };
      }
    }
  };

  const giveBack = (entry: InFlight): ClusterRunOutcome =>
    entry.fleetStatus === "aborting"
      ? { state: "aborted", error: "aborted before it started" }
      : { state: "pending" };

  const interrupted = new Promise<void>((resolve) => {
    if (options.interrupt?.aborted) resolve();
    options.interrupt?.addEventListener("abort", () => resolve(), { once: true });
  });
  try {
    while (!options.interrupt?.aborted) {
      // Every free slot in one claim: one turn of the fleet run's lock, however many it takes.
      while (inFlight.size < options.concurrency && !options.interrupt?.aborted) {
        const t0 = performance.now();
        const claims = await store.claim(id, leaseMs, options.concurrency - inFlight.size);
        if (claims.length === 0) break;
        const ms = performance.now() - t0;
        for (const claim of claims) {
          options.onClaim?.(claim, ms);
          claimed++;
          log(
            `${claim.cluster}: claimed (group ${claim.group}${claim.tookOverFrom ? `, taken over from ${claim.tookOverFrom}, whose claim lapsed` : ""})`,
          );
          start(claim);
        }
      }
      if (options.until && inFlight.size === 0 && (await options.until())) break;
      const woken = new Promise<void>((resolve) => {
        wake = resolve;
      });
      await Promise.race([woken, interrupted, sleep(pollMs)]);
    }
    await Promise.all([...inFlight.values()].map((r) => r.done));
  } finally {
    clearInterval(renewals);
  }
  return { id, claimed, outcomes };
}

/** The cluster run's outcome from its run's; `goingDown`: the worker was interrupted, not the fleet. */
function outcomeOf(
  claim: ClaimedClusterRun,
  result: OperationResult,
  fleetStatus: FleetStatus | "lost",
  goingDown: boolean,
): ClusterRunOutcome {
  if (result.succeeded && result.status === "done") return { state: "done", version: claim.target };
  if (result.interrupted || result.reason === "lock-lost") {
    if (fleetStatus === "aborting") {
      return result.status === "rolled-back"
        ? { state: "aborted", error: "rolled back: the fleet run was aborted" }
        : {
            state: "aborted",
            error: `the fleet run was aborted past its point of no return: ${result.message}`,
          };
    }
    // The worker goes down, or lost its claim: another worker finishes or starts it again.
    if (goingDown || fleetStatus === "lost" || result.reason === "lock-lost") return { state: "pending" };
  }
  if (result.status === "rolled-back") return { state: "rolled-back", error: result.message };
  return { state: "failed", error: result.message };
}
