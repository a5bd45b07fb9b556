import assert from "node:assert/strict";
import { describe, it, test } from "node:test";
import {
  decideClaim,
  decideClaims,
  doneMaySettle,
  type GroupCounts,
  settleFleet,
  steerFleet,
} from "./claim-rules.js";
import type { FleetStatus } from "./fleet-store.js";

const g = (c: Partial<GroupCounts> = {}): GroupCounts => ({
  pending: 0,
  live: 0,
  lapsed: 0,
  failed: 0,
  done: 0,
  unreached: 0,
  lastEndedAt: null,
  ...c,
});
const strategy = { groups: ["canary", "rest"], maxParallel: 2, soakMs: 1_000, maxFailures: 2 };
const fleet = (status = "running" as const) => ({ status, strategy, endedAt: null });

describe("decideClaim", () => {
  const rows: [string, Parameters<typeof decideClaim>[1], number, string][] = [
    ["the first group starts first", [g({ pending: 1 }), g({ pending: 5 })], 0, "start 0"],
    ["maxParallel live claims: none", [g({ pending: 1, live: 1 }), g({ pending: 5, live: 1 })], 0, "none"],
    [
      "a lapsed claim first, even at maxParallel",
      [g({ pending: 3, live: 2, lapsed: 1 }), g()],
      0,
      "takeover",
    ],
    ["the next group waits for the last of this one", [g({ live: 1 }), g({ pending: 5 })], 0, "none"],
    [
      "the next group waits for the soak",
      [g({ done: 2, lastEndedAt: 10_000 }), g({ pending: 5 })],
      10_500,
      "none",
    ],
    [
      "the next group starts once soaked",
      [g({ done: 2, lastEndedAt: 10_000 }), g({ pending: 5 })],
      11_000,
      "start 1",
    ],
    ["maxFailures failed: no new cluster", [g({ failed: 2, pending: 1 }), g({ pending: 5 })], 0, "none"],
    ["below maxFailures goes on", [g({ failed: 1, pending: 1 }), g({ pending: 5 })], 0, "start 0"],
  ];
  for (const [name, counts, now, expected] of rows) {
    it(name, () => {
      const d = decideClaim(fleet(), counts, now);
      assert.equal(d.kind === "start" ? `start ${d.group}` : d.kind, expected);
    });
  }

  it("a paused fleet starts nothing new but takes up a lapsed claim", () => {
    assert.equal(decideClaim(fleet("paused" as never), [g({ pending: 3 })], 0).kind, "none");
    assert.equal(
      decideClaim(fleet("paused" as never), [g({ pending: 3, live: 1, lapsed: 1 })], 0).kind,
      "takeover",
    );
  });
});

describe("decideClaims", () => {
  const wide = { ...strategy, maxParallel: 5 };
  const batch = (counts: GroupCounts[], max: number, now = 0, status = "running" as const) =>
    decideClaims({ status, strategy: wide, endedAt: null }, counts, now, max);

  it("lapsed claims first, then new clusters up to maxParallel", () => {
    assert.deepEqual(batch([g({ pending: 9, live: 3, lapsed: 2 }), g()], 8), {
      takeovers: 2,
      starts: 2,
      group: 0,
    });
  });
  it("no more than asked for, nor than the group has pending", () => {
    assert.deepEqual(batch([g({ pending: 9 }), g()], 3), { takeovers: 0, starts: 3, group: 0 });
    assert.deepEqual(batch([g({ pending: 2 }), g({ pending: 9 })], 8), { takeovers: 0, starts: 2, group: 0 });
  });
  it("the next group is not started in the same claim, nor while it soaks", () => {
    assert.deepEqual(batch([g({ done: 2, lastEndedAt: 10_000 }), g({ pending: 9 })], 8, 10_500), {
      takeovers: 0,
      starts: 0,
      group: -1,
    });
  });
  it("a paused fleet takes up its lapsed claims only", () => {
    assert.deepEqual(batch([g({ pending: 9, live: 2, lapsed: 2 })], 8, 0, "paused" as never), {
      takeovers: 2,
      starts: 0,
      group: -1,
    });
  });
});

describe("settleFleet", () => {
  it("stops on failures at once, and ends once the runs in flight end", () => {
    assert.deepEqual(settleFleet(fleet(), [g({ failed: 2, live: 1, pending: 3 }), g()]), {
      status: "stopped-on-failures",
      final: false,
    });
    assert.deepEqual(
      settleFleet(fleet("stopped-on-failures" as never), [g({ failed: 2, pending: 3 }), g()]),
      {
        status: "stopped-on-failures",
        final: true,
      },
    );
  });

  it("done when every cluster reached the target, failed when one did not", () => {
    assert.deepEqual(settleFleet(fleet(), [g({ done: 2 }), g({ done: 3 })]), { status: "done", final: true });
    assert.deepEqual(settleFleet(fleet(), [g({ done: 2, unreached: 1 }), g({ done: 3 })]), {
      status: "failed",
      final: true,
    });
    assert.equal(settleFleet(fleet(), [g({ done: 2 }), g({ pending: 3 })]), undefined);
  });

  it("an aborting fleet is aborted once nothing runs", () => {
    assert.equal(settleFleet(fleet("aborting" as never), [g({ live: 1, pending: 2 })]), undefined);
    assert.deepEqual(settleFleet(fleet("aborting" as never), [g({ pending: 2 })]), {
      status: "aborted",
      final: true,
    });
  });
});

test("doneMaySettle: whenever settleFleet would change a fleet run after a cluster ended done, it says so", () => {
  const statuses: FleetStatus[] = ["running", "paused", "aborting", "stopped-on-failures"];
  for (const status of statuses) {
    for (const live of [0, 2]) {
      for (const pending of [0, 3]) {
        // Below maxFailures, as a done outcome leaves a run whose last failure was settled already.
        const counts = [g({ live, pending, done: 4, failed: status === "stopped-on-failures" ? 2 : 1 })];
        const changes = settleFleet(fleet(status as never), counts) !== undefined;
        const says = doneMaySettle(status, live > 0, pending > 0);
        assert.ok(!changes || says, `${status}, live ${live}, pending ${pending}`);
        assert.equal(says, changes, `${status}, live ${live}, pending ${pending}: settles only when needed`);
      }
    }
  }
});

test("steerFleet: pause only a running run, resume only a paused one, abort anything not yet aborting", () => {
  assert.equal(steerFleet("running", "pause"), "paused");
  assert.equal(steerFleet("paused", "pause"), undefined);
  assert.equal(steerFleet("paused", "resume"), "running");
  assert.equal(steerFleet("running", "resume"), undefined);
  assert.equal(steerFleet("paused", "abort"), "aborting");
  assert.equal(steerFleet("stopped-on-failures", "abort"), "aborting");
  assert.equal(steerFleet("aborting", "abort"), undefined);
});
