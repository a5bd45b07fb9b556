import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type RunEvent, RunEvents } from "../run/events.js";
import { MemoryStore } from "../store/memory-store.js";
import { watchStore } from "./store-watcher.js";

const RUN = {
  id: "r1",
  cluster: "demo",
  from: "1.0.0",
  to: "1.0.1",
  path: ["1.0.0", "1.0.1"],
  status: "running",
  startedAt: 1,
  startedBy: "ops@here",
  plan: { hops: [] },
  files: {},
} as const;

/** Collects the feed's events until `until` says enough; bounded by the test runner's timeout. */
function collect(feed: RunEvents, until: (events: RunEvent[]) => boolean): Promise<RunEvent[]> {
  const events: RunEvent[] = [];
  return new Promise((resolve) => {
    const off = feed.on((e) => {
      events.push(e);
      if (until(events)) {
        off();
        resolve(events);
      }
    });
  });
}

describe("the store watcher", () => {
  it("reports a run first seen already waiting, then the end of its wait", { timeout: 10_000 }, async () => {
    const store = new MemoryStore();
    await store.init();
    await store.createRun(RUN, []);
    const waiting = {
      for: "approval",
      since: 5,
      detail: "approve api",
      step: "1.0.1/roll/api/approve/before",
    } as const;
    await store.updateRun("r1", { waiting });
    const feed = new RunEvents();
    const first = collect(feed, (es) => es.some((e) => e.type === "wait"));
    const stop = watchStore({ store, cluster: "demo", feed, isLocal: () => false, intervalMs: 10 });
    // The watcher's timer does not keep a process alive; the test's wait must.
    const alive = setInterval(() => {}, 1000);
    try {
      const seen = await first;
      assert.deepEqual(
        seen.map((e) => e.type),
        ["run", "wait"],
      );
      assert.deepEqual(seen[1], { type: "wait", runId: "r1", waiting });
      const ended = collect(feed, (es) => es.some((e) => e.type === "wait-ended"));
      await store.updateRun("r1", { waiting: null });
      const [e] = (await ended).filter((x) => x.type === "wait-ended");
      assert.equal(e?.type === "wait-ended" && e.waiting.step, waiting.step);
    } finally {
      clearInterval(alive);
      stop();
    }
  });
});
