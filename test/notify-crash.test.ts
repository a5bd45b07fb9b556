/**
 * Notifications across kill -9: a webhook receiver on loopback must get every event of a run
 * exactly once by Idempotency-Key (a retry may repeat a key, never send a second key for one
 * event, never leave one out), whichever journal write ferry was killed right after, and also
 * right after a receiver's 2xx answer before ferry recorded it (FERRY_FAULT=notify-sent#N). The
 * resume, or the next command when there is nothing left to resume, delivers what is pending.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type FakeProductOptions, makeFakeProduct } from "./support/fake-product.js";
import { ferryAsync } from "./support/run-ferry-async.js";
import { type Receiver, startReceiver } from "./support/webhook-receiver.js";

interface Scenario {
  readonly name: string;
  readonly product: FakeProductOptions;
  /** The events a run sends, in order, however often ferry is killed on the way. */
  readonly events: readonly string[];
}

const SCENARIOS: Scenario[] = [
  {
    name: "a rolling hop",
    product: { hosts: 2, releases: ["1.0.0", "1.0.1"] },
    events: ["started", "done"],
  },
  {
    // h2's new release never starts: the run rolls back, and a crash during the rollback must still
    // end with one rolled-back event.
    name: "a rolling hop that fails and rolls back",
    product: {
      hosts: 2,
      releases: ["1.0.0", "1.0.1"],
      commands: {
        start: `test "{{host}}-$(cat {{vars.root}}/{{host}}/{{component}}/current/VERSION)" != h2-1.0.1 && cat {{vars.root}}/{{host}}/{{component}}/current/VERSION > {{vars.root}}/{{host}}/{{component}}/running`,
      },
    },
    events: ["started", "rolled-back"],
  },
];

/** One receiver for each of the two runs that go side by side. */
let receivers: Receiver[] = [];
before(async () => {
  receivers = [await startReceiver("ok"), await startReceiver("ok")];
});
after(async () => {
  for (const r of receivers) await r.close();
});

async function crashAndResume(
  scenario: Scenario,
  fault: string,
  receiver: Receiver,
): Promise<"crashed" | "ran-to-end"> {
  receiver.received.length = 0;
  const product = makeFakeProduct({ ...scenario.product, extra: `notify: [{ webhook: "${receiver.url}" }]` });
  try {
    const cluster = ["-c", product.clusterFile];
    const first = await ferryAsync(["apply", ...cluster, "--to", "1.0.1", "--yes"], { FERRY_FAULT: fault });
    const crashed = first.signal === "SIGKILL";
    if (crashed) {
      const resumed = await ferryAsync(["resume", ...cluster, "--yes"]);
      // Killed after the run's last write: nothing to resume, and resume still delivers.
      if (resumed.code === 3) assert.match(resumed.stderr, /no unfinished run/, `crash at ${fault}`);
      assert.doesNotMatch(resumed.stderr, /not delivered/, `after a crash at ${fault}`);
    } else {
      assert.doesNotMatch(first.stderr, /not delivered/, fault);
    }
    const byKey = receiver.byKey();
    assert.deepEqual(
      [...byKey.values()],
      scenario.events,
      `after a crash at ${fault}: ${receiver.received.map((r) => `${r.event} ${r.key}`).join(", ")}`,
    );
    // Every request of one key carried the same body: a retry, not a new event.
    for (const key of byKey.keys()) {
      const bodies = new Set(
        receiver.received.filter((r) => r.key === key).map((r) => JSON.stringify(r.body)),
      );
      assert.equal(bodies.size, 1, `${key} after a crash at ${fault}`);
    }
    return crashed ? "crashed" : "ran-to-end";
  } finally {
    product.cleanup();
  }
}

describe("notifications across kill -9", () => {
  for (const scenario of SCENARIOS) {
    it(`${scenario.name}: each event exactly once by key, killed after every journal write`, async () => {
      let covered = 0;
      for (let k = 1; ; k += 2) {
        const results = await Promise.all([
          crashAndResume(scenario, `journal#${k}`, receivers[0] as Receiver),
          crashAndResume(scenario, `journal#${k + 1}`, receivers[1] as Receiver),
        ]);
        const end = results.indexOf("ran-to-end");
        if (end >= 0) {
          covered = k + end - 1;
          break;
        }
        assert.ok(k < 400, "the journal writes never end");
      }
      assert.ok(covered >= 10, `only ${covered} transitions`);
      process.stdout.write(`# ${scenario.name}: killed and resumed at each of ${covered} journal writes\n`);
    });

    it(`${scenario.name}: each event exactly once by key, killed after a receiver's answer`, async () => {
      const results = await Promise.all([
        crashAndResume(scenario, "notify-sent#1", receivers[0] as Receiver),
        crashAndResume(scenario, "notify-sent#2", receivers[1] as Receiver),
      ]);
      assert.deepEqual(results, ["crashed", "crashed"]);
    });
  }
});
