import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, readFileSync } from "node:fs";
import { hostname } from "node:os";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { RefusedError } from "../errors.js";
import { MemoryStore } from "../store/memory-store.js";
import type { StateStore } from "../store/state-store.js";
import { acquireLock, type HeldLock } from "./lock.js";

/**
 * Resolves when the lock hears it is lost. The renewal timer does not hold the process open, so
 * this does, for at most `ms` (a failure, never a wait that decides the outcome).
 */
function heardLost(lock: HeldLock, ms = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the lock did not hear it was lost within ${ms} ms`)),
      ms,
    );
    lock.onLost(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

async function store(): Promise<MemoryStore> {
  const s = new MemoryStore();
  await s.init();
  return s;
}

describe("the run lock", () => {
  it("refuses a second holder while the first lives, naming it", async () => {
    const s = await store();
    const first = await acquireLock(s, "demo", "run-a");
    await assert.rejects(acquireLock(s, "demo", null), (err: unknown) => {
      assert.ok(err instanceof RefusedError);
      assert.match(err.message, new RegExp(`run run-a, pid ${process.pid} on `));
      return true;
    });
    await first.release();
    const second = await acquireLock(s, "demo", null);
    await second.release();
  });

  it("is one per cluster: another cluster's holder is no obstacle, and the refusal names the cluster", async () => {
    const s = await store();
    const a = await acquireLock(s, "edge-a", "run-a");
    const b = await acquireLock(s, "edge-b", "run-b");
    await assert.rejects(acquireLock(s, "edge-a", null), /holds the lock of cluster edge-a \(run run-a, /);
    await a.release();
    assert.equal((await s.lockHolder("edge-b"))?.token, b.claim.token, "releasing A leaves B's lock alone");
    assert.equal(await s.lockHolder("edge-a"), undefined);
    await b.release();
  });

  it("takes over a holder on this machine whose process is gone, when the store is local", async () => {
    const s = await store();
    const dead = {
      host: (await import("node:os")).hostname(),
      pid: 2 ** 22 + 7,
      token: "dead",
      runId: "r",
      leaseMs: 60_000,
    };
    assert.equal((await s.tryLock("demo", dead)).acquired, true);
    await assert.rejects(acquireLock(s, "demo", null), RefusedError, "a shared store trusts only the lease");
    const lock = await acquireLock(s, "demo", null, { localStore: true });
    assert.equal((await s.lockHolder("demo"))?.token, lock.claim.token);
    await lock.release();
  });

  it("takes over a holder whose process is a zombie: exited, its parent not reaping it", {
    skip: existsSync("/proc/self/stat") ? false : "no /proc here to see a zombie in",
  }, async () => {
    // The parent, `sleep 60` once sh has exec'd it, never waits for its child: the child stays a zombie.
    const parent = spawn("sh", ["-c", "sleep 0.2 & echo $!; exec sleep 60"], {
      stdio: ["ignore", "pipe", "ignore"],
    });
    try {
      const [line] = (await once(parent.stdout, "data")) as [Buffer];
      const pid = Number(line.toString().trim());
      const state = () => {
        const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
        return stat.slice(stat.lastIndexOf(")") + 2)[0];
      };
      for (let i = 0; i < 250 && state() !== "Z"; i++) await sleep(20);
      assert.equal(state(), "Z");
      const s = await store();
      const zombie = { host: hostname(), pid, token: "zombie", runId: "r", leaseMs: 60_000 };
      assert.equal((await s.tryLock("demo", zombie)).acquired, true);
      const lock = await acquireLock(s, "demo", null, { localStore: true });
      assert.equal(lock.tookOverFrom?.token, "zombie");
      await lock.release();
    } finally {
      parent.kill("SIGKILL");
    }
  });

  it("says why it took a lock over: a process gone here, or a lease run out", async () => {
    const s = await store();
    const gone = { host: hostname(), pid: 2 ** 22 + 7, token: "gone", runId: "r", leaseMs: 60_000 };
    assert.equal((await s.tryLock("demo", gone)).acquired, true);
    const first = await acquireLock(s, "demo", null, { localStore: true });
    assert.equal(first.tookOverBecause, "died");
    await first.release();

    // A live process elsewhere whose lease ran out: it did not die, as far as anyone here knows.
    const cutOff = { host: "elsewhere", pid: process.pid, token: "cut-off", runId: "r", leaseMs: 1 };
    assert.equal((await s.tryLock("demo", cutOff)).acquired, true);
    await sleep(5);
    const second = await acquireLock(s, "demo", null, { localStore: true });
    assert.equal(second.tookOverFrom?.token, "cut-off");
    assert.equal(second.tookOverBecause, "lease-expired");
    await second.release();

    const fresh = await acquireLock(s, "demo", null);
    assert.equal(fresh.tookOverBecause, null);
    await fresh.release();
  });

  it("tells the holder when someone else took the lock over, and setRun then refuses", async () => {
    const s = await store();
    const lock = await acquireLock(s, "demo", null, { leaseMs: 90 });
    const lost = heardLost(lock);
    const holder = await s.lockHolder("demo");
    const other = { host: "elsewhere", pid: 1, token: "other", runId: null, leaseMs: 60_000 };
    assert.equal((await s.tryLock("demo", other, holder?.token)).acquired, true);
    await lost;
    assert.equal(lock.lost, true);
    let late = false;
    lock.onLost(() => {
      late = true;
    });
    assert.equal(late, true, "a listener added after the loss hears of it at once");
    await assert.rejects(lock.setRun("r"), RefusedError);
    await lock.release();
    assert.equal((await s.lockHolder("demo"))?.token, "other", "release leaves the new holder's lock alone");
  });

  it("counts the lock lost when it cannot be renewed within its lease", async () => {
    const s = await store();
    const failing: StateStore = Object.create(s);
    let broken = false;
    failing.renewLock = (cluster, claim) =>
      broken ? Promise.reject(new Error("connection lost")) : s.renewLock(cluster, claim);
    const lock = await acquireLock(failing, "demo", null, { leaseMs: 90 });
    const lost = heardLost(lock);
    broken = true;
    await lost;
    assert.equal(lock.lost, true);
    await lock.release();
  });
});
