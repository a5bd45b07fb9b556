/**
 * The state store contract suite: one set of tests that every store must pass unchanged (SQLite,
 * PostgreSQL, in-memory). It checks what the executor relies on: runs and steps come back exactly
 * as written, updates patch only what they name, the lock is taken by exactly one claimant and
 * only as the contract allows, and writes are visible to a second instance on the same location.
 */
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import {
  type LockClaim,
  LockLostError,
  type NewNotice,
  type NewRun,
  type StateStore,
  type StepRecord,
} from "../../src/store/index.js";

export interface StoreFixture {
  readonly store: StateStore;
  /** Where the store keeps its data (a file, a schema): pass it to make() for a second instance. */
  readonly location: string;
  /** Closes the store and, for a fresh location, removes it. Safe after store.close(). */
  cleanup(): Promise<void>;
}

export interface StoreSuite {
  readonly name: string;
  /**
   * An initialised store on a fresh, empty location; given `location`, a second instance on that
   * location instead (its cleanup only closes it).
   */
  make(location?: string): Promise<StoreFixture>;
  /** Whether two instances can share one location; false for the in-memory store. Default true. */
  readonly sharesLocation?: boolean;
}

const HOUR = 3_600_000;

export function describeStateStore({ name, make, sharesLocation = true }: StoreSuite): void {
  describe(`state store contract: ${name}`, () => {
    let fixtures: StoreFixture[] = [];
    let fixture: StoreFixture | undefined;
    const store = (): StateStore => {
      assert.ok(fixture, "make() did not run");
      return fixture.store;
    };
    /** A second instance on the current fixture's location, closed after the test. */
    const twin = async (): Promise<StateStore> => {
      assert.ok(fixture, "make() did not run");
      const other = await make(fixture.location);
      fixtures.push(other);
      return other.store;
    };
    const itShared = sharesLocation
      ? it
      : (title: string, _fn: () => Promise<void>) =>
          it(title, (t) => t.skip(`${name}: instances cannot share a location`));

    beforeEach(async () => {
      fixture = await make();
      fixtures = [fixture];
    });
    afterEach(async () => {
      // Second instances first: the first fixture's cleanup may remove the location.
      for (const f of fixtures.reverse()) await f.cleanup();
      fixtures = [];
      fixture = undefined;
    });

    describe("runs", () => {
      it("getRun returns the run as created, plan and files exactly", async () => {
        const plan = {
          hops: [{ from: "23.09.9", to: "23.09.10", phases: ["preflight", "roll"] }],
          nested: {
            empty: {},
            list: [1, 2.5, -3, 0, null, true, false],
            unicode: "αβγ ✓ 🚢",
            quote: 'a "b" \\ c',
          },
          big: 2 ** 52,
        };
        const files = {
          cluster: "name: demo\nhosts:\n  - name: h1\n",
          catalog: "product: notes\n# ünïcode ✓\n\ttab\r\n",
        };
        const run = newRun({ plan, files, path: ["23.09.9", "23.09.10", "24.03.0"] });
        await store().createRun(run, ["a", "b"]);

        assert.deepEqual(await store().getRun(run.id), { ...run, endedAt: null, error: null, waiting: null });
        assert.equal(await store().getRun("no-such-run"), undefined);
      });

      it("keeps a plan that is not an object", async () => {
        await store().createRun(newRun({ id: "r-null", plan: null }), []);
        await store().createRun(newRun({ id: "r-list", plan: ["x", 1] }), []);
        assert.equal((await store().getRun("r-null"))?.plan, null);
        assert.deepEqual((await store().getRun("r-list"))?.plan, ["x", 1]);
      });

      it("copies data in and out, so callers cannot change what is stored", async () => {
        const plan = { steps: ["a"] };
        const run = newRun({ plan });
        await store().createRun(run, ["a"]);
        plan.steps.push("mutated");
        const read = await store().getRun(run.id);
        assert.ok(read);
        (read.plan as { steps: string[] }).steps.push("mutated too");
        assert.deepEqual((await store().getRun(run.id))?.plan, { steps: ["a"] });
      });

      it("refuses a second run with the same id", async () => {
        const run = newRun();
        await store().createRun(run, ["a"]);
        // The store's own words for a second row with that key, not any failure at all.
        await assert.rejects(
          store().createRun({ ...run, cluster: "other" }, ["b"]),
          /already exists|UNIQUE constraint failed: runs\.id|duplicate key value violates unique constraint "runs_pkey"/,
        );
        assert.equal((await store().getRun(run.id))?.cluster, run.cluster);
        assert.deepEqual(
          (await store().steps(run.id)).map((s) => s.id),
          ["a"],
        );
      });

      it("writes a run with duplicate step ids not at all", async () => {
        await assert.rejects(
          store().createRun(newRun({ id: "dup" }), ["a", "b", "a"]),
          /step a appears twice|UNIQUE constraint failed: steps\.|duplicate key value violates unique constraint "steps_pkey"/,
        );
        assert.equal(await store().getRun("dup"), undefined);
        assert.deepEqual(await store().steps("dup"), []);
      });

      it("updateRun patches only the given fields; an unknown run is an error", async () => {
        const run = newRun();
        await store().createRun(run, []);
        await store().updateRun(run.id, { status: "failed", error: "h2 did not come back" });
        let read = await store().getRun(run.id);
        assert.equal(read?.status, "failed");
        assert.equal(read?.error, "h2 did not come back");
        assert.equal(read?.endedAt, null);

        await store().updateRun(run.id, { status: "done", endedAt: run.startedAt + 5000, error: null });
        read = await store().getRun(run.id);
        assert.deepEqual(read, {
          ...run,
          status: "done",
          endedAt: run.startedAt + 5000,
          error: null,
          waiting: null,
        });

        await assert.rejects(store().updateRun("no-such-run", { status: "done" }), /no-such-run/);
      });

      it("unfinishedRun finds the newest unfinished run of that cluster only", async () => {
        const t = Date.UTC(2026, 0, 1);
        await store().createRun(newRun({ id: "old-paused", status: "paused", startedAt: t }), []);
        await store().createRun(newRun({ id: "stopped", status: "stopped", startedAt: t + 1000 }), []);
        await store().createRun(newRun({ id: "done", status: "done", startedAt: t + 2000 }), []);
        await store().createRun(
          newRun({ id: "rolled-back", status: "rolled-back", startedAt: t + 3000 }),
          [],
        );
        await store().createRun(
          newRun({ id: "other", cluster: "other", status: "running", startedAt: t + 4000 }),
          [],
        );

        assert.equal((await store().unfinishedRun("demo"))?.id, "stopped");
        assert.equal((await store().unfinishedRun("other"))?.id, "other");
        assert.equal(await store().unfinishedRun("nobody"), undefined);

        await store().updateRun("stopped", { status: "done", endedAt: t + 9000 });
        await store().updateRun("old-paused", { status: "rolled-back", endedAt: t + 9000 });
        assert.equal(await store().unfinishedRun("demo"), undefined);
      });

      it("unfinishedRun returns the whole record, plan and files included", async () => {
        const run = newRun({ plan: { p: 1 }, files: { cluster: "x" } });
        await store().createRun(run, []);
        assert.deepEqual(await store().unfinishedRun("demo"), {
          ...run,
          endedAt: null,
          error: null,
          waiting: null,
        });
      });

      it("listRuns returns the cluster's runs newest first, without plan and files", async () => {
        const t = Date.UTC(2026, 0, 1);
        await store().createRun(newRun({ id: "b", startedAt: t + 1000 }), []);
        await store().createRun(newRun({ id: "c", startedAt: t + 2000, status: "done" }), []);
        await store().createRun(newRun({ id: "a", startedAt: t }), []);
        await store().createRun(newRun({ id: "x", cluster: "other", startedAt: t + 5000 }), []);

        const runs = await store().listRuns("demo");
        assert.deepEqual(
          runs.map((r) => r.id),
          ["c", "b", "a"],
        );
        for (const r of runs) {
          assert.equal("plan" in r, false);
          assert.equal("files" in r, false);
        }
        const { plan: _plan, files: _files, ...summary } = newRun({ id: "b", startedAt: t + 1000 });
        assert.deepEqual(runs[1], { ...summary, endedAt: null, error: null, waiting: null });
        assert.deepEqual(await store().listRuns("nobody"), []);
      });

      it("keeps who started each run, in getRun and listRuns", async () => {
        await store().createRun(newRun({ id: "a", startedBy: "alice@bastion" }), []);
        await store().createRun(newRun({ id: "b", startedBy: "ci: deploy #4512 (Ünïcode, 'quotes')" }), []);
        assert.equal((await store().getRun("a"))?.startedBy, "alice@bastion");
        assert.deepEqual(
          (await store().listRuns("demo")).map((r) => [r.id, r.startedBy]),
          [
            ["b", "ci: deploy #4512 (Ünïcode, 'quotes')"],
            ["a", "alice@bastion"],
          ],
        );
      });

      it("keeps the release warnings accepted to start a run, in getRun, unfinishedRun and listRuns", async () => {
        const acceptedWarnings = {
          by: "tom@bastion",
          at: "2026-11-21T03:00:00.000Z",
          how: "prompt",
          warnings: [
            { hop: "1.8.0 → 1.9.0", release: "1.9.0", from: "<1.9.0", text: "Volumes are lost; 'quotes' ✓" },
            { hop: "1.8.0 → 1.9.0", release: "1.9.0", text: "no range" },
          ],
        } as const;
        await store().createRun(newRun({ id: "a", acceptedWarnings }), []);
        // A run created without the field has none, as one created before stores kept it.
        const { acceptedWarnings: _none, ...older } = newRun({ id: "b", startedAt: 1 });
        await store().createRun(older, []);
        assert.deepEqual((await store().getRun("a"))?.acceptedWarnings, acceptedWarnings);
        assert.deepEqual((await store().unfinishedRun("demo"))?.acceptedWarnings, acceptedWarnings);
        assert.deepEqual(
          (await store().listRuns("demo")).map((r) => [r.id, r.acceptedWarnings]),
          [
            ["a", acceptedWarnings],
            ["b", null],
          ],
        );
        assert.equal((await store().getRun("b"))?.acceptedWarnings, null);
      });

      it("keeps what a run waits for, from none to one and back, in getRun, unfinishedRun and listRuns", async () => {
        await store().createRun(newRun(), []);
        assert.equal((await store().getRun("r1"))?.waiting, null);
        const waiting = {
          for: "approval",
          since: Date.UTC(2026, 10, 21, 3, 5, 0),
          detail: "approve 24.03.0/roll/api/approve/before ✓",
          step: "24.03.0/roll/api/approve/before",
        } as const;
        await store().updateRun("r1", { waiting });
        assert.deepEqual((await store().getRun("r1"))?.waiting, waiting);
        assert.deepEqual((await store().unfinishedRun("demo"))?.waiting, waiting);
        assert.deepEqual((await store().listRuns("demo"))[0]?.waiting, waiting);
        await store().updateRun("r1", { status: "paused" });
        assert.deepEqual((await store().getRun("r1"))?.waiting, waiting, "a patch without it leaves it");
        await store().updateRun("r1", { waiting: null });
        assert.equal((await store().getRun("r1"))?.waiting, null);
      });

      it("runs started in the same millisecond: the later created counts as newer", async () => {
        await store().createRun(newRun({ id: "first" }), []);
        await store().createRun(newRun({ id: "second" }), []);
        assert.deepEqual(
          (await store().listRuns("demo")).map((r) => r.id),
          ["second", "first"],
        );
        assert.equal((await store().unfinishedRun("demo"))?.id, "second");
      });
    });

    describe("pause requests", () => {
      it("requestPause marks a running run and says who asked; clearPause clears it", async () => {
        const run = newRun();
        await store().createRun(run, ["a"]);
        assert.equal(await store().pauseRequest(run.id), null);
        assert.equal(await store().requestPause(run.id, "ops@bastion"), true);
        assert.equal(await store().pauseRequest(run.id), "ops@bastion");
        // The mark is no part of the run's record: nothing else about the run changes.
        assert.deepEqual(await store().getRun(run.id), { ...run, endedAt: null, error: null, waiting: null });
        await store().clearPause(run.id);
        assert.equal(await store().pauseRequest(run.id), null);
      });

      it("requestPause marks nothing on a run that is not running, or no run", async () => {
        for (const status of [
          "paused",
          "stopped",
          "rolling-back",
          "failed",
          "done",
          "rolled-back",
        ] as const) {
          await store().createRun(newRun({ id: status, status }), []);
          assert.equal(await store().requestPause(status, "ops@bastion"), false, status);
          assert.equal(await store().pauseRequest(status), null, status);
        }
        assert.equal(await store().requestPause("no-such-run", "ops@bastion"), false);
        assert.equal(await store().pauseRequest("no-such-run"), null);
        await assert.rejects(store().clearPause("no-such-run"), /no-such-run/);
      });

      it("requestPause sees a status written just before it", async () => {
        const run = newRun();
        await store().createRun(run, ["a"]);
        // Not awaited: a queued (group-committed) write must count before the check.
        const paused = store().updateRun(run.id, { status: "paused" });
        assert.equal(await store().requestPause(run.id, "ops@bastion"), false);
        await paused;
      });

      itShared("a pause requested through one instance is seen through the other", async () => {
        const other = await twin();
        const run = newRun();
        await store().createRun(run, ["a"]);
        assert.equal(await other.requestPause(run.id, "ops@elsewhere"), true);
        assert.equal(await store().pauseRequest(run.id), "ops@elsewhere");
        await store().clearPause(run.id);
        assert.equal(await other.pauseRequest(run.id), null);
      });
    });

    describe("steps", () => {
      it("come back in seq order, all pending, attempts 0", async () => {
        // Ids whose sort order differs from the plan's, so that order cannot come from the id.
        const ids = ["24.03.0/preflight", "23.09.10/roll/api/h2/activate", "z/first", "a/last", "m/middle"];
        await store().createRun(newRun(), ids);
        assert.deepEqual(
          await store().steps("r1"),
          ids.map((id, seq) => pendingStep(id, seq)),
        );
        assert.deepEqual(await store().steps("no-such-run"), []);
      });

      it("belong to their run", async () => {
        await store().createRun(newRun({ id: "r1" }), ["a", "b"]);
        await store().createRun(newRun({ id: "r2" }), ["b", "c", "d"]);
        await store().updateStep("r2", "b", { state: "done" });
        assert.deepEqual(
          (await store().steps("r1")).map((s) => [s.id, s.state]),
          [
            ["a", "pending"],
            ["b", "pending"],
          ],
        );
        assert.deepEqual(
          (await store().steps("r2")).map((s) => [s.id, s.seq, s.state]),
          [
            ["b", 0, "done"],
            ["c", 1, "pending"],
            ["d", 2, "pending"],
          ],
        );
      });

      it("updateStep patches only the given fields", async () => {
        await store().createRun(newRun(), ["a", "b"]);
        const t = Date.UTC(2026, 0, 1);
        await store().updateStep("r1", "a", { state: "running", startedAt: t, attempts: 1 });
        let [a, b] = await store().steps("r1");
        assert.deepEqual(a, { ...pendingStep("a", 0), state: "running", startedAt: t, attempts: 1 });
        assert.deepEqual(b, pendingStep("b", 1));

        const output = `${"line of output ✓\n".repeat(200)}tail`;
        await store().updateStep("r1", "a", {
          state: "failed",
          endedAt: t + 1500,
          exitCode: 127,
          output,
          error: "exit 127",
        });
        [a] = await store().steps("r1");
        assert.deepEqual(a, {
          ...pendingStep("a", 0),
          state: "failed",
          startedAt: t,
          endedAt: t + 1500,
          exitCode: 127,
          output,
          error: "exit 127",
          attempts: 1,
        });

        // null is a value (clears the field); undefined is "not given".
        await store().updateStep("r1", "a", {
          state: "running",
          endedAt: null,
          exitCode: null,
          error: undefined,
          attempts: 2,
        });
        [a, b] = await store().steps("r1");
        assert.deepEqual(a, {
          ...pendingStep("a", 0),
          state: "running",
          startedAt: t,
          output,
          error: "exit 127",
          attempts: 2,
        });
        assert.deepEqual(b, pendingStep("b", 1));
      });

      it("keeps what a step observed, in one or many updates", async () => {
        await store().createRun(newRun(), ["roles", "other"]);
        await Promise.all([
          store().updateStep("r1", "roles", { state: "done", observed: { active: "h2" } }),
          store().updateStep("r1", "other", { state: "running" }),
        ]);
        await store().updateStep("r1", "other", { observed: { active: "h3", note: 'a "quoted" ✓' } });
        const [roles, other] = await store().steps("r1");
        assert.deepEqual(roles, { ...pendingStep("roles", 0), state: "done", observed: { active: "h2" } });
        assert.deepEqual(other?.observed, { active: "h3", note: 'a "quoted" ✓' });
      });

      it("keeps when a step was undone apart from when its run ended", async () => {
        await store().createRun(newRun(), ["a"]);
        await store().updateStep("r1", "a", { state: "done", startedAt: 10, endedAt: 20 });
        await store().updateStep("r1", "a", { state: "undone", undoneAt: 90 });
        const [a] = await store().steps("r1");
        assert.deepEqual([a?.startedAt, a?.endedAt, a?.undoneAt], [10, 20, 90]);
      });

      it("updateStep of an unknown step or run is an error", async () => {
        await store().createRun(newRun(), ["a"]);
        await assert.rejects(store().updateStep("r1", "nope", { state: "done" }), /nope/);
        await assert.rejects(store().updateStep("no-such-run", "a", { state: "done" }), /no-such-run/);
        assert.deepEqual(await store().steps("r1"), [pendingStep("a", 0)]);
      });

      it("a failing update does not fail the updates issued alongside it", async () => {
        await store().createRun(newRun(), ["a", "b"]);
        const results = await Promise.allSettled([
          store().updateStep("r1", "a", { state: "running" }),
          store().updateStep("r1", "nope", { state: "running" }),
          store().updateRun("no-such-run", { status: "done" }),
          store().updateStep("r1", "b", { state: "done" }),
          store().updateRun("r1", { status: "paused" }),
        ]);
        assert.deepEqual(
          results.map((r) => r.status),
          ["fulfilled", "rejected", "rejected", "fulfilled", "fulfilled"],
        );
        assert.deepEqual(
          (await store().steps("r1")).map((s) => s.state),
          ["running", "done"],
        );
        assert.equal((await store().getRun("r1"))?.status, "paused");
      });

      it("updates issued together apply in the order they were issued", async () => {
        await store().createRun(newRun(), ["a"]);
        const writes = [
          store().updateStep("r1", "a", { state: "running", attempts: 1, startedAt: 10 }),
          store().updateStep("r1", "a", { state: "done", endedAt: 20, exitCode: 0 }),
          store().updateStep("r1", "a", { state: "undoing" }),
          store().updateStep("r1", "a", { state: "undone", attempts: 2 }),
        ];
        // Not awaited yet: a read issued after them must still see them.
        const [a] = await store().steps("r1");
        await Promise.all(writes);
        const expected = {
          ...pendingStep("a", 0),
          state: "undone",
          attempts: 2,
          startedAt: 10,
          endedAt: 20,
          exitCode: 0,
        };
        assert.deepEqual(a, expected);
        assert.deepEqual((await store().steps("r1"))[0], expected);
      });

      it("many concurrent updates are all kept", async () => {
        const ids = Array.from({ length: 60 }, (_, i) => `hop/roll/api/h${i}/activate`);
        await store().createRun(newRun(), ids);
        await Promise.all(
          ids.flatMap((id, i) => [
            store().updateStep("r1", id, { state: "running", startedAt: 1000 + i, attempts: 1 }),
            store().updateStep("r1", id, { output: `out ${i}` }),
            store().updateRun("r1", { error: `last note ${i}` }),
          ]),
        );
        // And again, spread over several ticks.
        await Promise.all(
          ids.map(async (id, i) => {
            await delay(i % 7);
            await store().updateStep("r1", id, { state: "done", endedAt: 2000 + i, exitCode: 0 });
          }),
        );
        const expected = ids.map((id, i) => ({
          ...pendingStep(id, i),
          state: "done",
          startedAt: 1000 + i,
          endedAt: 2000 + i,
          exitCode: 0,
          output: `out ${i}`,
          attempts: 1,
        }));
        assert.deepEqual(await store().steps("r1"), expected);
        assert.equal((await store().getRun("r1"))?.error, `last note ${ids.length - 1}`);

        if (sharesLocation) {
          // Durable: a fresh instance sees them after this one is gone.
          await store().close();
          assert.deepEqual(await (await twin()).steps("r1"), expected);
        }
      });

      it("createRun takes 100,000 steps in reasonable time", async (t) => {
        const ids = Array.from({ length: 100_000 }, (_, i) => `h/${String(i).padStart(6, "0")}/step`);
        const started = performance.now();
        await store().createRun(newRun(), ids);
        const ms = performance.now() - started;
        t.diagnostic(`${name}: createRun with 100,000 steps took ${ms.toFixed(0)} ms`);
        assert.ok(ms < 30_000, `took ${ms.toFixed(0)} ms`);
        const steps = await store().steps("r1");
        assert.equal(steps.length, ids.length);
        assert.deepEqual(steps[0], pendingStep(ids[0] ?? "", 0));
        assert.deepEqual(steps[99_999], pendingStep(ids[99_999] ?? "", 99_999));
        await store().updateStep("r1", ids[54_321] ?? "", { state: "done" });
        assert.equal((await store().steps("r1"))[54_321]?.state, "done");
      });
    });

    describe("notes", () => {
      const note = (text: string, at = 1_700_000_000_000) => ({
        at,
        by: "alice@box",
        kind: "host-undo",
        text,
      });

      it("addNote keeps a run's notes in the order added, apart from other runs' notes", async () => {
        await store().createRun(newRun({ id: "r1" }), ["a"]);
        await store().createRun(newRun({ id: "r2" }), ["a"]);
        assert.deepEqual(await store().notes("r1"), []);
        await store().addNote("r1", note("h2 taken back to 1.0.0"));
        await store().addNote("r2", note("elsewhere"));
        await store().addNote("r1", note("h2 taken back again ✓", 1_700_000_000_001));
        assert.deepEqual(await store().notes("r1"), [
          note("h2 taken back to 1.0.0"),
          note("h2 taken back again ✓", 1_700_000_000_001),
        ]);
        assert.deepEqual(await store().notes("r2"), [note("elsewhere")]);
        assert.deepEqual(await store().notes("no-such-run"), []);
      });

      it("keeps the step a note is about", async () => {
        await store().createRun(newRun(), ["a"]);
        const answer = { ...note("approved"), kind: "approved", step: "24.03.0/roll/api/approve/before" };
        await store().addNote("r1", answer);
        await store().addNote("r1", note("plain"));
        assert.deepEqual(await store().notes("r1"), [answer, note("plain")]);
      });

      it("addNote to an unknown run is an error, and a fenced one is refused without the lock", async () => {
        await assert.rejects(store().addNote("no-such-run", note("x")), /no-such-run/);
        await store().createRun(newRun(), ["a"]);
        await store().tryLock("demo", claim("A"));
        await store().addNote("r1", note("held"), "A");
        await assert.rejects(store().addNote("r1", note("not held"), "B"), LockLostError);
        assert.deepEqual(await store().notes("r1"), [note("held")]);
      });

      itShared("are seen by another instance", async () => {
        const other = await twin();
        await store().createRun(newRun(), ["a"]);
        await store().addNote("r1", note("seen"));
        assert.deepEqual(await other.notes("r1"), [note("seen")]);
      });
    });

    describe("gate measurements", () => {
      const m = (
        value: number | null,
        verdict: "pass" | "fail" | "inconclusive",
        at = 1_700_000_000_000,
      ) => ({
        step: "1.0.1/roll/api/batch-1/gate/errors",
        gate: "errors",
        attempt: 1,
        at,
        value,
        verdict,
        detail: value === null ? "no data" : `${value} is below 1`,
      });

      it("keeps a run's measurements in the order added, NaN-free values and null as given", async () => {
        await store().createRun(newRun({ id: "r1" }), ["a"]);
        await store().createRun(newRun({ id: "r2" }), ["a"]);
        assert.deepEqual(await store().measurements("r1"), []);
        await store().addMeasurement("r1", m(0.25, "pass"));
        await store().addMeasurement("r2", m(3, "fail"));
        await store().addMeasurement("r1", m(null, "inconclusive", 1_700_000_000_400));
        assert.deepEqual(await store().measurements("r1"), [
          m(0.25, "pass"),
          m(null, "inconclusive", 1_700_000_000_400),
        ]);
        assert.deepEqual(await store().measurements("r2"), [m(3, "fail")]);
        assert.deepEqual(await store().measurements("no-such-run"), []);
      });

      it("a measurement of an unknown run is an error, and a fenced one is refused without the lock", async () => {
        await assert.rejects(store().addMeasurement("no-such-run", m(1, "pass")), /no-such-run/);
        await store().createRun(newRun(), ["a"]);
        await store().tryLock("demo", claim("A"));
        await store().addMeasurement("r1", m(0, "pass"), "A");
        await assert.rejects(store().addMeasurement("r1", m(1, "pass"), "B"), LockLostError);
        assert.deepEqual(await store().measurements("r1"), [m(0, "pass")]);
      });
    });

    describe("lock", () => {
      it("tryLock takes a free lock, and lockHolder reports the holder", async () => {
        assert.equal(await store().lockHolder("demo"), undefined);
        const before = Date.now();
        const r = await store().tryLock("demo", claim("A", { runId: "r1" }));
        assert.deepEqual(r, { acquired: true, tookOverFrom: null });
        const holder = await store().lockHolder("demo");
        assert.ok(holder);
        assert.equal(holder.token, "A");
        assert.equal(holder.host, "host-A");
        assert.equal(holder.pid, 1001);
        assert.equal(holder.runId, "r1");
        // The store may use another machine's clock (PostgreSQL's): allow some skew.
        assert.ok(
          Math.abs(holder.acquiredAt - before) < 60_000,
          `acquiredAt ${holder.acquiredAt} vs ${before}`,
        );
        assert.ok(Math.abs(holder.leaseUntil - (holder.acquiredAt + HOUR)) < 1000);
      });

      it("tryLock is refused while a live lease is held, naming the holder", async () => {
        await store().tryLock("demo", claim("A", { runId: "r1" }));
        const holder = await store().lockHolder("demo");
        const r = await store().tryLock("demo", claim("B"));
        assert.deepEqual(r, { acquired: false, holder });
        // A takeOverToken that is not the holder's changes nothing.
        assert.deepEqual(await store().tryLock("demo", claim("B"), "C"), { acquired: false, holder });
        assert.deepEqual(await store().lockHolder("demo"), holder);
      });

      it("tryLock with the holder's own token re-enters and extends the lease", async () => {
        await store().tryLock("demo", claim("A", { leaseMs: 60_000 }));
        const first = await store().lockHolder("demo");
        const r = await store().tryLock("demo", claim("A", { leaseMs: HOUR, runId: "r9" }));
        assert.deepEqual(r, { acquired: true, tookOverFrom: null });
        const now = await store().lockHolder("demo");
        assert.equal(now?.token, "A");
        assert.equal(now?.runId, "r9");
        assert.equal(now?.acquiredAt, first?.acquiredAt);
        assert.ok((now?.leaseUntil ?? 0) > (first?.leaseUntil ?? 0) + 60_000);
      });

      it("tryLock takes over once the lease has expired, reporting the former holder", async () => {
        // A lease of 0 ms has run out by the time anyone asks: no waiting on the clock.
        await store().tryLock("demo", claim("A", { leaseMs: 0 }));
        const old = await store().lockHolder("demo");
        const r = await store().tryLock("demo", claim("B"));
        assert.deepEqual(r, { acquired: true, tookOverFrom: old });
        assert.equal((await store().lockHolder("demo"))?.token, "B");
      });

      it("tryLock takes over a live lease with the holder's token as takeOverToken", async () => {
        await store().tryLock("demo", claim("A"));
        const old = await store().lockHolder("demo");
        const r = await store().tryLock("demo", claim("B", { runId: "r2" }), "A");
        assert.deepEqual(r, { acquired: true, tookOverFrom: old });
        const now = await store().lockHolder("demo");
        assert.equal(now?.token, "B");
        assert.equal(now?.runId, "r2");
        assert.equal(now?.host, "host-B");
      });

      it("renewLock extends the holder's lease, and is false once someone else took it", async () => {
        await store().tryLock("demo", claim("A", { leaseMs: 60_000 }));
        const first = await store().lockHolder("demo");
        assert.equal(await store().renewLock("demo", claim("A", { leaseMs: HOUR })), true);
        const renewed = await store().lockHolder("demo");
        assert.ok((renewed?.leaseUntil ?? 0) > (first?.leaseUntil ?? 0) + 60_000);
        assert.equal(renewed?.acquiredAt, first?.acquiredAt);

        assert.equal(await store().renewLock("demo", claim("B")), false);
        await store().tryLock("demo", claim("B"), "A");
        assert.equal(await store().renewLock("demo", claim("A")), false);
        assert.equal((await store().lockHolder("demo"))?.token, "B");
      });

      it("renewLock is false when nobody holds the lock", async () => {
        assert.equal(await store().renewLock("demo", claim("A")), false);
        assert.equal(await store().lockHolder("demo"), undefined);
      });

      it("releaseLock releases only for the holder's token", async () => {
        await store().tryLock("demo", claim("A"));
        await store().releaseLock("demo", "B");
        assert.equal((await store().lockHolder("demo"))?.token, "A");
        await store().releaseLock("demo", "A");
        assert.equal(await store().lockHolder("demo"), undefined);
        await store().releaseLock("demo", "A");
        assert.deepEqual(await store().tryLock("demo", claim("B")), { acquired: true, tookOverFrom: null });
      });

      it("of 20 concurrent tryLock calls, exactly one acquires", async () => {
        const tokens = Array.from({ length: 20 }, (_, i) => `T${i}`);
        const results = await Promise.all(tokens.map((token) => store().tryLock("demo", claim(token))));
        const winners = tokens.filter((_, i) => results[i]?.acquired);
        assert.equal(winners.length, 1, `acquired: ${winners.join(", ")}`);
        const holder = await store().lockHolder("demo");
        assert.equal(holder?.token, winners[0]);
        for (const r of results) if (!r.acquired) assert.equal(r.holder.token, winners[0]);
      });
    });

    describe("fenced writes", () => {
      it("apply while their token holds the lock; otherwise are refused with LockLostError, changing nothing", async () => {
        await store().createRun(newRun(), ["a", "b"]);
        await store().tryLock("demo", claim("A"));
        await store().updateStep("r1", "a", { state: "running", attempts: 1 }, "A");
        await store().updateRun("r1", { status: "rolling-back" }, "A");

        await assert.rejects(store().updateStep("r1", "a", { state: "done" }, "B"), LockLostError);
        await assert.rejects(store().updateRun("r1", { status: "done" }, "B"), LockLostError);
        assert.equal((await store().steps("r1"))[0]?.state, "running");
        assert.equal((await store().getRun("r1"))?.status, "rolling-back");
      });

      it("after a takeover, the former holder's writes are refused, beside others that apply", async () => {
        await store().createRun(newRun(), ["a", "b"]);
        await store().tryLock("demo", claim("A"));
        await store().tryLock("demo", claim("B"), "A");
        // Issued together, so a store that groups writes commits them in one batch.
        const results = await Promise.allSettled([
          store().updateStep("r1", "a", { state: "done" }, "A"),
          store().updateStep("r1", "b", { state: "running" }, "B"),
          store().updateRun("r1", { status: "paused" }, "A"),
          store().updateRun("r1", { error: "noted" }),
        ]);
        assert.deepEqual(
          results.map((r) => (r.status === "rejected" ? (r.reason as Error).name : "ok")),
          ["LockLostError", "ok", "LockLostError", "ok"],
        );
        assert.deepEqual(
          (await store().steps("r1")).map((s) => s.state),
          ["pending", "running"],
        );
        const run = await store().getRun("r1");
        assert.deepEqual([run?.status, run?.error], ["running", "noted"]);
      });

      it("a released lock fences its former holder too", async () => {
        await store().createRun(newRun(), ["a"]);
        await store().tryLock("demo", claim("A"));
        await store().releaseLock("demo", "A");
        await assert.rejects(store().updateStep("r1", "a", { state: "done" }, "A"), LockLostError);
        assert.equal((await store().steps("r1"))[0]?.state, "pending");
      });

      itShared("a takeover through another instance fences the first", async () => {
        const other = await twin();
        await store().createRun(newRun(), ["a"]);
        await store().tryLock("demo", claim("A"));
        await other.tryLock("demo", claim("B"), "A");
        await assert.rejects(store().updateStep("r1", "a", { state: "done" }, "A"), LockLostError);
        await other.updateStep("r1", "a", { state: "done" }, "B");
        assert.equal((await store().steps("r1"))[0]?.state, "done");
      });
    });

    describe("one lock per cluster", () => {
      const note = { at: 1, by: "ops@bastion", kind: "host-undo", text: "h2" };
      const measured = {
        step: "s",
        gate: "g",
        attempt: 1,
        at: 1,
        value: 0,
        verdict: "pass",
        detail: "0 is below 1",
      } as const;

      it("two clusters in one store lock independently", async () => {
        assert.deepEqual(await store().tryLock("demo", claim("A")), { acquired: true, tookOverFrom: null });
        assert.deepEqual(await store().tryLock("edge", claim("B")), { acquired: true, tookOverFrom: null });
        assert.equal((await store().lockHolder("demo"))?.token, "A");
        assert.equal((await store().lockHolder("edge"))?.token, "B");
        assert.equal(await store().lockHolder("core"), undefined);
        // Each token renews and releases its own cluster's lock only.
        assert.equal(await store().renewLock("edge", claim("A")), false);
        assert.equal(await store().renewLock("demo", claim("A")), true);
        await store().releaseLock("edge", "A");
        assert.equal((await store().lockHolder("edge"))?.token, "B");
        await store().releaseLock("demo", "A");
        assert.equal(await store().lockHolder("demo"), undefined);
        assert.equal((await store().lockHolder("edge"))?.token, "B");
        assert.equal((await store().tryLock("demo", claim("C"))).acquired, true);
      });

      it("of concurrent tryLock calls on two clusters, exactly one per cluster acquires", async () => {
        const calls = Array.from({ length: 20 }, (_, i) => ({
          cluster: i % 2 ? "edge" : "demo",
          token: `T${i}`,
        }));
        const results = await Promise.all(calls.map((c) => store().tryLock(c.cluster, claim(c.token))));
        for (const cluster of ["demo", "edge"]) {
          const winners = calls.filter((c, i) => c.cluster === cluster && results[i]?.acquired);
          assert.equal(winners.length, 1, `${cluster}: acquired ${winners.map((w) => w.token).join(", ")}`);
          assert.equal((await store().lockHolder(cluster))?.token, winners[0]?.token);
        }
      });

      it("a holder of one cluster's lock is refused when fencing a write to another cluster's run", async () => {
        await store().createRun(newRun({ id: "d1", cluster: "demo" }), ["a"]);
        await store().createRun(newRun({ id: "e1", cluster: "edge" }), ["a"]);
        await store().tryLock("demo", claim("A"));
        await store().tryLock("edge", claim("B"));
        // Issued together, so a store that groups writes commits them in one batch.
        const results = await Promise.allSettled([
          store().updateStep("d1", "a", { state: "running" }, "A"),
          store().updateStep("e1", "a", { state: "running" }, "A"),
          store().updateRun("e1", { status: "paused" }, "A"),
          store().updateStep("e1", "a", { attempts: 1 }, "B"),
          store().updateRun("d1", { status: "paused" }, "B"),
        ]);
        assert.deepEqual(
          results.map((r) => (r.status === "rejected" ? (r.reason as Error).name : "ok")),
          ["ok", "LockLostError", "LockLostError", "ok", "LockLostError"],
        );
        // And one at a time, for every kind of fenced write.
        await assert.rejects(store().updateStep("e1", "a", { state: "done" }, "A"), LockLostError);
        await assert.rejects(store().updateRun("e1", { status: "done" }, "A"), LockLostError);
        await assert.rejects(store().addNote("e1", note, "A"), LockLostError);
        await assert.rejects(store().addMeasurement("e1", measured, "A"), LockLostError);
        await assert.rejects(store().addNote("d1", note, "B"), LockLostError);
        await assert.rejects(store().addMeasurement("d1", measured, "B"), LockLostError);
        await store().addNote("d1", note, "A");
        await store().addMeasurement("e1", measured, "B");

        const [d, e] = [await store().getRun("d1"), await store().getRun("e1")];
        assert.deepEqual([d?.status, e?.status], ["running", "running"]);
        assert.deepEqual(
          [(await store().steps("d1"))[0], (await store().steps("e1"))[0]].map((x) => [
            x?.state,
            x?.attempts,
          ]),
          [
            ["running", 0],
            ["pending", 1],
          ],
        );
        assert.deepEqual([(await store().notes("d1")).length, (await store().notes("e1")).length], [1, 0]);
        assert.deepEqual(
          [(await store().measurements("d1")).length, (await store().measurements("e1")).length],
          [0, 1],
        );
      });

      it("fenced step updates issued together check the lock of each one's own run's cluster", async () => {
        await store().createRun(newRun({ id: "d1", cluster: "demo" }), ["a", "b"]);
        await store().createRun(newRun({ id: "e1", cluster: "edge" }), ["a", "b"]);
        await store().tryLock("demo", claim("A"));
        await store().tryLock("edge", claim("B"));
        const outcome = async (writes: Promise<void>[]) =>
          (await Promise.allSettled(writes)).map((r) =>
            r.status === "rejected" ? (r.reason as Error).name : "ok",
          );
        const step = (run: string, id: string, state: StepRecord["state"], fence: string) =>
          store().updateStep(run, id, { state }, fence);
        // One run's steps, under its cluster's lock, then under the other's.
        assert.deepEqual(await outcome([step("d1", "a", "running", "A"), step("d1", "b", "running", "A")]), [
          "ok",
          "ok",
        ]);
        assert.deepEqual(await outcome([step("e1", "a", "running", "A"), step("e1", "b", "running", "A")]), [
          "LockLostError",
          "LockLostError",
        ]);
        // Two clusters' runs under one fence: only the steps of its own cluster's run apply.
        assert.deepEqual(
          await outcome([
            step("d1", "a", "done", "A"),
            step("e1", "a", "done", "A"),
            step("d1", "b", "done", "A"),
          ]),
          ["ok", "LockLostError", "ok"],
        );
        assert.deepEqual(
          [...(await store().steps("d1")), ...(await store().steps("e1"))].map((x) => x.state),
          ["done", "done", "pending", "pending"],
        );
      });

      it("takes over one cluster's lock, leaving the other's holder and its writes alone", async () => {
        await store().createRun(newRun({ id: "d1", cluster: "demo" }), ["a"]);
        await store().createRun(newRun({ id: "e1", cluster: "edge" }), ["a"]);
        await store().tryLock("demo", claim("A", { leaseMs: 0 }));
        await store().tryLock("edge", claim("B"));
        const old = await store().lockHolder("demo");
        // An expired lease on demo is taken; a live one on edge is not, even with a takeover of demo's token.
        assert.deepEqual(await store().tryLock("demo", claim("C")), { acquired: true, tookOverFrom: old });
        assert.equal((await store().tryLock("edge", claim("D"), "A")).acquired, false);
        // A live lease is taken with its holder's token, on that cluster only.
        const edge = await store().lockHolder("edge");
        assert.deepEqual(await store().tryLock("edge", claim("D"), "B"), {
          acquired: true,
          tookOverFrom: edge,
        });
        assert.equal((await store().lockHolder("demo"))?.token, "C");

        await assert.rejects(store().updateStep("d1", "a", { state: "done" }, "A"), LockLostError);
        await assert.rejects(store().updateStep("e1", "a", { state: "done" }, "B"), LockLostError);
        await store().updateStep("d1", "a", { state: "running" }, "C");
        await store().updateStep("e1", "a", { state: "done" }, "D");
        assert.deepEqual(
          [(await store().steps("d1"))[0]?.state, (await store().steps("e1"))[0]?.state],
          ["running", "done"],
        );
      });

      itShared(
        "through two instances: each cluster's lock is shared, and separate from the other's",
        async () => {
          const other = await twin();
          await store().tryLock("demo", claim("A"));
          assert.equal((await other.tryLock("edge", claim("B"))).acquired, true);
          const r = await other.tryLock("demo", claim("C"));
          assert.equal(!r.acquired && r.holder.token, "A");
          assert.equal((await store().lockHolder("edge"))?.token, "B");
        },
      );
    });

    describe("notification outbox", () => {
      /** A decide() that appends `condition` (sending `event` to `keys`) unless it is the last already. */
      const notice =
        (condition: string, event: string | null = null, keys: readonly string[] = [], at = 1000) =>
        (last: string | null): NewNotice | null =>
          last === condition
            ? null
            : {
                condition,
                event,
                body: event ? { event, text: `ferry: ${event} ✓`, nested: { list: [1, null] } } : null,
                createdAt: at,
                deliveries: keys.map((key) => ({
                  key,
                  receiver: { webhook: `http://h/${key}`, headers: {} },
                })),
              };

      it("appendNotice appends in order, telling decide the last condition; notices returns them", async () => {
        await store().createRun(newRun(), ["a"]);
        const seen: (string | null)[] = [];
        const spy =
          (d: (last: string | null) => NewNotice | null) =>
          (last: string | null): NewNotice | null => {
            seen.push(last);
            return d(last);
          };
        assert.equal(await store().appendNotice("r1", spy(notice("running", "started", ["k1", "k2"]))), 1);
        assert.equal(await store().appendNotice("r1", spy(notice("rolling-back"))), 2);
        assert.equal(await store().appendNotice("r1", spy(notice("done", "done", ["k3"], 2000))), 3);
        assert.deepEqual(seen, [null, "running", "rolling-back"]);
        const pending = (key: string, seq: number, at: number) => ({
          key,
          runId: "r1",
          seq,
          receiver: { webhook: `http://h/${key}`, headers: {} },
          state: "pending",
          attempts: 0,
          nextAt: at,
          lastError: null,
          deliveredAt: null,
        });
        assert.deepEqual(await store().notices("r1"), [
          {
            seq: 1,
            condition: "running",
            event: "started",
            body: { event: "started", text: "ferry: started ✓", nested: { list: [1, null] } },
            createdAt: 1000,
            deliveries: [pending("k1", 1, 1000), pending("k2", 1, 1000)],
          },
          { seq: 2, condition: "rolling-back", event: null, body: null, createdAt: 1000, deliveries: [] },
          {
            seq: 3,
            condition: "done",
            event: "done",
            body: { event: "done", text: "ferry: done ✓", nested: { list: [1, null] } },
            createdAt: 2000,
            deliveries: [pending("k3", 3, 2000)],
          },
        ]);
        assert.deepEqual(await store().notices("no-such-run"), []);
      });

      it("appends nothing when decide says so, and refuses an unknown run", async () => {
        await store().createRun(newRun(), ["a"]);
        assert.equal(await store().appendNotice("r1", notice("running", "started", ["k1"])), 1);
        assert.equal(await store().appendNotice("r1", notice("running", "started", ["k2"])), null);
        assert.deepEqual(
          (await store().notices("r1")).map((n) => n.seq),
          [1],
        );
        await assert.rejects(store().appendNotice("no-such-run", notice("running")), /no run no-such-run/);
      });

      it("a notice whose delivery key exists already is written not at all", async () => {
        await store().createRun(newRun(), ["a"]);
        await store().appendNotice("r1", notice("running", "started", ["k1"]));
        await assert.rejects(store().appendNotice("r1", notice("done", "done", ["k2", "k1"])));
        assert.deepEqual(
          (await store().notices("r1")).map((n) => [n.condition, n.deliveries.map((d) => d.key)]),
          [["running", ["k1"]]],
        );
        assert.deepEqual(
          (await store().pendingDeliveries("demo")).map((d) => d.key),
          ["k1"],
        );
      });

      it("notices issued together apply in issue order, each deciding after the one before", async () => {
        await store().createRun(newRun(), ["a"]);
        // Not awaited one by one: each decide must see the condition the one before it appended.
        const results = await Promise.all([
          store().updateRun("r1", { status: "running" }),
          store().appendNotice("r1", notice("running", "started", ["k1"])),
          store().appendNotice("r1", notice("running", "started", ["k2"])),
          store().updateStep("r1", "a", { state: "done" }),
          store().appendNotice("r1", notice("done", "done", ["k3"])),
          store().appendNotice("r1", notice("done", "done", ["k4"])),
        ]);
        assert.deepEqual(results, [undefined, 1, null, undefined, 2, null]);
        assert.deepEqual(
          (await store().pendingDeliveries("demo")).map((d) => d.key),
          ["k1", "k3"],
        );
      });

      it("of 20 concurrent notices of one condition, exactly one is appended", async () => {
        await store().createRun(newRun(), ["a"]);
        const results = await Promise.all(
          Array.from({ length: 20 }, async (_, i) => {
            await delay(i % 3);
            return store().appendNotice("r1", notice("paused", "paused", [`k${i}`]));
          }),
        );
        assert.equal(results.filter((r) => r !== null).length, 1);
        assert.equal((await store().pendingDeliveries("demo")).length, 1);
      });

      it("pendingDeliveries lists the cluster's pending deliveries in the order appended, with what they send", async () => {
        await store().createRun(newRun({ id: "r1" }), ["a"]);
        await store().createRun(newRun({ id: "r2", startedAt: 5 }), ["a"]);
        await store().createRun(newRun({ id: "x1", cluster: "other" }), ["a"]);
        await store().appendNotice("r1", notice("running", "started", ["a1"], 10));
        await store().appendNotice("x1", notice("running", "started", ["x"], 11));
        await store().appendNotice("r2", notice("running", "started", ["b1", "b2"], 12));
        await store().appendNotice("r1", notice("done", "done", ["a2"], 13));
        const pending = await store().pendingDeliveries("demo");
        assert.deepEqual(
          pending.map((d) => [d.key, d.runId, d.seq, d.event, d.createdAt]),
          [
            ["a1", "r1", 1, "started", 10],
            ["b1", "r2", 1, "started", 12],
            ["b2", "r2", 1, "started", 12],
            ["a2", "r1", 2, "done", 13],
          ],
        );
        assert.deepEqual(pending[3]?.body, {
          event: "done",
          text: "ferry: done ✓",
          nested: { list: [1, null] },
        });
        assert.deepEqual(pending[3]?.receiver, { webhook: "http://h/a2", headers: {} });
        assert.deepEqual(
          (await store().pendingDeliveries("other")).map((d) => d.key),
          ["x"],
        );
        assert.deepEqual(await store().pendingDeliveries("nobody"), []);
      });

      it("updateDelivery patches only the given fields; a delivered one is no longer pending", async () => {
        await store().createRun(newRun(), ["a"]);
        await store().appendNotice("r1", notice("running", "started", ["k1", "k2"]));
        await store().updateDelivery("k1", { attempts: 1, nextAt: 5000, lastError: "connection refused" });
        await store().updateDelivery("k2", { state: "delivered", attempts: 1, deliveredAt: 4000 });
        const [k1, ...rest] = await store().pendingDeliveries("demo");
        assert.equal(rest.length, 0);
        assert.deepEqual(
          [k1?.key, k1?.state, k1?.attempts, k1?.nextAt, k1?.lastError, k1?.deliveredAt],
          ["k1", "pending", 1, 5000, "connection refused", null],
        );
        await store().updateDelivery("k1", { state: "expired" });
        assert.deepEqual(await store().pendingDeliveries("demo"), []);
        const [n] = await store().notices("r1");
        assert.deepEqual(
          n?.deliveries.map((d) => [d.key, d.state, d.attempts, d.lastError, d.deliveredAt]),
          [
            ["k1", "expired", 1, "connection refused", null],
            ["k2", "delivered", 1, null, 4000],
          ],
        );
        await assert.rejects(store().updateDelivery("nope", { state: "delivered" }), /no delivery nope/);
      });

      itShared("two instances append one condition once, and see each other's deliveries", async () => {
        const other = await twin();
        await store().createRun(newRun(), ["a"]);
        const results = await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            (i % 2 === 0 ? store() : other).appendNotice("r1", notice("done", "done", [`k${i}`])),
          ),
        );
        assert.equal(results.filter((r) => r !== null).length, 1);
        const [d] = await other.pendingDeliveries("demo");
        assert.ok(d);
        await other.updateDelivery(d.key, { state: "delivered", deliveredAt: 1 });
        assert.deepEqual(await store().pendingDeliveries("demo"), []);
        // Durable: a fresh instance sees the outbox after both are gone.
        await store().close();
        await other.close();
        const third = await twin();
        assert.deepEqual(
          (await third.notices("r1")).map((n) => [n.condition, n.deliveries.map((x) => x.state)]),
          [["done", ["delivered"]]],
        );
      });
    });

    describe("two instances on one location", () => {
      itShared("each sees the other's writes", async () => {
        const other = await twin();
        const run = newRun({ plan: { from: "first" } });
        await store().createRun(run, ["a", "b"]);
        assert.deepEqual(await other.getRun(run.id), { ...run, endedAt: null, error: null, waiting: null });

        await other.updateStep(run.id, "b", { state: "running", attempts: 1 });
        await other.updateRun(run.id, { status: "paused" });
        assert.deepEqual(
          (await store().steps(run.id)).map((s) => [s.id, s.state, s.attempts]),
          [
            ["a", "pending", 0],
            ["b", "running", 1],
          ],
        );
        assert.equal((await store().unfinishedRun("demo"))?.status, "paused");
      });

      itShared("share one lock", async () => {
        const other = await twin();
        await store().tryLock("demo", claim("A"));
        const r = await other.tryLock("demo", claim("B"));
        assert.equal(r.acquired, false);
        assert.equal(!r.acquired && r.holder.token, "A");
        await store().releaseLock("demo", "A");
        assert.equal((await other.tryLock("demo", claim("B"))).acquired, true);
        assert.equal((await store().lockHolder("demo"))?.token, "B");
      });

      itShared("of concurrent tryLock calls through both, exactly one acquires", async () => {
        const other = await twin();
        const tokens = Array.from({ length: 20 }, (_, i) => `T${i}`);
        const results = await Promise.all(
          tokens.map((token, i) => (i % 2 === 0 ? store() : other).tryLock("demo", claim(token))),
        );
        const winners = tokens.filter((_, i) => results[i]?.acquired);
        assert.equal(winners.length, 1, `acquired: ${winners.join(", ")}`);
        for (const r of results) if (!r.acquired) assert.equal(r.holder.token, winners[0]);
      });

      itShared("init on a location already set up keeps its data", async () => {
        await store().createRun(newRun(), ["a"]);
        await store().init();
        const other = await twin();
        await other.init();
        assert.equal((await other.getRun("r1"))?.id, "r1");
      });
    });
  });
}

function newRun(overrides: Partial<NewRun> = {}): NewRun {
  return {
    id: "r1",
    cluster: "demo",
    from: "23.09.9",
    to: "24.03.0",
    path: ["23.09.9", "23.09.10", "24.03.0"],
    status: "running",
    startedAt: Date.UTC(2026, 10, 21, 3, 0, 0),
    startedBy: "ops@bastion",
    plan: { hops: [] },
    files: { cluster: "name: demo\n", catalog: "product: notes\n" },
    acceptedWarnings: null,
    ...overrides,
  };
}

function pendingStep(id: string, seq: number): StepRecord {
  return {
    id,
    seq,
    state: "pending",
    startedAt: null,
    endedAt: null,
    undoneAt: null,
    exitCode: null,
    output: null,
    error: null,
    attempts: 0,
    observed: null,
  };
}

function claim(token: string, overrides: Partial<LockClaim> = {}): LockClaim {
  return { host: `host-${token}`, pid: 1001, token, runId: null, leaseMs: HOUR, ...overrides };
}
