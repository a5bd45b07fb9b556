import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { member, stepContext } from "../../../test/support/step-context.js";
import { MemoryDriver } from "../../drivers/memory-driver.js";
import { versionIs } from "./version-is.js";

const runs = (output: string, exitCode = 0) =>
  stepContext({
    member: member("h1"),
    driver: new MemoryDriver({ host: "h1", handler: () => ({ output, exitCode }) }),
  });

describe("version-is", () => {
  it("passes when the step's member reports the version", async () => {
    assert.deepEqual(await versionIs.run({ type: "version-is", version: "1.0.1" }, runs("1.0.1\n")), {
      ok: true,
      exitCode: 0,
      output: "1.0.1\n",
    });
  });

  it("fails saying what the member runs instead, or why it could not tell", async () => {
    const other = await versionIs.run({ type: "version-is", version: "1.0.1" }, runs("1.0.0\n"));
    assert.ok(!other.ok);
    assert.equal(other.error, "runs 1.0.0, not 1.0.1");
    const broken = await versionIs.run({ type: "version-is", version: "1.0.1" }, runs("no such file\n", 1));
    assert.ok(!broken.ok);
    assert.equal(broken.error, "runs no known version (version command: exit 1: no such file), not 1.0.1");
  });

  it("fails a step that has no member to ask", async () => {
    const r = await versionIs.run({ type: "version-is", version: "1.0.1" }, stepContext());
    assert.ok(!r.ok);
    assert.equal(r.error, "no member to ask its version");
  });
});
