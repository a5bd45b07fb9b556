import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { renderMetrics, StepDurations } from "./metrics.js";

describe("metrics", () => {
  it("the duration histogram is cumulative per phase and fed by step events that carry a duration", () => {
    const d = new StepDurations();
    d.listener({ type: "step", runId: "r", id: "1.0.1/roll/api/h1/stop", state: "done", durationMs: 300 });
    d.listener({ type: "step", runId: "r", id: "1.0.1/roll/api/h1/start", state: "done", durationMs: 7000 });
    d.listener({ type: "step", runId: "r", id: "1.0.1/verify/cluster", state: "running" });
    const text = d.lines().join("\n");
    assert.match(text, /^ferry_step_duration_seconds_bucket\{phase="roll",le="0\.1"\} 0$/m);
    assert.match(text, /^ferry_step_duration_seconds_bucket\{phase="roll",le="0\.5"\} 1$/m);
    assert.match(text, /^ferry_step_duration_seconds_bucket\{phase="roll",le="5"\} 1$/m);
    assert.match(text, /^ferry_step_duration_seconds_bucket\{phase="roll",le="15"\} 2$/m);
    assert.match(text, /^ferry_step_duration_seconds_bucket\{phase="roll",le="\+Inf"\} 2$/m);
    assert.match(text, /^ferry_step_duration_seconds_sum\{phase="roll"\} 7\.3$/m);
    assert.doesNotMatch(text, /verify/, "a step without a duration is not counted");
  });

  it("label values are escaped; every state appears; unknown versions are counted as such", () => {
    const text = renderMetrics({
      steps: [],
      members: [
        { component: 'a"b\\c', version: "1.0.0" },
        { component: "api", version: null },
        { component: "api", version: null },
      ],
      runs: [],
      durations: new StepDurations(),
    });
    assert.match(text, /^ferry_hosts\{component="a\\"b\\\\c",version="1\.0\.0"\} 1$/m);
    assert.match(text, /^ferry_hosts\{component="api",version="unknown"\} 2$/m);
    for (const state of ["pending", "running", "done", "failed", "undoing", "undone"])
      assert.match(text, new RegExp(`^ferry_steps\\{state="${state}"\\} 0$`, "m"));
    assert.ok(text.endsWith("\n"));
  });
});
