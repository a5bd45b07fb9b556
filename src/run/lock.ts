/**
 * The run lock: one ferry at a time per cluster, keyed by the cluster's name (clusters that share a
 * state store each have their own). The holder's host, pid and a lease are written in
 * the state store; the lease is renewed while the holder lives. A lock whose holder died is taken
 * over (on the same machine at once, by its pid, when the store is a file on this machine;
 * elsewhere once its lease runs out); a live one never is.
 *
 * A holder that cannot renew within its lease counts its lock as lost, even if it never heard
 * that someone else took it: past the lease, another ferry may have.
 */
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { RefusedError } from "../errors.js";
import type { LockClaim, LockHolder, StateStore } from "../store/state-store.js";
import { processAlive } from "./process-alive.js";

export const LEASE_MS = 15_000;

export interface HeldLock {
  /** The name of the cluster whose lock it is. */
  readonly cluster: string;
  readonly claim: LockClaim;
  /** The holder whose lock this one took over, if it did. */
  readonly tookOverFrom: LockHolder | null;
  /**
   * Why it could: its process was seen gone on this machine, or its lease ran out unrenewed (it may
   * be alive elsewhere, cut off; its journal writes are fenced from now on).
   */
  readonly tookOverBecause: "died" | "lease-expired" | null;
  readonly lost: boolean;
  /** Called once when the lock is lost; at once if it already is. */
  onLost(listener: () => void): void;
  /** Points the lock at a run (its id is known only after it is created); throws if the lock is gone. */
  setRun(runId: string): Promise<void>;
  release(): Promise<void>;
}

export interface LockOptions {
  readonly leaseMs?: number;
  /**
   * Whether the store lives on this machine only (a SQLite file). Only then does a pid that is not
   * running here prove its holder dead: a shared store may hold a lock of another machine that
   * happens to bear this one's hostname.
   */
  readonly localStore?: boolean;
}

export function describeHolder(h: LockHolder): string {
  const since = new Date(h.acquiredAt).toISOString();
  return `${h.runId ? `run ${h.runId}, ` : ""}pid ${h.pid} on ${h.host}, since ${since}`;
}

function refusal(cluster: string, holder: LockHolder): RefusedError {
  return new RefusedError(
    `another ferry holds the lock of cluster ${cluster} (${describeHolder(holder)})`,
    "lock",
    "wait for it to finish, or stop it; a holder that died is taken over once its lease expires",
  );
}

export async function acquireLock(
  store: StateStore,
  cluster: string,
  runId: string | null,
  options: LockOptions = {},
): Promise<HeldLock> {
  const leaseMs = options.leaseMs ?? LEASE_MS;
  let claim: LockClaim = { host: hostname(), pid: process.pid, token: randomUUID(), runId, leaseMs };
  let result = await store.tryLock(cluster, claim);
  let diedHolder = false;
  if (!result.acquired) {
    const holder = result.holder;
    if (
      options.localStore &&
      holder.host === claim.host &&
      holder.pid !== process.pid &&
      !processAlive(holder.pid)
    ) {
      result = await store.tryLock(cluster, claim, holder.token);
      diedHolder = true;
    }
    if (!result.acquired) throw refusal(cluster, result.holder);
  }

  let lost = false;
  let renewedAt = Date.now();
  let listeners: (() => void)[] = [];
  const lose = () => {
    if (lost) return;
    lost = true;
    for (const l of listeners) l();
    listeners = [];
  };
  const timer = setInterval(
    () => {
      store.renewLock(cluster, claim).then(
        (held) => {
          if (held) renewedAt = Date.now();
          else lose();
        },
        () => {
          // A failed renewal is tried again next tick; the lease covers a few.
          if (Date.now() - renewedAt >= leaseMs) lose();
        },
      );
    },
    Math.max(50, Math.floor(leaseMs / 3)),
  );
  timer.unref();

  const tookOverFrom = result.tookOverFrom;
  const tookOverBecause = tookOverFrom ? (diedHolder ? "died" : "lease-expired") : null;
  return {
    cluster,
    get claim() {
      return claim;
    },
    tookOverFrom,
    tookOverBecause,
    get lost() {
      return lost;
    },
    onLost(listener) {
      if (lost) listener();
      else listeners.push(listener);
    },
    async setRun(id) {
      const next = { ...claim, runId: id };
      const r = await store.tryLock(cluster, next);
      if (!r.acquired) {
        lose();
        throw refusal(cluster, r.holder);
      }
      claim = next;
    },
    async release() {
      clearInterval(timer);
      listeners = [];
      await store.releaseLock(cluster, claim.token);
    },
  };
}
