import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { stepContext } from "../../../test/support/step-context.js";
import { MemoryDriver } from "../../drivers/memory-driver.js";
import { waitUntil } from "./wait-until.js";

const queueEmpty = (deadlineMs: number, intervalMs = 5) =>
  ({ type: "wait-until", command: "queue-empty", deadlineMs, intervalMs }) as const;

describe("wait-until", () => {
  it("tries again until the command exits 0, and says after how many tries", async () => {
    let left = 2;
    const driver = new MemoryDriver({
      host: "local",
      handler: () => (left-- > 0 ? { exitCode: 1, output: `${left + 1} jobs left\n` } : { exitCode: 0 }),
    });
    const r = await waitUntil.run(queueEmpty(60_000), stepContext({ driver }));
    assert.deepEqual(r, { ok: true, exitCode: 0, output: "`queue-empty` passed after 3 tries\n" });
    assert.equal(driver.history.length, 3);
  });

  it("fails at its deadline with the number of tries and the last try's exit and line", async () => {
    const driver = new MemoryDriver({
      host: "local",
      handler: () => ({ exitCode: 1, output: "7 jobs left\n" }),
    });
    const r = await waitUntil.run(queueEmpty(60), stepContext({ driver }));
    assert.ok(!r.ok);
    assert.equal(
      r.error,
      `\`queue-empty\` did not pass within 60 ms (${driver.history.length} tries; last: exit 1: 7 jobs left)`,
    );
    assert.ok(driver.history.length > 1, "tried more than once before the deadline");
    assert.equal(r.exitCode, 1);
    assert.equal(r.output, "7 jobs left\n");
  });

  it("ends a try that hangs at the deadline, not at the step's much longer timeout", async () => {
    const driver = new MemoryDriver({ host: "local", handler: () => ({ delayMs: 60_000 }) });
    const ctx = stepContext({ driver, step: { timeoutMs: 3_600_000 } });
    const r = await waitUntil.run(queueEmpty(1000), ctx);
    assert.ok(!r.ok);
    assert.match(r.error, /within 1000 ms \(1 tries; last: timed out \(killed by SIGTERM\)\)/);
  });

  it("stops trying once the run is aborted", async () => {
    const abort = new AbortController();
    const driver = new MemoryDriver({
      host: "local",
      handler: () => {
        abort.abort();
        return { exitCode: 1 };
      },
    });
    const r = await waitUntil.run(queueEmpty(60_000), stepContext({ driver, signal: abort.signal }));
    assert.ok(!r.ok);
    assert.match(r.error, /did not pass within 60000 ms/);
    assert.equal(driver.history.length, 1, "no command runs after the abort");
  });
});
