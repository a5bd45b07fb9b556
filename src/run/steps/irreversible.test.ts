import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { stepContext } from "../../../test/support/step-context.js";
import { MemoryDriver } from "../../drivers/memory-driver.js";
import { irreversible } from "./irreversible.js";

/** A driver whose `check` command exits with `code` (or hangs past the step's timeout when null). */
const checking = (code: number | null) =>
  new MemoryDriver({
    host: "h2",
    handler: (cmd) =>
      cmd === "migrated"
        ? code === null
          ? { delayMs: 1000 }
          : { exitCode: code, output: `said ${code}\n` }
        : undefined,
  });

describe("irreversible", () => {
  it("without a check cannot be undone, naming the action and its host", async () => {
    const r = await irreversible.run(
      { type: "irreversible", action: "schema" },
      stepContext({ step: { host: "h2" }, driver: checking(0) }),
    );
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.irreversible, true);
    assert.match(
      !r.ok ? r.error : "",
      /^action schema on h2 has no undo \(nor a check .*`ferry resume` carries the hop forward$/,
    );
  });

  it("with a check that exits non-zero has nothing to undo", async () => {
    const r = await irreversible.run(
      { type: "irreversible", action: "schema", check: "migrated" },
      stepContext({ driver: checking(1) }),
    );
    assert.equal(r.ok, true);
    assert.match(r.output, /says its effect is not there/);
  });

  it("with a check that says the effect is there cannot be undone, and says how to go on", async () => {
    const r = await irreversible.run(
      { type: "irreversible", action: "schema", check: "migrated" },
      stepContext({ driver: checking(0) }),
    );
    assert.equal(!r.ok && r.irreversible, true);
    assert.match(
      !r.ok ? r.error : "",
      /its check `migrated` says its effect is there: `ferry resume` carries the hop forward; or undo it by hand until the check exits non-zero, then `ferry rollback` undoes the rest/,
    );
  });

  it("takes a check that could not run or did not finish for no answer, never for `gone`", async () => {
    for (const code of [127, null]) {
      const r = await irreversible.run(
        { type: "irreversible", action: "schema", check: "migrated" },
        stepContext({ driver: checking(code), step: { timeoutMs: 100 } }),
      );
      assert.equal(!r.ok && r.irreversible, true, `check ${code}`);
      assert.match(!r.ok ? r.error : "", /could not tell \(/);
    }
  });
});
