import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { defineCatalog, planPath } from "../catalog/index.js";
import { parseCluster } from "../cluster/cluster.js";
import { RefusedError } from "../errors.js";
import { buildPlan } from "../plan/build-plan.js";
import { type Plan, planSteps } from "../plan/plan.js";
import type { StepRecord, StepState } from "../store/state-store.js";
import { hostUndoSteps } from "./host-undo-steps.js";

const catalog = defineCatalog({ product: "p", scheme: "semver", releases: ["1.0.0", "1.0.1", "1.1.0"] });
const COMMANDS = "commands: { version: v, install: i, stop: s, activate: a, start: st }";

function plan(components: string, extra = "", to = "1.0.1", from = "1.0.0"): Plan {
  const cluster = parseCluster(
    "/c/cluster.yaml",
    `name: demo
catalog: releases.yaml
hosts: [{ name: h1, address: a1 }, { name: h2, address: a2 }, { name: h3, address: a3 }]
components:
${components}
${extra}`,
  );
  return buildPlan(cluster, planPath(catalog, from, to));
}

const API = `  - { name: api, hosts: [h1, h2, h3], ${COMMANDS}, health: { exec: up }, drain: { exec: d, undrain: u } }`;

/** The journal of `p` with every step before `at` done, `at` in `state`, the rest pending; `more` overrides. */
function journal(p: Plan, at: string, state: StepState, more: Record<string, StepState> = {}): StepRecord[] {
  let seen = false;
  return [...planSteps(p)].map(({ step }, seq) => {
    if (step.id === at) seen = true;
    const s = more[step.id] ?? (step.id === at ? state : seen ? "pending" : "done");
    return {
      id: step.id,
      seq,
      state: s,
      startedAt: null,
      endedAt: null,
      undoneAt: null,
      exitCode: null,
      output: null,
      error: null,
      attempts: 0,
      observed: null,
    };
  });
}

const refusal = (fn: () => unknown, message: RegExp) =>
  assert.throws(fn, (err: unknown) => err instanceof RefusedError && message.test(err.message));

describe("hostUndoSteps", () => {
  it("undoes the host's own steps that ran, in reverse, and none of the cluster's that ran there", () => {
    const p = plan(
      `${API.slice(0, -2)}, actions: [{ name: warm, at: after-start, run: w, undo: cw }] }`,
      "actions: [{ name: schema, at: roll, on: { component: api, host: h2 }, run: m, undo: um }]\npointOfNoReturn: { before: { component: api, host: h2 } }",
    );
    const { hop, steps } = hostUndoSteps("r", p, journal(p, "1.0.1/roll/api/h2/health", "failed"), "h2");
    assert.equal(hop.id, "1.0.1");
    assert.deepEqual(
      steps.map((s) => s.id),
      ["health", "action/warm", "start", "activate", "install", "stop", "drain"].map(
        (s) => `1.0.1/roll/api/h2/${s}`,
      ),
    );
  });

  it("takes back the switchover a new active host made, before its own roll", () => {
    const p = plan(
      `  - { name: ctl, hosts: [h1, h2], mode: active-passive, role: r, switchover: "sw {{host}}", ${COMMANDS} }`,
    );
    // Paused after h2 (the standby) rolled and took over, before h1 (the former active) began.
    const records = journal(p, "1.0.1/roll/ctl/h1/stop", "pending");
    const { steps } = hostUndoSteps("r", p, records, "h2");
    assert.deepEqual(
      steps.map((s) => s.name),
      ["switchover", "start", "activate", "install", "stop"],
    );
  });

  it("refuses what it cannot take back, naming why", () => {
    const p = plan(API, "pointOfNoReturn: { before: { component: api, host: h2 } }");
    const stopped = journal(p, "1.0.1/roll/api/h2/health", "failed");
    refusal(() => hostUndoSteps("r", p, stopped, "h9"), /h9 is not in the plan of run r/);
    refusal(() => hostUndoSteps("r", p, stopped, "h3"), /nothing to undo: h3's steps .* all pending/);
    refusal(
      () => hostUndoSteps("r", p, stopped, "h1"),
      /h2 is out of service already \(the run stopped with 1\.0\.1\/roll\/api\/h2\/health failed\); api allows at most 1/,
    );
    const undone = journal(p, "1.0.1/roll/api/h2/health", "undone", {
      ...Object.fromEntries(
        ["drain", "stop", "install", "activate", "start"].map((s) => [`1.0.1/roll/api/h2/${s}`, "undone"]),
      ),
    });
    refusal(() => hostUndoSteps("r", p, undone, "h2"), /are undone already/);
    // Once h2 is taken back, h1 may go too: only one host is then out.
    assert.equal(hostUndoSteps("r", p, undone, "h1").steps.length, 7);
  });

  it("refuses a host beside one out of service in its redundancy group, whatever the window allows", () => {
    const p = plan(
      `  - { name: osd, hosts: [h1, h2, h3], maxUnavailable: 3, groups: { replicas: [h1, h2] }, ${COMMANDS} }`,
    );
    const lane = (h: string) =>
      ["stop", "install", "activate", "start"].map((s) => `1.0.1/roll/osd/${h}/${s}`);
    // h1 stopped failing its start; h2 and h3 rolled beside it.
    const records = journal(p, "1.0.1/roll/osd/h1/start", "failed", {
      ...Object.fromEntries([...lane("h2"), ...lane("h3")].map((id) => [id, "done"])),
    });
    refusal(
      () => hostUndoSteps("r", p, records, "h2"),
      /h1 is out of service already .*they share redundancy group replicas/,
    );
    assert.equal(hostUndoSteps("r", p, records, "h3").steps.length, 4, "h3 is in no group with h1");
  });

  it("refuses a hop gone beyond its roll (unpinned, migrated) and an offline hop", () => {
    const pinned = plan(API, "pin: on\nunpin: off");
    const unpinned = journal(pinned, "1.0.1/verify/cluster", "failed");
    refusal(
      () => hostUndoSteps("r", pinned, unpinned, "h2"),
      /has gone beyond its roll \(1\.0\.1\/activate\/unpin is done\)/,
    );
    // Without a pin, a failure in verify leaves the hosts free to go back.
    const plain = plan(API);
    assert.equal(
      hostUndoSteps("r", plain, journal(plain, "1.0.1/verify/cluster", "failed"), "h2").steps.length,
      7,
    );

    const offline = plan(API, "", "1.1.0", "1.0.1");
    assert.equal(offline.hops[0]?.mode, "offline");
    refusal(
      () => hostUndoSteps("r", offline, journal(offline, "1.1.0/start/api/h2/start", "failed"), "h2"),
      /hop 1\.0\.1 → 1\.1\.0 of run r is offline: its releases do not run side by side/,
    );
  });

  it("refuses an action without undo nor check in the host's steps, naming it; one with a check is left to its check", () => {
    const without = plan(`${API.slice(0, -2)}, actions: [{ name: dirs, at: after-activate, run: x }] }`);
    const at = "1.0.1/roll/api/h2/health";
    refusal(
      () => hostUndoSteps("r", without, journal(without, at, "failed"), "h2"),
      /1\.0\.1\/roll\/api\/h2\/action\/dirs is an action without undo/,
    );
    const checked = plan(
      `${API.slice(0, -2)}, actions: [{ name: dirs, at: after-activate, run: x, check: c }] }`,
    );
    assert.ok(hostUndoSteps("r", checked, journal(checked, at, "failed"), "h2").steps.length > 0);
  });
});
