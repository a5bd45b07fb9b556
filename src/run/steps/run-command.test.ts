import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { stepContext } from "../../../test/support/step-context.js";
import { MemoryDriver } from "../../drivers/memory-driver.js";
import type { RunEvent } from "../events.js";
import { runCommand } from "./run-command.js";

const env = (back: boolean) => ({ FERRY_VERSION: back ? "1.0.0" : "1.0.1", FERRY_RUN_ID: "run-1" });

describe("exec", () => {
  it("runs with the hop's FERRY_* values and FERRY_STEP, or the way back's when `back`", async () => {
    const driver = new MemoryDriver({ host: "h1" });
    const ctx = stepContext({ driver, env });
    const forward = await runCommand.run({ type: "exec", command: "printenv FERRY_VERSION FERRY_STEP" }, ctx);
    assert.deepEqual(forward, { ok: true, exitCode: 0, output: "1.0.1\n1.0.1/roll/api/h1/x\n" });
    const back = await runCommand.run({ type: "exec", command: "printenv FERRY_VERSION", back: true }, ctx);
    assert.equal(back.output, "1.0.0\n");
  });

  it("tells the run's listeners each line of output as it comes, the step's id with it", async () => {
    const driver = new MemoryDriver({ host: "h1", handler: () => ({ output: "one\r\ntwo\nthree" }) });
    const ctx = stepContext({ driver });
    const seen: RunEvent[] = [];
    ctx.events.on((e) => seen.push(e));
    await runCommand.run({ type: "exec", command: "install api" }, ctx);
    assert.deepEqual(
      seen,
      ["one", "two", "three"].map((line) => ({
        type: "output",
        runId: "run-1",
        id: "1.0.1/roll/api/h1/x",
        line,
      })),
    );
  });

  it("fails on a non-zero exit, naming the command, the host, the exit and the last line", async () => {
    const driver = new MemoryDriver({
      host: "h1",
      handler: () => ({ exitCode: 3, output: "starting\nport in use\n" }),
    });
    const r = await runCommand.run({ type: "exec", command: "start api" }, stepContext({ driver }));
    assert.deepEqual(r, {
      ok: false,
      error: "`start api` on h1: exit 3: port in use",
      exitCode: 3,
      output: "starting\nport in use\n",
    });
  });

  it("carries the step's marker as FERRY_PROCESS", async () => {
    const ctx = stepContext({ marker: "0123456789abcdef" });
    const r = await runCommand.run({ type: "exec", command: "printenv FERRY_PROCESS" }, ctx);
    assert.equal(r.output, "0123456789abcdef\n");
  });

  it("ends a command at the step's timeout and says so", async () => {
    const ctx = stepContext({ step: { host: undefined, timeoutMs: 30 } });
    const r = await runCommand.run({ type: "exec", command: "sleep 60" }, ctx);
    assert.ok(!r.ok);
    assert.equal(r.error, "`sleep 60` on this machine: timed out after 30ms (killed by SIGTERM)");
  });
});
