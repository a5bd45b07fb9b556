import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { OperationError } from "../errors.js";
import { reportError } from "./output.js";

/** What reportError writes to stderr, and the code it returns. */
function report(err: unknown, env: NodeJS.ProcessEnv): { code: number; stderr: string } {
  let stderr = "";
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string) => {
    stderr += chunk;
    return true;
  }) as typeof process.stderr.write;
  try {
    return { code: reportError(err, false, env), stderr };
  } finally {
    process.stderr.write = write;
  }
}

describe("reportError", () => {
  it("reports a failure ferry did not foresee in one line and a hint, without a stack trace", () => {
    const { code, stderr } = report(new TypeError("cannot read properties of undefined"), {});
    assert.equal(code, 1);
    assert.match(stderr, /^ferry: internal error: cannot read properties of undefined\n/);
    assert.match(stderr, /FERRY_DEBUG=1 shows where it happened/);
    assert.doesNotMatch(stderr, /^\s+at /m);
  });

  it("with FERRY_DEBUG=1 adds the stack trace, and its causes'", () => {
    const cause = new RangeError("deep down");
    const { stderr } = report(new OperationError("the journal could not be written", { cause }), {
      FERRY_DEBUG: "1",
    });
    assert.match(stderr, /^ferry: error: the journal could not be written\n/);
    assert.match(stderr, /^OperationError: the journal could not be written\n\s+at /m);
    assert.match(stderr, /^caused by: RangeError: deep down\n\s+at /m);
  });

  it("a known error gets neither the trace nor the hint", () => {
    const { stderr } = report(new OperationError("the host is gone"), {});
    assert.equal(stderr, "ferry: error: the host is gone\n");
  });
});
