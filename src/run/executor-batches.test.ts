/**
 * The executor walking a component in batches (Ansible's serial list), with a soak after each:
 * on the simulated product, with the in-memory store.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SIM_COMMANDS, SimCluster } from "../../test/support/sim-cluster.js";
import { defineCatalog, planPath } from "../catalog/index.js";
import { parseCluster } from "../cluster/cluster.js";
import { buildPlan } from "../plan/build-plan.js";
import { type Plan, planSteps } from "../plan/plan.js";
import { MemoryStore } from "../store/memory-store.js";
import { Executor } from "./executor.js";

const HOSTS = ["h1", "h2", "h3", "h4"];
const catalog = defineCatalog({ product: "p", scheme: "semver", releases: ["1.0.0", "1.0.1"] });
const HOUR = 3_600_000;

async function setUp(more: string) {
  const cluster = parseCluster(
    "/c/cluster.yaml",
    `name: sim
catalog: releases.yaml
hosts: [${HOSTS.map((h) => `{ name: ${h}, address: ${h} }`).join(", ")}]
components:
  - name: api
    hosts: [${HOSTS.join(", ")}]
    commands: ${JSON.stringify(SIM_COMMANDS)}
${more}`,
  );
  const plan = buildPlan(cluster, planPath(catalog, "1.0.0", "1.0.1"));
  const sim = new SimCluster(HOSTS, ["api"], "1.0.0", 2);
  const store = new MemoryStore();
  await store.init();
  await store.createRun(
    {
      id: "run-1",
      cluster: "sim",
      from: "1.0.0",
      to: "1.0.1",
      path: plan.path,
      status: "running",
      startedAt: Date.now(),
      startedBy: "test",
      plan,
      files: {},
    },
    [...planSteps(plan)].map(({ step }) => step.id),
  );
  const executor = () =>
    new Executor({
      store,
      runId: "run-1",
      plan: JSON.parse(JSON.stringify(plan)) as Plan,
      driverFor: sim.driverFor,
      pausePollMs: 10,
    });
  return { sim, store, executor };
}

/** When each host's `stop` and `start` ran, in the simulator's order. */
function moments(sim: SimCluster, command: string): Map<string, number> {
  const at = new Map<string, number>();
  sim.events.forEach((e, i) => {
    if (e.command.startsWith(command) && !at.has(e.host)) at.set(e.host, i);
  });
  return at;
}

describe("Executor: batches and soak", () => {
  it("rolls batch after batch, a batch's hosts side by side, the next only once the last has ended", async () => {
    const t = await setUp('    batches: [1, "50%"]');
    const outcome = await t.executor().forward();
    assert.equal(outcome.status, "done", outcome.message);
    // 4 hosts: 1, then 50% (2), then the rest (1).
    const stops = moments(t.sim, "stop");
    const starts = moments(t.sim, "start");
    const order = (h: string) => stops.get(h) as number;
    const started = (h: string) => starts.get(h) as number;
    assert.ok(started("h1") < order("h2") && started("h1") < order("h3"), "batch 2 waits for batch 1");
    assert.ok(order("h3") < started("h2"), "h2 and h3 are down together: side by side");
    assert.ok(Math.max(started("h2"), started("h3")) < order("h4"), "batch 3 waits for batch 2");
    assert.equal(t.sim.maxDown.get("api"), 2);
  });

  it("a soak found running after a crash waits only what is left of it", { timeout: 20_000 }, async () => {
    const t = await setUp("    batches: [2]\n    soak: 1h");
    // A ferry that died an hour into the first batch's soak: its step is running since then.
    for (const id of ["1.0.1/roll/api/batch-1/soak", "1.0.1/roll/api/batch-2/soak"]) {
      await t.store.updateStep("run-1", id, { state: "running", startedAt: Date.now() - HOUR, attempts: 1 });
    }
    // Were the soak to start over, this would wait an hour: the test's timeout fails it.
    const outcome = await t.executor().forward();
    assert.equal(outcome.status, "done", outcome.message);
    const soak = (await t.store.steps("run-1")).find((s) => s.id === "1.0.1/roll/api/batch-1/soak");
    assert.equal(soak?.attempts, 2);
    assert.ok((soak?.startedAt ?? 0) <= Date.now() - HOUR, "it keeps when it began");
  });

  it("a pause ends a soak at once; the soak stays running, to be taken up where it was", {
    timeout: 20_000,
  }, async () => {
    const t = await setUp("    batches: [2]\n    soak: 1h");
    const executor = t.executor();
    executor.events.on((e) => {
      if (e.type === "step" && e.id === "1.0.1/roll/api/batch-1/soak" && e.state === "running")
        void t.store.requestPause("run-1", "ann@box");
    });
    const outcome = await executor.forward();
    assert.equal(outcome.reason, "paused", outcome.message);
    const steps = await t.store.steps("run-1");
    const soak = steps.find((s) => s.id === "1.0.1/roll/api/batch-1/soak");
    assert.equal(soak?.state, "running");
    assert.ok(soak?.startedAt);
    // No host of the second batch started.
    assert.ok(steps.filter((s) => /\/(h3|h4)\//.test(s.id)).every((s) => s.state === "pending"));
    assert.equal((await t.store.getRun("run-1"))?.waiting, null);
  });
});
