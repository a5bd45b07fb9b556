/**
 * A second SIGTERM while ferry rolls back, through bin/ferry (DESIGN.md "Crash safety": "A second
 * signal finishes the steps in flight and stops, resumable (exit 130)"): the undo in flight ends,
 * no other starts, the journal keeps the run as rolling back, and `ferry resume` or
 * `ferry rollback` finishes the rollback. Commands are held at gates, so each signal lands where
 * the test means it to, not where a sleep happened to end.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { allAt, type FakeProduct, gate, reached, release, withProduct } from "./support/fake-product.js";
import { ferryAsync, startFerry } from "./support/run-ferry-async.js";

const HOME = "{{vars.root}}/{{host}}/{{component}}";
/** Activating 1.0.0 again (an undo) waits at the gate `undo-activate-HOST`. */
const ACTIVATE = `if [ {{version}} = 1.0.0 ]; then ${gate("undo-activate-{{host}}")}; fi; ln -sfn versions/{{version}} ${HOME}/current`;

async function historyStatus(c: string[]): Promise<string> {
  const [run] = JSON.parse((await ferryAsync(["history", ...c, "--json"])).stdout);
  return run.status;
}

/** Each member's active release: what an undo of `activate` changes. */
const active = (p: FakeProduct) => Object.values(p.state()).map((cs) => cs.api?.active);

describe("a second signal during a rollback", () => {
  it("apply: SIGTERM rolls back; a second one finishes the undo in flight and stops (130); resume finishes the rollback", async () => {
    await withProduct(
      {
        hosts: 2,
        commands: {
          activate: ACTIVATE,
          // h1's new release starts only once the test has sent its first signal.
          start: `if [ {{host}}-{{version}} = h1-1.0.1 ]; then ${gate("start-h1")}; fi; cat ${HOME}/current/VERSION > ${HOME}/running`,
        },
      },
      async (p, c) => {
        const run = startFerry(["apply", ...c, "--to", "1.0.1", "--yes"]);
        await reached(p, "start-h1");
        process.kill(run.pid, "SIGTERM");
        await run.waitFor(/interrupted: rolling back/);
        release(p, "start-h1");

        await reached(p, "undo-activate-h1");
        process.kill(run.pid, "SIGTERM");
        await run.waitFor(/stopping: the steps in flight finish/);
        release(p, "undo-activate-h1");

        const r = await run.done;
        const out = run.output();
        assert.equal(r.code, 130, out);
        assert.match(out, /SIGTERM again: finishing the steps in flight, then stopping, resumable/);
        assert.match(out, /undone +1\.0\.1\/roll\/api\/h1\/activate/, "the undo in flight finished");
        assert.doesNotMatch(out, /undoing +1\.0\.1\/roll\/api\/h1\/install/, "no undo started after it");
        assert.match(
          out,
          /Stopped at a second signal while rolling back hop 1\.0\.0 → 1\.0\.1, with \d+ step\(s\) still to undo/,
        );
        assert.match(out, /`ferry resume` or `ferry rollback` finishes the rollback/);
        assert.equal(await historyStatus(c), "rolling-back");
        assert.deepEqual(active(p), ["1.0.0", "1.0.0"]);

        const resumed = await ferryAsync(["resume", ...c, "--yes"]);
        assert.equal(resumed.code, 0, resumed.stdout + resumed.stderr);
        assert.ok(allAt(p, "1.0.0"));
        assert.equal(await historyStatus(c), "rolled-back");
      },
    );
  });

  it("ferry rollback: the first signal lets it go on, a second stops it (130); rollback again finishes it", async () => {
    await withProduct(
      {
        hosts: 2,
        extra: "onFailure: pause",
        commands: {
          activate: ACTIVATE,
          install: `test {{host}} != h2 && mkdir -p ${HOME}/versions/{{version}} && echo {{version}} > ${HOME}/versions/{{version}}/VERSION`,
        },
      },
      async (p, c) => {
        const paused = await ferryAsync(["apply", ...c, "--to", "1.0.1", "--yes"]);
        assert.equal(paused.code, 1, paused.stdout + paused.stderr);
        assert.match(paused.stdout, /Paused \(onFailure: pause\)/);

        const back = startFerry(["rollback", ...c, "--yes"]);
        await reached(p, "undo-activate-h1");
        process.kill(back.pid, "SIGTERM");
        await back.waitFor(/interrupted: already rolling back/);
        process.kill(back.pid, "SIGTERM");
        await back.waitFor(/stopping: the steps in flight finish/);
        release(p, "undo-activate-h1");

        const r = await back.done;
        assert.equal(r.code, 130, back.output());
        assert.match(back.output(), /Stopped at a second signal while rolling back/);
        assert.equal(await historyStatus(c), "rolling-back");

        const again = await ferryAsync(["rollback", ...c, "--yes"]);
        assert.equal(again.code, 0, again.stdout + again.stderr);
        assert.ok(allAt(p, "1.0.0"));
        assert.equal(await historyStatus(c), "rolled-back");
      },
    );
  });
});
