/**
 * The fleet store contract (src/fleet/fleet-store.ts): what every implementation must do, through
 * the public API only. `make` gives a fresh, initialised, empty store each time it is called on
 * the same location (several workers' stores on one database), and `cleanup` removes it.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { FleetStore, NewClusterRun, RunStrategy } from "../../src/index.js";

export interface FleetStoreMaker {
  /** A new location (schema, file), empty. */
  location(): Promise<string>;
  /** A store on that location: several may be open at once, as several workers' are. */
  open(location: string): Promise<FleetStore>;
  cleanup(location: string): Promise<void>;
  /** How many stores may claim at once (SQLite: one worker). */
  readonly workers: number;
}

/** A cluster run as `fleet apply` records it, with small stand-ins for its files. */
export const cluster = (name: string, group: string, extra: Partial<NewClusterRun> = {}): NewClusterRun => ({
  cluster: name,
  group,
  file: `/fleet/${name}.yaml`,
  clusterText: `name: ${name}\n`,
  catalogFile: "/fleet/releases.yaml",
  catalogText: "product: p\n",
  ...extra,
});

/** The first of a claim of one, or undefined. */
const one = async (store: FleetStore, worker: string, leaseMs: number) =>
  (await store.claim(worker, leaseMs))[0];

const strategy = (s: Partial<RunStrategy> = {}): RunStrategy => ({
  groups: ["canary", "rest"],
  maxParallel: 2,
  soakMs: 0,
  maxFailures: 1,
  ...s,
});

export function describeFleetStore(name: string, maker: FleetStoreMaker): void {
  describe(`fleet store contract: ${name}`, () => {
    const opened: FleetStore[] = [];
    const locations: string[] = [];
    after(async () => {
      for (const s of opened) await s.close().catch(() => {});
      for (const l of locations) await maker.cleanup(l);
    });
    const fresh = async (n = 1): Promise<FleetStore[]> => {
      const location = await maker.location();
      locations.push(location);
      const stores: FleetStore[] = [];
      for (let i = 0; i < n; i++) stores.push(await maker.open(location));
      opened.push(...stores);
      return stores;
    };
    const record = async (
      store: FleetStore,
      clusters: readonly NewClusterRun[],
      s: Partial<RunStrategy> = {},
    ) => {
      const id = `f-${Math.random().toString(36).slice(2, 8)}`;
      await store.createFleetRun(
        {
          id,
          fleet: "edge",
          target: "1.0.1",
          strategy: strategy(s),
          status: "running",
          createdBy: "t",
          createdAt: Date.now(),
        },
        clusters,
      );
      return id;
    };

    it("records a fleet run and its cluster runs in start order, refused ones as refused", async () => {
      const [store] = (await fresh()) as [FleetStore];
      const id = await record(store, [
        cluster("r1", "rest"),
        cluster("c1", "canary"),
        cluster("bad", "rest", { refused: "bad.yaml:3: hosts: required" }),
      ]);
      assert.equal((await store.latestFleetRun("edge"))?.id, id);
      const runs = await store.clusterRuns(id);
      assert.deepEqual(
        runs.map((r) => [r.cluster, r.group, r.state]),
        [
          ["c1", "canary", "pending"],
          ["r1", "rest", "pending"],
          ["bad", "rest", "refused"],
        ],
      );
      assert.equal(runs[2]?.error, "bad.yaml:3: hosts: required");
      const claim = await one(store, "w1", 10_000);
      assert.equal(claim?.cluster, "c1");
      assert.equal(claim?.clusterText, "name: c1\n");
      assert.equal(claim?.target, "1.0.1");
    });

    it("never more than maxParallel claims live, however many workers claim at once", async () => {
      const stores = await fresh(Math.max(1, maker.workers));
      const [store] = stores as [FleetStore];
      const id = await record(
        store,
        Array.from({ length: 20 }, (_, i) => cluster(`r${i}`, "rest")),
        { groups: ["rest"], maxParallel: 3 },
      );
      // One worker per store (on SQLite, one worker at a time holds claims), each trying three times at once.
      const attempts = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          one(stores[i % stores.length] as FleetStore, `w${i % stores.length}`, 10_000),
        ),
      );
      assert.equal(attempts.filter(Boolean).length, 3);
      const live = (await store.clusterRuns(id)).filter((r) => r.state === "claimed");
      assert.equal(live.length, 3);
      const first = attempts.find(Boolean);
      assert.ok(first);
      assert.equal(await store.finish(first.worker ?? "", first, { state: "done", version: "1.0.1" }), true);
      assert.ok(await one(store, first.worker ?? "", 10_000), "a slot freed is claimable");
      assert.equal(await one(store, first.worker ?? "", 10_000), undefined);
    });

    it("one claim of several: lapsed claims first, then new clusters in start order, never past maxParallel or a group's end", async () => {
      const stores = await fresh(Math.max(1, maker.workers));
      const [store] = stores as [FleetStore];
      const id = await record(
        store,
        [
          cluster("c0", "canary"),
          cluster("c1", "canary"),
          ...Array.from({ length: 6 }, (_, i) => cluster(`r${i}`, "rest")),
        ],
        { maxParallel: 4 },
      );
      const canary = await store.claim("dead", 200, 8);
      assert.deepEqual(
        canary.map((c) => c.cluster),
        ["c0", "c1"],
        "the rest group waits for the canaries",
      );
      await sleep(400);
      const taken0 = await store.claim("alive", 10_000, 8);
      assert.deepEqual(
        taken0.map((c) => [c.cluster, c.tookOverFrom]),
        [
          ["c0", "dead"],
          ["c1", "dead"],
        ],
        "the lapsed claims, and nothing of the rest group while they run",
      );
      const [c0, c1] = taken0;
      assert.ok(c0 && c1);
      await store.finish("alive", c0, { state: "done" });
      await store.finish("alive", c1, { state: "done" });
      // Several workers asking for several each at once still share maxParallel.
      const attempts = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          (stores[i % stores.length] as FleetStore).claim(`w${i % stores.length}`, 10_000, 3),
        ),
      );
      const taken = attempts.flat().map((c) => c.cluster);
      assert.equal(taken.length, 4);
      assert.deepEqual([...taken].sort(), ["r0", "r1", "r2", "r3"]);
      assert.deepEqual(await store.claim("w0", 10_000, 3), []);
      assert.equal((await store.clusterRuns(id)).filter((r) => r.state === "claimed").length, 4);
    });

    if (maker.workers === 1) {
      it("one worker at a time: another claims nothing until the first's claims end or lapse", async () => {
        const [a, b] = (await fresh(2)) as [FleetStore, FleetStore];
        await record(a, [cluster("r1", "rest"), cluster("r2", "rest"), cluster("r3", "rest")], {
          groups: ["rest"],
          maxParallel: 3,
        });
        const first = await one(a, "w1", 300);
        assert.equal(first?.cluster, "r1");
        assert.equal(await one(b, "w2", 10_000), undefined, "w1 holds a live claim");
        assert.equal((await one(a, "w1", 300))?.cluster, "r2", "w1 itself goes on");
        await sleep(400);
        const taken = await one(b, "w2", 10_000);
        assert.equal(taken?.cluster, "r1", "once w1's claims lapsed, w2 takes them up");
        assert.equal(taken?.tookOverFrom, "w1");
        assert.equal(await one(a, "w1", 10_000), undefined, "now w2 is the one worker");
      });
    }

    it("a group starts once the one before has finished and soaked", async () => {
      const [store] = (await fresh()) as [FleetStore];
      await record(store, [cluster("c1", "canary"), cluster("r1", "rest")], { soakMs: 400 });
      const c1 = await one(store, "w", 10_000);
      assert.equal(c1?.cluster, "c1");
      assert.equal(await one(store, "w", 10_000), undefined, "rest waits for canary");
      assert.ok(c1);
      await store.finish("w", c1, { state: "done" });
      assert.equal(await one(store, "w", 10_000), undefined, "rest waits for the soak");
      await sleep(500);
      assert.equal((await one(store, "w", 10_000))?.cluster, "r1");
    });

    it("a lapsed claim is taken up before any new cluster, and its worker has lost it", async () => {
      const [store] = (await fresh()) as [FleetStore];
      const id = await record(store, [cluster("r1", "rest"), cluster("r2", "rest")], {
        groups: ["rest"],
        maxParallel: 2,
      });
      const mine = await one(store, "dead", 200);
      assert.equal(mine?.cluster, "r1");
      assert.ok(mine);
      await store.markRunning("dead", mine, "run-1", "1.0.0");
      await sleep(400);
      const taken = await one(store, "alive", 10_000);
      assert.equal(taken?.cluster, "r1", "the lapsed claim, not r2");
      assert.equal(taken?.tookOverFrom, "dead");
      assert.equal(taken?.runId, "run-1");
      assert.equal((await store.renew("dead", [mine], 10_000)).get(`${id}/r1`), "lost");
      assert.equal(await store.finish("dead", mine, { state: "done" }), false);
      assert.equal((await store.renew("alive", [mine], 10_000)).get(`${id}/r1`), "running");
      const r1 = (await store.clusterRuns(id)).find((r) => r.cluster === "r1");
      assert.equal(r1?.takeovers, 1);
      assert.equal(r1?.state, "running");
    });

    it("once maxFailures clusters failed, nothing new starts and the fleet run names them", async () => {
      const [store] = (await fresh()) as [FleetStore];
      const id = await record(
        store,
        Array.from({ length: 5 }, (_, i) => cluster(`r${i}`, "rest")),
        { groups: ["rest"], maxParallel: 3, maxFailures: 2 },
      );
      const [a, b, c] = [
        await one(store, "w", 10_000),
        await one(store, "w", 10_000),
        await one(store, "w", 10_000),
      ];
      assert.ok(a && b && c);
      await store.finish("w", a, { state: "rolled-back", error: "install failed" });
      assert.ok(await one(store, "w", 10_000), "one failure of two allowed");
      await store.finish("w", b, { state: "failed", error: "verify failed" });
      assert.equal(await one(store, "w", 10_000), undefined);
      let run = await store.getFleetRun(id);
      assert.equal(run?.status, "stopped-on-failures");
      assert.equal(run?.endedAt, null, "runs in flight go on");
      assert.match(run?.reason ?? "", /r0: install failed.*r1: verify failed/);
      await store.finish("w", c, { state: "done" });
      for (const r of (await store.clusterRuns(id)).filter((x) => x.state === "claimed")) {
        await store.finish("w", r, { state: "done" });
      }
      run = await store.getFleetRun(id);
      assert.equal(run?.status, "stopped-on-failures");
      assert.ok(run?.endedAt, "ended once nothing runs");
    });

    it("pause starts nothing new, resume starts again, abort ends once the runs in flight end", async () => {
      const [store] = (await fresh()) as [FleetStore];
      const id = await record(
        store,
        Array.from({ length: 3 }, (_, i) => cluster(`r${i}`, "rest")),
        {
          groups: ["rest"],
        },
      );
      const a = await one(store, "w", 10_000);
      assert.ok(a);
      assert.equal((await store.setFleetStatus(id, "pause", "op"))?.status, "paused");
      assert.equal(await one(store, "w", 10_000), undefined);
      assert.equal((await store.renew("w", [a], 10_000)).get(`${id}/r0`), "paused");
      assert.equal((await store.setFleetStatus(id, "resume", "op"))?.status, "running");
      assert.ok(await one(store, "w", 10_000));
      const aborting = await store.setFleetStatus(id, "abort", "op");
      assert.equal(aborting?.status, "aborting");
      assert.match(aborting?.reason ?? "", /aborted by op/);
      assert.equal((await store.renew("w", [a], 10_000)).get(`${id}/r0`), "aborting");
      for (const r of (await store.clusterRuns(id)).filter((x) => x.state === "claimed")) {
        await store.finish("w", r, { state: "aborted", error: "rolled back" });
      }
      const run = await store.getFleetRun(id);
      assert.equal(run?.status, "aborted");
      assert.ok(run?.endedAt);
      assert.deepEqual(
        (await store.clusterRuns(id)).map((r) => r.state),
        ["aborted", "aborted", "aborted"],
      );
    });

    it("cluster runs that end done at the same moment still end their fleet run", async () => {
      const stores = await fresh(Math.max(1, maker.workers));
      const [store] = stores as [FleetStore];
      const id = await record(
        store,
        Array.from({ length: 12 }, (_, i) => cluster(`r${i}`, "rest")),
        { groups: ["rest"], maxParallel: 12 },
      );
      const claims = await store.claim("w", 10_000, 12);
      assert.equal(claims.length, 12);
      const finished = await Promise.all(
        claims.map((c, i) => (stores[i % stores.length] as FleetStore).finish("w", c, { state: "done" })),
      );
      assert.deepEqual(new Set(finished), new Set([true]));
      const run = await store.getFleetRun(id);
      assert.equal(run?.status, "done");
      assert.ok(run?.endedAt, "the last one to end settled the fleet run");
    });

    it("a fleet with every cluster done is done; one refused makes it failed", async () => {
      const [store] = (await fresh()) as [FleetStore];
      const id = await record(store, [cluster("r0", "rest"), cluster("x", "rest", { refused: "invalid" })], {
        groups: ["rest"],
      });
      const a = await one(store, "w", 10_000);
      assert.ok(a);
      await store.finish("w", a, { state: "done" });
      const run = await store.getFleetRun(id);
      assert.equal(run?.status, "failed");
      assert.match(run?.reason ?? "", /x: invalid/);
    });
  });
}
