import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { DemoReport } from "../index.js";
import { whatWentWrong } from "./demo-command.js";

const clean: DemoReport = {
  path: ["1.0.0", "1.0.1", "1.2.0"],
  requests: { sent: 3000, failed: 0 },
  latencyMs: { p50: 2, p99: 9, max: 40 },
  latencyBeforeMs: { p50: 2, p99: 8, max: 30 },
  writes: { acknowledged: 900, lost: 0 },
  jobs: { enqueued: 300, completed: 300, lost: 0 },
  durationS: 18.2,
  finalVersion: "1.2.0",
  outcome: "Upgraded notes-demo to 1.2.0.",
  problems: [],
  recorded: null,
};

describe("whatWentWrong: what a failed demo says on stderr beside its JSON", () => {
  it("says nothing of a demo that upgraded every member and lost nothing", () => {
    assert.deepEqual(whatWentWrong(clean), []);
  });

  it("names a request that failed outside the upgrade's span, which `requests` does not count", () => {
    const r = { ...clean, problems: ["write failed: ECONNRESET"] };
    assert.deepEqual(whatWentWrong(r), [clean.outcome, "write failed: ECONNRESET"]);
  });

  it("gives the run's outcome when the members do not all run the last release", () => {
    const r = { ...clean, finalVersion: null, outcome: "Rolled back to 1.0.1." };
    assert.deepEqual(whatWentWrong(r), ["Rolled back to 1.0.1."]);
  });

  it("gives the outcome and the problems when a write or a job was lost", () => {
    const r = {
      ...clean,
      writes: { acknowledged: 900, lost: 1 },
      jobs: { enqueued: 300, completed: 299, lost: 1 },
      problems: ["note 7 lost: HTTP 404", "job 3 lost: not done after 30000 ms (queued)"],
    };
    assert.deepEqual(whatWentWrong(r), [clean.outcome, ...r.problems]);
  });
});
