import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { member, stepContext } from "../../../test/support/step-context.js";
import { MemoryDriver } from "../../drivers/memory-driver.js";
import { healthGate } from "./health-gate.js";

const health = {
  check: { exec: "health api" },
  gate: { timeoutMs: 1000, healthyForMs: 0, deadlineMs: 50, intervalMs: 5 },
};

describe("health", () => {
  it("passes a member without a health check, running nothing", async () => {
    const driver = new MemoryDriver({ host: "h1" });
    const r = await healthGate.run({ type: "health" }, stepContext({ driver, member: member("h1") }));
    assert.deepEqual(r, { ok: true, exitCode: null, output: "" });
    assert.equal(driver.history.length, 0);
  });

  it("fails a member that is never healthy within its deadline, naming it and what the probe saw", async () => {
    const driver = new MemoryDriver({
      host: "h1",
      handler: () => ({ exitCode: 1, output: "db not ready\n" }),
    });
    const r = await healthGate.run(
      { type: "health" },
      stepContext({ driver, member: member("h1", "api", { health }) }),
    );
    assert.ok(!r.ok);
    assert.match(r.error, /^api on h1 is not healthy: .*db not ready/);
  });
});
