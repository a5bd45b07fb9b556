import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { NotifyReceiver } from "../cluster/cluster.js";
import type { NewNotice, RunStatus } from "../store/state-store.js";
import { decideNotice, type RunCondition } from "./decide-notice.js";

const ALL: NotifyReceiver = {
  webhook: "https://hooks.example/ferry",
  events: ["started", "awaiting-approval", "paused", "failed", "rolled-back", "done"],
  headers: { Authorization: `Bearer \${env:HOOK_TOKEN}` },
};
const DONE_ONLY: NotifyReceiver = {
  webhook: `https://other.example/\${env:PATH_TOKEN}`,
  events: ["done"],
  headers: {},
};

function condition(status: RunStatus, over: Partial<RunCondition> = {}): RunCondition {
  return {
    runId: "20261121T040206Z-a8b8",
    cluster: "demo",
    from: "1.0.0",
    to: "1.1.0",
    status,
    message: null,
    who: "bob@ops",
    startedBy: "alice@bastion",
    hop: { from: "1.0.0", to: "1.0.1" },
    failed: null,
    recovered: false,
    ...over,
  };
}

const decide = (c: RunCondition, last: string | null): NewNotice | null =>
  decideNotice(c, [ALL, DONE_ONLY], Date.UTC(2026, 10, 21, 4, 2, 6))(last);

describe("which event a change of a run's condition sends", () => {
  const failedStep = { step: "1.0.1/roll/api/h2/start", host: "h2" };
  // [what happened, the condition, the last one recorded, the event it sends (null: none; "-": not recorded)]
  const rows: [string, RunCondition, string | null, string | null][] = [
    ["a run starts", condition("running"), null, "started"],
    [
      "a run waits for an approval",
      condition("running", { awaiting: { step: "1.0.1/roll/api/approve/before", detail: "approve api" } }),
      "running",
      "awaiting-approval",
    ],
    [
      "the same approval noticed again",
      condition("running", { awaiting: { step: "1.0.1/roll/api/approve/before", detail: "approve api" } }),
      "running/awaiting-approval:1.0.1/roll/api/approve/before",
      "-",
    ],
    [
      "the next approval of the run",
      condition("running", { awaiting: { step: "1.0.1/activate/action/go", detail: "go?" } }),
      "running/awaiting-approval:1.0.1/roll/api/approve/before",
      "awaiting-approval",
    ],
    ["a resume after a pause", condition("running"), "paused", null],
    ["the same status twice", condition("running"), "running", "-"],
    ["rolling back", condition("rolling-back"), "running", null],
    ["a requested pause", condition("paused"), "running", "paused"],
    ["a second pause, after a resume", condition("paused"), "running", "paused"],
    ["onFailure: pause", condition("paused", { failed: failedStep }), "running", "failed"],
    ["an interrupt past the point of no return", condition("stopped"), "running", "paused"],
    [
      "a failure past the point of no return",
      condition("stopped", { failed: failedStep }),
      "running",
      "failed",
    ],
    [
      "a rollback that could not finish",
      condition("failed", { failed: failedStep }),
      "rolling-back",
      "failed",
    ],
    ["rolled back", condition("rolled-back"), "rolling-back", "rolled-back"],
    ["done", condition("done"), "running", "done"],
    // Found by the next command: the process died right after writing the status.
    ["a start found later", condition("running", { recovered: true }), null, "started"],
    ["an end found later", condition("done", { recovered: true }), "running", "done"],
    // Found later with nothing recorded: the run began before notify was set up.
    ["an old run, over", condition("done", { recovered: true }), null, "-"],
    ["an old run, paused", condition("paused", { recovered: true }), null, null],
  ];
  for (const [what, c, last, event] of rows) {
    it(`${what}: ${event === "-" ? "nothing recorded" : (event ?? "recorded, sends nothing")}`, () => {
      const notice = decide(c, last);
      if (event === "-") return assert.equal(notice, null);
      assert.ok(notice);
      assert.equal(
        notice.condition,
        c.awaiting ? `${c.status}/awaiting-approval:${c.awaiting.step}` : c.status,
      );
      assert.equal(notice.event, event);
      if (event === null) assert.deepEqual(notice.deliveries, []);
    });
  }

  it("delivers to the receivers that take the event, each with a key of its own", () => {
    const started = decide(condition("running"), null);
    assert.deepEqual(
      started?.deliveries.map((d) => d.receiver),
      [{ webhook: ALL.webhook, headers: ALL.headers }],
    );
    const done = decide(condition("done"), "running");
    assert.deepEqual(
      done?.deliveries.map((d) => (d.receiver as { webhook: string }).webhook),
      [ALL.webhook, DONE_ONLY.webhook],
    );
    const keys = done?.deliveries.map((d) => d.key) ?? [];
    assert.equal(new Set(keys).size, 2);
    for (const key of keys) assert.match(key, /^ferry-[0-9a-f-]{36}$/);
  });

  it("keeps the receiver's references as written: no secret is expanded into the outbox", () => {
    const done = decide(condition("done"), "running");
    assert.doesNotMatch(JSON.stringify(done), /HOOK_TOKEN}[^"]|s3cret/);
    assert.match(JSON.stringify(done), /Bearer \$\{env:HOOK_TOKEN\}/);
  });
});

describe("the body of a notification", () => {
  it("has the fields DESIGN.md names and a Slack text; a failure names its step and host", () => {
    const c = condition("paused", {
      failed: { step: "1.0.1/roll/api/h2/start", host: "h2" },
      message: "1.0.1/roll/api/h2/start failed: exit 1 <boom> & more",
    });
    assert.deepEqual(decide(c, "running")?.body, {
      event: "failed",
      run: "20261121T040206Z-a8b8",
      cluster: "demo",
      hop: "1.0.0 → 1.0.1",
      step: "1.0.1/roll/api/h2/start",
      host: "h2",
      who: "bob@ops",
      message: "1.0.1/roll/api/h2/start failed: exit 1 <boom> & more",
      text: "ferry: *demo* 1.0.0 → 1.1.0 failed at 1.0.1/roll/api/h2/start on h2: 1.0.1/roll/api/h2/start failed: exit 1 &lt;boom&gt; &amp; more (run 20261121T040206Z-a8b8)",
      from: "1.0.0",
      to: "1.1.0",
      time: "2026-11-21T04:02:06.000Z",
    });
  });

  it("started names who started the run; done says what the cluster runs", () => {
    const started = decide(condition("running"), null)?.body as Record<string, unknown>;
    assert.equal(started.who, "alice@bastion");
    assert.equal(started.step, null);
    assert.equal(started.message, "alice@bastion started the upgrade of demo from 1.0.0 to 1.1.0");
    assert.equal(
      started.text,
      "ferry: *demo* 1.0.0 → 1.1.0 started by alice@bastion (run 20261121T040206Z-a8b8)",
    );
    const done = decide(condition("done", { hop: { from: "1.0.1", to: "1.1.0" } }), "running")
      ?.body as Record<string, unknown>;
    assert.equal(done.message, "demo runs 1.1.0");
    assert.equal(done.hop, "1.0.1 → 1.1.0");
  });

  it("cuts a long message", () => {
    const body = decide(condition("rolled-back", { message: "x".repeat(10_000) }), "rolling-back")?.body as {
      message: string;
    };
    assert.equal(body.message.length, 2000);
    assert.ok(body.message.endsWith("…"));
  });
});
