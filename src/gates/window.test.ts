import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { describeWindow, instantOf, offsetAt, type Window, windowAt } from "./window.js";

const utc = (y: number, mo: number, d: number, h = 0, mi = 0, s = 0) => Date.UTC(y, mo - 1, d, h, mi, s);
const HOUR = 3_600_000;

function win(fields: Partial<Window>): Window {
  return {
    days: ["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
    start: "01:00",
    end: "05:00",
    timezone: "UTC",
    ...fields,
  };
}

describe("windowAt", () => {
  // 2026-11-28 is a Saturday.
  const saturdays = win({ days: ["sat"] });

  const rows: [string, Window, number, ReturnType<typeof windowAt>][] = [
    [
      "open inside, closing at its end",
      saturdays,
      utc(2026, 11, 28, 2),
      { open: true, closesAt: utc(2026, 11, 28, 5) },
    ],
    [
      "open at its very start",
      saturdays,
      utc(2026, 11, 28, 1),
      { open: true, closesAt: utc(2026, 11, 28, 5) },
    ],
    [
      "closed at its end, opening a week later",
      saturdays,
      utc(2026, 11, 28, 5),
      { open: false, opensAt: utc(2026, 12, 5, 1) },
    ],
    [
      "closed the evening before, opening that night",
      saturdays,
      utc(2026, 11, 27, 23),
      { open: false, opensAt: utc(2026, 11, 28, 1) },
    ],
    [
      "closed on a day it does not open",
      saturdays,
      utc(2026, 11, 30, 2),
      { open: false, opensAt: utc(2026, 12, 5, 1) },
    ],
    [
      "end before start ends the next day: open after midnight",
      win({ days: ["fri"], start: "22:00", end: "02:00" }),
      utc(2026, 11, 28, 1),
      { open: true, closesAt: utc(2026, 11, 28, 2) },
    ],
    [
      "end before start: the day after its day, before it opens, is closed",
      win({ days: ["fri"], start: "22:00", end: "02:00" }),
      utc(2026, 11, 28, 23),
      { open: false, opensAt: utc(2026, 12, 4, 22) },
    ],
    [
      "end equal to start: a whole day",
      win({ days: ["sat"], start: "06:00", end: "06:00" }),
      utc(2026, 11, 29, 5, 59, 59),
      { open: true, closesAt: utc(2026, 11, 29, 6) },
    ],
    [
      "back-to-back days are one opening",
      win({ days: ["fri", "sat"], start: "00:00", end: "00:00" }),
      utc(2026, 11, 27, 12),
      { open: true, closesAt: utc(2026, 11, 29, 0) },
    ],
    [
      "seconds: opens and closes on the second",
      win({ start: "10:00:05", end: "10:00:10" }),
      utc(2026, 11, 28, 10, 0, 4),
      { open: false, opensAt: utc(2026, 11, 28, 10, 0, 5) },
    ],
    [
      "seconds: the last second is still open",
      win({ start: "10:00:05", end: "10:00:10" }),
      utc(2026, 11, 28, 10, 0, 9) + 999,
      { open: true, closesAt: utc(2026, 11, 28, 10, 0, 10) },
    ],
    [
      "local time of the zone: Berlin in winter is UTC+1",
      win({ days: ["sat"], timezone: "Europe/Berlin" }),
      utc(2026, 11, 28, 0, 30),
      { open: true, closesAt: utc(2026, 11, 28, 4) },
    ],
    [
      "local time of the zone: Berlin in summer is UTC+2",
      win({ days: ["sat"], timezone: "Europe/Berlin" }),
      // Saturday 4 July, 02:00 CEST: inside 01:00–05:00 CEST, which is 23:00–03:00 UTC.
      utc(2026, 7, 4, 0),
      { open: true, closesAt: utc(2026, 7, 4, 3) },
    ],
  ];
  for (const [name, w, now, expected] of rows) {
    it(name, () => assert.deepEqual(windowAt(w, now), expected));
  }

  describe("daylight saving in Europe/Berlin", () => {
    const berlin = (fields: Partial<Window>) => win({ days: ["sun"], timezone: "Europe/Berlin", ...fields });

    it("spring forward (29 March 2026, 02:00 → 03:00): 01:00–04:00 lasts two hours", () => {
      const w = berlin({ start: "01:00", end: "04:00" });
      assert.deepEqual(windowAt(w, utc(2026, 3, 28, 23)), { open: false, opensAt: utc(2026, 3, 29, 0) });
      assert.deepEqual(windowAt(w, utc(2026, 3, 29, 0)), { open: true, closesAt: utc(2026, 3, 29, 2) });
    });

    it("spring forward: a start in the skipped hour is as late after the jump (02:30 → 03:30 CEST)", () => {
      const w = berlin({ start: "02:30", end: "05:00" });
      assert.deepEqual(windowAt(w, utc(2026, 3, 29, 0)), { open: false, opensAt: utc(2026, 3, 29, 1, 30) });
    });

    it("fall back (25 October 2026, 03:00 → 02:00): 01:00–04:00 lasts four hours", () => {
      const w = berlin({ start: "01:00", end: "04:00" });
      assert.deepEqual(windowAt(w, utc(2026, 10, 24, 22)), { open: false, opensAt: utc(2026, 10, 24, 23) });
      assert.deepEqual(windowAt(w, utc(2026, 10, 25, 2, 30)), { open: true, closesAt: utc(2026, 10, 25, 3) });
    });

    it("fall back: a start in the repeated hour is its first occurrence (02:30 CEST)", () => {
      const w = berlin({ start: "02:30", end: "05:00" });
      assert.deepEqual(windowAt(w, utc(2026, 10, 24, 23)), {
        open: false,
        opensAt: utc(2026, 10, 25, 0, 30),
      });
    });

    it("a window ending the next day across the change keeps its local end", () => {
      // Saturday 22:00 CET → Sunday 02:00: the night of the spring change, 3 hours long.
      const w = win({ days: ["sat"], start: "22:00", end: "02:00", timezone: "Europe/Berlin" });
      assert.deepEqual(windowAt(w, utc(2026, 3, 28, 21)), { open: true, closesAt: utc(2026, 3, 29, 1) });
    });
  });
});

describe("instantOf and offsetAt", () => {
  it("follow the zone's offset on either side of a change", () => {
    assert.equal(offsetAt(utc(2026, 3, 29, 0, 59), "Europe/Berlin"), HOUR);
    assert.equal(offsetAt(utc(2026, 3, 29, 1), "Europe/Berlin"), 2 * HOUR);
    assert.equal(instantOf(utc(2026, 3, 29, 3), "Europe/Berlin"), utc(2026, 3, 29, 1));
    assert.equal(instantOf(utc(2026, 1, 1, 12), "America/New_York"), utc(2026, 1, 1, 17));
  });
});

describe("describeWindow", () => {
  it("names days, times and zone", () => {
    assert.equal(
      describeWindow(win({ days: ["sat", "sun"], timezone: "Europe/Berlin" })),
      "sat, sun 01:00–05:00 Europe/Berlin",
    );
    assert.equal(describeWindow(win({})), "every day 01:00–05:00 UTC");
  });
});
