/**
 * The live tree's model and frames on plans too big to draw whole: finished work folds into
 * counts, only running and failed steps are drawn, and a frame never outgrows the terminal.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import pc from "picocolors";
import { defineCatalog } from "../catalog/catalog.js";
import { planPath } from "../catalog/path-planner.js";
import { parseCluster } from "../cluster/cluster.js";
import { buildPlan } from "../plan/build-plan.js";
import { type Plan, planSteps } from "../plan/plan.js";
import { ProgressModel } from "./progress-tree.js";

const plain = pc.createColors(false);

function bigPlan(hosts: number, releases: number): Plan {
  const names = Array.from({ length: hosts }, (_, i) => `h${i}`);
  const cluster = parseCluster(
    "/tmp/cluster.yaml",
    [
      "name: big",
      "catalog: releases.yaml",
      "hosts:",
      ...names.map((h) => `  - { name: ${h}, address: ${h} }`),
      "components:",
      ...["api", "worker"].map((c, i) =>
        [
          `  - name: ${c}`,
          `    hosts: [${names.join(", ")}]`,
          `    order: ${i + 1}`,
          "    maxUnavailable: 50",
          "    commands: { version: v, install: i, stop: s, activate: a, start: s }",
        ].join("\n"),
      ),
    ].join("\n"),
  );
  const versions = Array.from({ length: releases }, (_, i) => `1.0.${i}`);
  const catalog = defineCatalog({ product: "big", scheme: "semver", releases: versions });
  return buildPlan(cluster, planPath(catalog, versions[0] as string, versions.at(-1) as string));
}

function started(plan: Plan): ProgressModel {
  const model = new ProgressModel();
  const states = new Map([...planSteps(plan)].map(({ step }) => [step.id, "pending" as const]));
  model.apply({ type: "start", runId: "r", operation: "forward", plan, states }, 0);
  return model;
}

describe("the progress tree", () => {
  it("folds a finished component into its host count and draws only the running steps that fit", () => {
    const plan = bigPlan(2000, 2);
    const model = started(plan);
    const steps = [...planSteps(plan)].map(({ step }) => step);
    let t = 0;
    for (const step of steps) {
      if (step.component === "worker") break;
      model.apply({ type: "step", runId: "r", id: step.id, state: "running" }, t++);
      model.apply({ type: "step", runId: "r", id: step.id, state: "done" }, t++);
    }
    const running = steps.filter((s) => s.component === "worker" && s.name === "stop").slice(0, 50);
    for (const step of running) {
      model.apply({ type: "step", runId: "r", id: step.id, state: "running" }, t);
      model.apply(
        { type: "output", runId: "r", id: step.id, line: `\u001b[31mstopping ${step.host}\t…\u001b[0m` },
        t,
      );
    }

    const frame = model.frame(t + 1500, 100, 24, plain);
    assert.ok(frame.length <= 24, `${frame.length} lines`);
    for (const line of frame) assert.ok([...line].length < 100, line);
    const text = frame.join("\n");
    assert.match(text, /roll {2}api 2000\/2000 hosts, worker 0\/2000 hosts {2}8000\/16000 steps/);
    assert.match(text, /⠋|⠙|⠹|⠸|⠼|⠴|⠦|⠧|⠇|⠏/);
    assert.match(
      text,
      /1\.0\.1\/roll\/worker\/h0\/stop {2}1\.5s {2}› stopping h0 {2}…/,
      "output without its escape codes",
    );
    const shown = frame.filter((l) => l.includes("/roll/worker/")).length;
    assert.ok(shown >= 10, `${shown} running steps shown`);
    assert.ok(text.includes(`… and ${50 - shown} more`), text);
    assert.doesNotMatch(text, /\/roll\/api\//, "finished steps are not drawn");
  });

  it("folds finished and coming hops when there are more than rows", () => {
    const plan = bigPlan(2, 40);
    const model = started(plan);
    let t = 0;
    for (const { hop, step } of planSteps(plan)) {
      if (hop.to === "1.0.20") break;
      model.apply({ type: "step", runId: "r", id: step.id, state: "running" }, t++);
      model.apply({ type: "step", runId: "r", id: step.id, state: "done" }, t++);
    }
    const frame = model.frame(t, 120, 24, plain);
    assert.ok(frame.length <= 24, `${frame.length} lines`);
    const text = frame.join("\n");
    assert.match(text, /✓ 19 hops done/);
    assert.match(text, /· 1\.0\.19 → 1\.0\.20 {2}patch, rolling {2}0\/\d+ steps/);
    assert.match(text, /· 19 more hops to 1\.0\.39/);
  });

  it("counts a component's hosts once in a phase that holds several pools of it (a roll cut by the point of no return, an action on every host)", () => {
    const cluster = parseCluster(
      "/tmp/cluster.yaml",
      `name: cut
catalog: releases.yaml
hosts: [{ name: h1, address: a }, { name: h2, address: b }, { name: h3, address: c }]
components:
  - { name: api, hosts: [h1, h2, h3], commands: { version: v, install: i, stop: s, activate: a, start: s } }
actions: [{ name: warm, at: roll, on: { component: api, host: all }, run: w }]
pointOfNoReturn: { before: { component: api, host: last } }`,
    );
    const catalog = defineCatalog({ product: "cut", scheme: "semver", releases: ["1.0.0", "1.0.1"] });
    const plan = buildPlan(cluster, planPath(catalog, "1.0.0", "1.0.1"));
    const model = started(plan);
    let t = 0;
    for (const { step } of planSteps(plan)) {
      if (step.host === "h3") break;
      model.apply({ type: "step", runId: "r", id: step.id, state: "running" }, t++);
      model.apply({ type: "step", runId: "r", id: step.id, state: "done" }, t++);
    }
    const text = model.frame(t, 120, 40, plain).join("\n");
    assert.match(
      text,
      /roll {2}api 0\/3 hosts {2}9\/16 steps/,
      "no host has all its steps of the roll done yet",
    );
    for (const { step } of planSteps(plan)) {
      if (step.host === "h1" || step.host === "h2")
        model.apply({ type: "step", runId: "r", id: step.id, state: "done" }, t);
    }
    assert.match(model.frame(t, 120, 40, plain).join("\n"), /roll {2}api 2\/3 hosts/);
  });

  it("counts a resumed run's finished steps as done from the start", () => {
    const plan = bigPlan(3, 2);
    const ids = [...planSteps(plan)].map(({ step }) => step.id);
    const model = new ProgressModel();
    const states = new Map(ids.map((id, i) => [id, i < 11 ? ("done" as const) : ("pending" as const)]));
    model.apply({ type: "start", runId: "r", operation: "forward", plan, states }, 0);
    assert.match(
      model.frame(0, 120, 40, plain).join("\n"),
      /roll {2}api 2\/3 hosts, worker 0\/3 hosts {2}10\/24 steps/,
    );
  });

  it("shows what the run waits for under its head line while it waits, and not after", () => {
    const plan = bigPlan(3, 2);
    const model = started(plan);
    const waiting = {
      for: "approval",
      since: Date.now() - 65_000,
      detail: "approve api",
      step: "x",
    } as const;
    model.apply({ type: "wait", runId: "r", waiting }, 1000);
    const frame = model.frame(1000, 120, 40, plain);
    assert.match(frame[1] ?? "", /⏸ waiting for approval: approve api {2}\(1m0[45]s\)/);
    model.apply({ type: "wait-ended", runId: "r", waiting, how: "approved by ann", at: 0 }, 2000);
    assert.doesNotMatch(model.frame(2000, 120, 40, plain).join("\n"), /waiting for/);
  });
});
