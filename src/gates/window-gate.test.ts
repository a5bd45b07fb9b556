import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { waitingSlot } from "../../test/support/step-context.js";
import { WindowGate } from "./window-gate.js";

const window = { days: ["sat"], start: "01:00", end: "05:00", timezone: "UTC" } as const;

describe("the window gate", () => {
  it("lets a step start inside the window without marking the run waiting", async () => {
    const slot = waitingSlot({ now: Date.UTC(2026, 10, 28, 2) });
    assert.equal(await new WindowGate(window, slot).open(), true);
    assert.deepEqual(slot.log, []);
  });

  it("outside it, marks the run waiting for the window, naming when it opens; a halt ends the wait", async () => {
    const slot = waitingSlot({ now: Date.UTC(2026, 10, 28, 6) });
    const gate = new WindowGate(window, slot);
    const first = gate.open();
    const second = gate.open();
    while (slot.current === null) await new Promise((r) => setImmediate(r));
    assert.equal(slot.current.for, "window");
    assert.equal(
      slot.current.detail,
      "outside the window sat 01:00–05:00 UTC; it opens at 2026-12-05T01:00:00.000Z",
    );
    slot.halt();
    assert.deepEqual(await Promise.all([first, second]), [false, false], "every lane shares one wait");
    assert.equal(slot.current, null);
    assert.deepEqual(slot.log.at(-1), { end: "the run halts" });
  });

  it("goes on once the clock reaches the opening", async () => {
    const clock = { now: Date.UTC(2026, 11, 5, 0, 59, 59, 990) };
    const slot = waitingSlot(clock);
    const gate = new WindowGate(window, slot);
    const opened = gate.open();
    while (slot.current === null) await new Promise((r) => setImmediate(r));
    // The gate sleeps until the opening it computed (10 ms here); the clock has moved on by then.
    clock.now = Date.UTC(2026, 11, 5, 1);
    assert.equal(await opened, true);
    assert.match(JSON.stringify(slot.log.at(-1)), /the window opened, until 2026-12-05T05:00:00.000Z/);
  });
});
