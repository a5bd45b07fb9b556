/**
 * The run lock: one ferry at a time per cluster. The holder's host, pid and a lease are written in
 * the state store; the lease is renewed while the holder lives. A lock whose holder died is taken
 * over (on the same machine at once, by its pid; elsewhere once its lease runs out); a live one never is.
 */
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { RefusedError } from "../errors.js";
import type { LockClaim, LockHolder, StateStore } from "../store/state-store.js";

export const LEASE_MS = 15_000;

export interface HeldLock {
  readonly claim: LockClaim;
  /** Set once renewal found the lock taken by someone else. */
  readonly lost: boolean;
  onLost(listener: () => void): void;
  /** Points the lock at a run (the run id is known only after it is created). */
  setRun(runId: string): Promise<void>;
  release(): Promise<void>;
}

export function describeHolder(h: LockHolder): string {
  const since = new Date(h.acquiredAt).toISOString();
  return `${h.runId ? `run ${h.runId}, ` : ""}pid ${h.pid} on ${h.host}, since ${since}`;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

export async function acquireLock(
  store: StateStore,
  runId: string | null,
  leaseMs = LEASE_MS,
): Promise<HeldLock> {
  let claim: LockClaim = { host: hostname(), pid: process.pid, token: randomUUID(), runId, leaseMs };
  let result = await store.tryLock(claim);
  if (!result.acquired) {
    const holder = result.holder;
    // A holder on this machine whose process is gone died without releasing: take it over now.
    if (holder.host === claim.host && holder.pid !== process.pid && !pidAlive(holder.pid)) {
      result = await store.tryLock(claim, holder.token);
    }
    if (!result.acquired) {
      throw new RefusedError(
        `another ferry holds the lock of this cluster (${describeHolder(result.holder)})`,
        "lock",
        "wait for it to finish, or stop it; a holder that died is taken over once its lease expires",
      );
    }
  }

  let lost = false;
  const listeners: (() => void)[] = [];
  const timer = setInterval(
    () => {
      store.renewLock(claim).then(
        (held) => {
          if (!held && !lost) {
            lost = true;
            for (const l of listeners) l();
          }
        },
        () => {}, // a failed renewal is retried at the next tick; the lease covers several.
      );
    },
    Math.max(50, Math.floor(leaseMs / 3)),
  );
  timer.unref();

  return {
    get claim() {
      return claim;
    },
    get lost() {
      return lost;
    },
    onLost(listener) {
      listeners.push(listener);
    },
    async setRun(id) {
      claim = { ...claim, runId: id };
      await store.tryLock(claim);
    },
    async release() {
      clearInterval(timer);
      await store.releaseLock(claim.token);
    },
  };
}
