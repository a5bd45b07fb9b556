import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type Clock, SharedRound } from "./shared-round.js";

/** A clock the test moves by hand; sleepers wake when it passes their time. */
function manualClock(): Clock & { advance(ms: number): Promise<void> } {
  let now = 0;
  const sleepers: { at: number; wake: () => void }[] = [];
  const settle = () => new Promise<void>((resolve) => setImmediate(resolve));
  return {
    now: () => now,
    sleep: (ms) => new Promise((wake) => sleepers.push({ at: now + ms, wake })),
    async advance(ms) {
      now += ms;
      for (const s of sleepers.filter((x) => x.at <= now)) {
        sleepers.splice(sleepers.indexOf(s), 1);
        s.wake();
      }
      await settle();
    },
  };
}

/** A round the test ends by hand, counting how many started. */
function rounds() {
  const started: { end: (value: number) => void; fail: (err: Error) => void }[] = [];
  return {
    started,
    take: () =>
      new Promise<number>((end, fail) => {
        started.push({ end, fail });
      }),
  };
}

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("SharedRound", () => {
  it("requests during a round share it; after it, its answer serves until everyMs from its start", async () => {
    const clock = manualClock();
    const r = rounds();
    const shared = new SharedRound(r.take, { everyMs: 2000, clock });
    const first = [shared.get(), shared.get(), shared.get()];
    await settle();
    assert.equal(r.started.length, 1);
    await clock.advance(500);
    r.started[0]?.end(1);
    assert.deepEqual(await Promise.all(first), [1, 1, 1]);
    await clock.advance(1499);
    assert.equal(await shared.get(), 1);
    assert.equal(r.started.length, 1);
    await clock.advance(1);
    const next = shared.get();
    await settle();
    assert.equal(r.started.length, 2, "2 s after the first started, a request starts another");
    r.started[1]?.end(2);
    assert.equal(await next, 2);
  });

  it("after invalidate(), a request waits for a round that starts after the change, no sooner than everyMs after the last", async () => {
    const clock = manualClock();
    const r = rounds();
    const shared = new SharedRound(r.take, { everyMs: 2000, clock });
    const first = shared.get();
    await settle();
    await clock.advance(300);
    shared.invalidate();
    // The round in flight began before the change: a new request does not take its answer.
    let later: number | undefined;
    const waiting = shared.get().then((v) => {
      later = v;
    });
    const alsoWaiting = shared.get();
    r.started[0]?.end(1);
    assert.equal(await first, 1);
    await clock.advance(1000);
    assert.equal(r.started.length, 1, "not before 2 s after the first round started");
    await clock.advance(700);
    assert.equal(r.started.length, 2);
    assert.equal(later, undefined);
    r.started[1]?.end(2);
    await waiting;
    assert.equal(later, 2);
    assert.equal(await alsoWaiting, 2, "requests that waited share one round");
    assert.equal(r.started.length, 2);
  });

  it("never two rounds at once: a round that outlasts everyMs delays the next until it ends", async () => {
    const clock = manualClock();
    const r = rounds();
    const shared = new SharedRound(r.take, { everyMs: 2000, clock });
    void shared.get();
    await settle();
    await clock.advance(5000);
    shared.invalidate();
    const next = shared.get();
    await settle();
    assert.equal(r.started.length, 1);
    r.started[0]?.end(1);
    await settle();
    assert.equal(r.started.length, 2, "the next starts once the slow one ended");
    r.started[1]?.end(2);
    assert.equal(await next, 2);
  });

  it("a failed round is shared like an answer, and counts for the rate", async () => {
    const clock = manualClock();
    const r = rounds();
    const shared = new SharedRound(r.take, { everyMs: 2000, clock });
    const a = shared.get();
    const b = shared.get();
    await settle();
    r.started[0]?.fail(new Error("no hosts"));
    await assert.rejects(a, /no hosts/);
    await assert.rejects(b, /no hosts/);
    await assert.rejects(shared.get(), /no hosts/);
    assert.equal(r.started.length, 1);
  });
});
