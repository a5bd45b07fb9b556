/**
 * Maintenance windows through the real executable (DESIGN.md "Gates"): no step starts outside the
 * window, so a run started before it opens waits, then goes on when it opens; a step in flight
 * when it closes finishes, and the next waits at that boundary (for the next opening, here the
 * next day) until it is interrupted, which rolls the hop back. `start` and `end` take seconds
 * ("HH:MM:SS"), so the window opens and closes within seconds of the test's start.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { allAt, gate, reached, release, withProduct } from "./support/fake-product.js";
import { ferryAsync, startFerry } from "./support/run-ferry-async.js";

/** "HH:MM:SS" in UTC, `ms` from now, rounded up to the second. */
function utcTime(at: number): string {
  return new Date(Math.ceil(at / 1000) * 1000).toISOString().slice(11, 19);
}

describe("maintenance windows", () => {
  it("waits for the window to open, and at the next step boundary once it has closed; an interrupt then rolls back", async () => {
    const now = Date.now();
    // Far enough ahead for ferry to start and a status to be read before it opens, on a slow machine too.
    const opens = Math.ceil((now + 6000) / 1000) * 1000;
    const closes = Math.ceil((now + 13_000) / 1000) * 1000;
    const window = `window: { start: "${utcTime(opens)}", end: "${utcTime(closes)}", timezone: UTC }`;
    await withProduct(
      { hosts: 1, extra: `${window}\nhooks: { before: { roll: '${gate("in-window")}' } }` },
      async (p, c) => {
        const applying = startFerry(["apply", ...c, "--to", "1.0.1", "--yes"]);
        await applying.waitFor(
          /waiting for window: outside the window every day \d\d:\d\d:\d\d–\d\d:\d\d:\d\d UTC; it opens at /,
        );
        const s = JSON.parse((await ferryAsync(["status", ...c, "--json"])).stdout);
        assert.equal(s.run.waiting.for, "window");
        assert.equal(s.run.waiting.step, null);
        assert.equal(s.run.steps.done ?? 0, 0, "no step started before the window opened");

        await reached(p, "in-window");
        assert.ok(Date.now() >= opens, "the first step started once the window was open");
        assert.match(applying.output(), /no longer waiting for window \(\d+s\): the window opened/);
        // The step in flight outlives the window: hold it until the window has closed.
        while (Date.now() < closes + 100) await sleep(Math.max(10, closes + 100 - Date.now()));
        release(p, "in-window");
        await applying.waitFor(/done +1\.0\.1\/roll\/before-hook/);
        await applying.waitFor(/waiting for window: outside the window .*; it opens at /);
        const held = JSON.parse((await ferryAsync(["status", ...c, "--json"])).stdout);
        assert.equal(held.run.waiting.for, "window");
        assert.equal(
          held.run.waiting.detail.match(/it opens at (\S+)$/)?.[1],
          new Date(opens + 86_400_000).toISOString(),
          "the next opening is the next day's",
        );
        assert.ok(allAt(p, "1.0.0"), "no host changed outside the window");

        process.kill(applying.pid, "SIGINT");
        const r = await applying.done;
        assert.equal(r.code, 130, applying.output());
        assert.match(
          applying.output(),
          /no longer waiting for window .*: the run halts|the run is rolling-back/,
        );
        assert.match(applying.output(), /Rolled back: fake is back at 1\.0\.0/);
        const after = JSON.parse((await ferryAsync(["status", ...c, "--json"])).stdout);
        assert.equal(after.run, null);
      },
    );
  });

  it("refuses a window it cannot read, naming the line and the field (exit 2)", async () => {
    const rows: [string, RegExp][] = [
      ['window: { start: "25:00", end: "05:00" }', /cluster\.yaml:\d+.*window\.start.*HH:MM/],
      [
        'window: { start: "01:00", end: "05:00", timezone: Mars/Olympus }',
        /cluster\.yaml:\d+.*window\.timezone.*time zone/,
      ],
      ['window: { days: [someday], start: "01:00", end: "05:00" }', /cluster\.yaml:\d+.*window\.days/],
    ];
    for (const [extra, error] of rows) {
      await withProduct({ hosts: 1, extra }, async (p, c) => {
        const r = await ferryAsync(["plan", ...c, "--to", "1.0.1"]);
        assert.equal(r.code, 2, `${extra}: ${r.stdout}${r.stderr}`);
        assert.match(r.stderr, error);
        assert.ok(allAt(p, "1.0.0"));
      });
    }
  });
});
