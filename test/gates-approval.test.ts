/**
 * Approvals through the real executable (DESIGN.md "Gates"): a run waits for `ferry approve`
 * (never for `--yes`), the wait is journaled so it survives `kill -9` and a resume waits again
 * from the same moment, an answer from another process releases it, `ferry reject` rolls the hop
 * back, and is refused once the hop is past its point of no return. The tests act on the lines
 * ferry prints when a wait starts, never on a timer.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { allAt, withProduct } from "./support/fake-product.js";
import { ferryAsync, type StartedFerry, startFerry } from "./support/run-ferry-async.js";
import { startReceiver } from "./support/webhook-receiver.js";

function startApply(c: string[]): StartedFerry {
  return startFerry(["apply", ...c, "--to", "1.0.1", "--yes"]);
}

async function status(c: string[]) {
  const r = await ferryAsync(["status", ...c, "--json"]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

const BEFORE = "1.0.1/roll/api/approve/before";
const WAITING_BEFORE = /waiting for approval at 1\.0\.1\/roll\/api\/approve\/before: approve api/;

describe("approvals", () => {
  it("a wait survives kill -9 and resume with its first since; ferry approve from another process releases it", async () => {
    const hook = await startReceiver();
    try {
      await withProduct(
        {
          hosts: 2,
          componentExtra: "    approve: before",
          extra: `notify: [{ webhook: "${hook.url}", events: [awaiting-approval, done] }]`,
        },
        async (p, c) => {
          const first = startApply(c);
          await first.waitFor(WAITING_BEFORE);
          const held = await status(c);
          assert.equal(held.run.waiting.for, "approval");
          assert.equal(held.run.waiting.step, BEFORE);
          assert.match(
            held.run.waiting.detail,
            /approve api before its hosts change in hop 1\.0\.0 → 1\.0\.1/,
          );
          const since = held.run.waiting.since;
          assert.match(
            (await ferryAsync(["status", ...c])).stdout,
            /waiting for approval since .+ at 1\.0\.1\/roll\/api\/approve\/before/,
          );

          process.kill(first.pid, "SIGKILL");
          await first.done;
          assert.ok(allAt(p, "1.0.0"), "no host changed before the approval");
          assert.equal((await status(c)).run.waiting.since, since, "the wait is journaled");

          const second = startFerry(["resume", ...c, "--yes"]);
          await second.waitFor(WAITING_BEFORE);
          assert.equal(
            (await status(c)).run.waiting.since,
            since,
            "a resume waits again from the first since",
          );

          const approved = await ferryAsync(["approve", ...c, "--by", "ann"]);
          assert.equal(approved.code, 0, approved.stderr);
          assert.match(
            approved.stdout,
            /approved 1\.0\.1\/roll\/api\/approve\/before of run \S+ as ann: the run goes on/,
          );

          const r = await second.done;
          assert.equal(r.code, 0, second.output());
          assert.match(
            second.output(),
            /no longer waiting for approval at 1\.0\.1\/roll\/api\/approve\/before \(\d+s\): approved by ann/,
          );
          assert.ok(allAt(p, "1.0.1"));

          const [run] = JSON.parse((await ferryAsync(["history", ...c, "--json"])).stdout);
          assert.equal(run.status, "done");
          assert.equal(run.waiting, null);
          const note = run.notes.find((n: { kind: string }) => n.kind === "approved");
          assert.equal(note.by, "ann");
          assert.equal(note.step, BEFORE);
          assert.match(
            (await ferryAsync(["history", ...c])).stdout,
            /ann: approved 1\.0\.1\/roll\/api\/approve\/before/,
          );

          // One awaiting-approval event, though the run waited in two processes, and the done.
          await hook.until(2);
          assert.deepEqual(
            hook.received.map((x) => x.event),
            ["awaiting-approval", "done"],
          );
          assert.equal(hook.received[0]?.body.step, BEFORE);
        },
      );
    } finally {
      await hook.close();
    }
  });

  it("ferry reject rolls the hop back; approving a run that waits for nothing is refused", async () => {
    await withProduct({ hosts: 2, componentExtra: "    approve: after-first-batch" }, async (p, c) => {
      const nothing = await ferryAsync(["approve", ...c]);
      assert.equal(nothing.code, 3);
      assert.match(nothing.stderr, /fake has no run to approve/);

      const applying = startApply(c);
      await applying.waitFor(/waiting for approval at 1\.0\.1\/roll\/api\/approve\/after-first-batch/);
      assert.ok(allAt(p, "1.0.1"), "the component's one batch has rolled");

      const rejected = await ferryAsync(["reject", ...c, "--by", "bob"]);
      assert.equal(rejected.code, 0, rejected.stderr);
      assert.match(rejected.stdout, /rejected .* as bob: the run rolls hop 1\.0\.0 → 1\.0\.1 back/);
      const again = await ferryAsync(["approve", ...c]);
      assert.equal(again.code, 3, "an answered approval is not answered twice");

      const r = await applying.done;
      assert.equal(r.code, 1, applying.output());
      assert.match(applying.output(), /rejected by bob.*Rolled back: fake is back at 1\.0\.0/s);
      assert.ok(allAt(p, "1.0.0"));
      const [run] = JSON.parse((await ferryAsync(["history", ...c, "--json"])).stdout);
      assert.equal(run.status, "rolled-back");
      assert.ok(run.notes.some((n: { kind: string; by: string }) => n.kind === "rejected" && n.by === "bob"));
    });
  });

  it("an approval point past the point of no return: reject is refused, pause stops the wait, resume waits again", async () => {
    await withProduct(
      { hosts: 1, extra: 'actions: [{ name: sign-off, at: activate, approve: "check the dashboards" }]' },
      async (p, c) => {
        const applying = startApply(c);
        const waiting = /waiting for approval at 1\.0\.1\/activate\/action\/sign-off: check the dashboards/;
        await applying.waitFor(waiting);

        const rejected = await ferryAsync(["reject", ...c]);
        assert.equal(rejected.code, 3);
        assert.match(
          rejected.stderr,
          /cannot be rejected: hop 1\.0\.0 → 1\.0\.1 is past its point of no return/,
        );
        assert.match(rejected.stderr, /ferry approve/);

        const paused = await ferryAsync(["pause", ...c]);
        assert.equal(paused.code, 0, paused.stderr);
        assert.equal((await applying.done).code, 130, applying.output());
        const s = await status(c);
        assert.equal(s.run.status, "paused");
        assert.equal(s.run.waiting, null);

        const resuming = startFerry(["resume", ...c, "--yes"]);
        await resuming.waitFor(waiting);
        const approved = await ferryAsync(["approve", ...c, "--run", s.run.id]);
        assert.equal(approved.code, 0, approved.stderr);
        assert.equal((await resuming.done).code, 0, resuming.output());
        assert.ok(allAt(p, "1.0.1"));
      },
    );
  });
});
