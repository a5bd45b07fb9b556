/**
 * `ferry pause` through the real executable: a run started by one `ferry apply` is paused from
 * another process through the state store, lets its step in flight finish, stops resumable, and
 * `ferry resume` finishes it. The step in flight is held at a gate until the running ferry has
 * seen the request (its note says so), so no timing decides the outcome.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { allAt, gate, reached, release, withProduct } from "./support/fake-product.js";
import { ferryAsync, type StartedFerry, startFerry } from "./support/run-ferry-async.js";

function startApply(args: string[]): StartedFerry {
  return startFerry(["apply", ...args, "--yes"]);
}

/** What the run printed, once it has exited. */
async function ended(run: StartedFerry): Promise<{ code: number | null; out: string }> {
  const r = await run.done;
  return { code: r.code, out: run.output() };
}

/** The note the running ferry prints when it sees a pause request. */
const SEEN = /pause requested by .+: the steps in flight finish, then the run stops/;

describe("ferry pause", () => {
  it("lets the step in flight finish, stops the run resumable (exit 130), and resume finishes it", async () => {
    await withProduct(
      { hosts: 2, extra: `hooks: { before: { roll: '${gate("in-hook")}' } }` },
      async (p, c) => {
        const applying = startApply([...c, "--to", "1.0.1"]);
        await reached(p, "in-hook");
        const asked = await ferryAsync(["pause", ...c]);
        assert.equal(asked.code, 0, asked.stderr);
        assert.match(
          asked.stdout,
          /pause requested for run \S+ \(1\.0\.0 → 1\.0\.1\).*steps in flight finish/,
        );
        await applying.waitFor(SEEN);
        release(p, "in-hook");

        const { code, out } = await ended(applying);
        assert.equal(code, 130, out);
        assert.match(out, /done {5}1\.0\.1\/roll\/before-hook/, "the step in flight finished");
        assert.match(out, /Paused at the request of .+@.+; the steps in flight finished and none is running/);
        assert.match(out, /`ferry rollback` undoes hop 1\.0\.0 → 1\.0\.1/);
        assert.doesNotMatch(out, /1\.0\.1\/roll\/api\//, "no step started after the pause");
        assert.ok(allAt(p, "1.0.0"));

        const status = JSON.parse((await ferryAsync(["status", ...c, "--json"])).stdout);
        assert.equal(status.run.status, "paused");
        assert.deepEqual(status.run.current, []);
        assert.equal(status.run.steps.running, undefined);
        assert.match((await ferryAsync(["status", ...c])).stdout, /1\.0\.0 → 1\.0\.1 paused/);

        // A paused run is not paused again.
        const again = await ferryAsync(["pause", ...c]);
        assert.equal(again.code, 3);
        assert.match(again.stderr, /is paused, not running: there is nothing to pause.*ferry resume/);

        const resumed = await ferryAsync(["resume", ...c, "--yes"]);
        assert.equal(resumed.code, 0, resumed.stdout + resumed.stderr);
        assert.ok(allAt(p, "1.0.1"));
        const [run] = JSON.parse((await ferryAsync(["history", ...c, "--json"])).stdout);
        assert.equal(run.status, "done");
      },
    );
  });

  it("after the point of no return: --wait returns once paused; rollback is refused, resume finishes", async () => {
    await withProduct({ hosts: 2, extra: `unpin: '${gate("unpinning")}'` }, async (p, c) => {
      const applying = startApply([...c, "--to", "1.0.1"]);
      await reached(p, "unpinning");
      const pausing = ferryAsync(["pause", ...c, "--wait", "--json"]);
      await applying.waitFor(SEEN);
      release(p, "unpinning");
      const asked = await pausing;
      assert.equal(asked.code, 0, asked.stderr);
      const answer = JSON.parse(asked.stdout);
      assert.equal(answer.status, "paused");
      assert.match(answer.heldBy, /^run \S+, pid \d+ on /);

      const { code, out } = await ended(applying);
      assert.equal(code, 130, out);
      assert.match(out, /past its point of no return, so it can only go forward/);
      const back = await ferryAsync(["rollback", ...c, "--yes"]);
      assert.equal(back.code, 3);
      assert.equal((await ferryAsync(["resume", ...c, "--yes"])).code, 0);
      assert.ok(allAt(p, "1.0.1"));
    });
  });

  it("with no run in progress is refused (exit 3), changing nothing", async () => {
    await withProduct({}, async (p, c) => {
      const r = await ferryAsync(["pause", ...c]);
      assert.equal(r.code, 3);
      assert.match(r.stderr, /fake has no run to pause/);
      assert.ok(allAt(p, "1.0.0"));
    });
  });
});
