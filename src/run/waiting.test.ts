import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { waitingSlot } from "../../test/support/step-context.js";
import { type HoldVerdict, hold, waitEndedLine, waitingJson, waitingLine } from "./waiting.js";

/** A poll that answers from a list, then repeats its last answer. */
function answers(...list: HoldVerdict[]) {
  let i = 0;
  return async () => list[Math.min(i++, list.length - 1)] as HoldVerdict;
}

describe("hold", () => {
  it("a gate that passes at once leaves no waiting mark", async () => {
    const slot = waitingSlot();
    const r = await hold(slot, { for: "alarm", intervalMs: 1, poll: answers({ go: true, how: "no alert" }) });
    assert.deepEqual(r, { kind: "go", how: "no alert" });
    assert.deepEqual(slot.log, []);
  });

  it("marks the run waiting once per detail, and ends the mark saying how", async () => {
    const slot = waitingSlot();
    const r = await hold(slot, {
      for: "alarm",
      intervalMs: 1,
      poll: answers(
        { go: false, detail: "HighLoad" },
        { go: false, detail: "HighLoad" },
        { go: false, detail: "DiskFull" },
        { go: true, how: "no alert fires" },
      ),
    });
    assert.equal(r.kind, "go");
    assert.deepEqual(
      slot.log.map((e) => ("start" in e ? e.start.detail : `end: ${e.end}`)),
      ["HighLoad", "DiskFull", "end: no alert fires"],
    );
    assert.equal(slot.current, null);
  });

  it("fails once the deadline has passed since the wait began, and ends the mark", async () => {
    const clock = { now: 1_000_000 };
    const slot = waitingSlot(clock);
    let polls = 0;
    const r = await hold(slot, {
      for: "alarm",
      intervalMs: 1,
      deadlineMs: 60_000,
      poll: async () => {
        polls++;
        clock.now += 25_000;
        return { go: false, detail: "HighLoad" };
      },
    });
    assert.equal(r.kind, "fail");
    assert.match((r as { error: string }).error, /waited 1m for alarm \(HighLoad\)/);
    assert.equal(polls, 4, "since is the first poll that had to wait: 0s, 25s, 50s, then 75s is past");
    assert.equal(slot.current, null);
  });

  it("stops waiting when the run halts, and says the step did not happen", async () => {
    const slot = waitingSlot();
    const held = hold(slot, {
      for: "approval",
      intervalMs: 60_000,
      poll: answers({ go: false, detail: "x" }),
    });
    // Let it start waiting, then halt: the long interval must not be sat out.
    while (slot.current === null) await new Promise((r) => setImmediate(r));
    slot.halt();
    assert.deepEqual(await held, { kind: "halted" });
    assert.equal(slot.current, null);
  });

  it("a poll that fails the gate fails it at once", async () => {
    const slot = waitingSlot();
    const r = await hold(slot, { for: "gate", intervalMs: 1, poll: answers({ fail: "rejected by ann" }) });
    assert.deepEqual(r, { kind: "fail", error: "rejected by ann" });
  });
});

describe("how a wait reads", () => {
  const w = {
    for: "approval",
    since: Date.UTC(2026, 10, 21, 1, 0, 0),
    detail: "approve api",
    step: "1/roll/api/approve/before",
  } as const;
  it("as JSON: since in ISO 8601", () => {
    assert.deepEqual(waitingJson(w), { ...w, since: "2026-11-21T01:00:00.000Z" });
    assert.equal(waitingJson(null), null);
  });
  it("as lines off a terminal, naming what it waits for", () => {
    assert.equal(waitingLine(w), "waiting for approval at 1/roll/api/approve/before: approve api");
    assert.equal(
      waitEndedLine(w, "approved by ann", w.since + 125_000),
      "no longer waiting for approval at 1/roll/api/approve/before (2m05s): approved by ann",
    );
  });
});
