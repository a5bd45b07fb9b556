import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SIM_COMMANDS, SimCluster } from "../../test/support/sim-cluster.js";
import { defineCatalog, planPath } from "../catalog/index.js";
import { parseCluster } from "../cluster/cluster.js";
import { OperationError, RefusedError } from "../errors.js";
import { buildPlan } from "../plan/build-plan.js";
import { type Plan, planSteps } from "../plan/plan.js";
import { MemoryStore } from "../store/memory-store.js";
import type { StateStore, StepRecord } from "../store/state-store.js";
import { Executor, processMarker } from "./executor.js";

const HOSTS = ["h1", "h2", "h3"];
const catalog = defineCatalog({
  product: "p",
  scheme: "semver",
  releases: ["1.0.0", "1.0.1", "1.0.2", "1.1.0"],
});

function clusterFile(extra = "", drain = false, components?: string) {
  const commands = JSON.stringify(SIM_COMMANDS);
  const apiDrain = drain ? `, drain: { exec: "drain api", undrain: "ready api" }` : "";
  return parseCluster(
    "/c/cluster.yaml",
    `name: sim
catalog: releases.yaml
hosts: [${HOSTS.map((h) => `{ name: ${h}, address: ${h} }`).join(", ")}]
components:${
      components ??
      `
  - { name: api, hosts: [h1, h2, h3], order: 1, maxUnavailable: 2, commands: ${commands}, health: { exec: "health api", interval: 10ms, deadline: 1s }${apiDrain} }
  - { name: worker, hosts: [h1, h2, h3], order: 1, commands: ${commands} }
  - { name: gateway, hosts: [h1, h2], order: 2, commands: ${commands} }`
    }
${extra}`,
  );
}

async function setUp(
  to: string,
  options: {
    extra?: string;
    delayMs?: ConstructorParameters<typeof SimCluster>[3];
    from?: string;
    wrap?: (store: StateStore) => StateStore;
    /** Give api a drain: `drain api` / `ready api` on each host. */
    drain?: boolean;
    /** The components, in place of api, worker and gateway. */
    components?: string;
  } = {},
) {
  const cluster = clusterFile(options.extra, options.drain, options.components);
  const from = options.from ?? "1.0.0";
  const plan = buildPlan(cluster, planPath(catalog, from, to));
  const sim = new SimCluster(
    HOSTS,
    cluster.components.map((c) => c.name),
    from,
    options.delayMs ?? 1,
  );
  // Only the members the cluster file has (gateway runs only on h1 and h2).
  for (const c of cluster.components) {
    for (const h of HOSTS) if (!c.hosts.includes(h)) sim.members.delete(`${c.name}@${h}`);
  }
  const store = new MemoryStore();
  await store.init();
  const runId = "run-1";
  const stepIds = [...planSteps(plan)].map(({ step }) => step.id);
  await store.createRun(
    {
      id: runId,
      cluster: "sim",
      from,
      to,
      path: plan.path,
      status: "running",
      startedAt: Date.now(),
      startedBy: "test",
      plan,
      files: {},
    },
    stepIds,
  );
  const executor = () =>
    new Executor({
      store: options.wrap ? options.wrap(store) : store,
      runId,
      plan: JSON.parse(JSON.stringify(plan)) as Plan,
      driverFor: sim.driverFor,
    });
  const states = async () =>
    Object.fromEntries((await store.steps(runId)).map((s: StepRecord) => [s.id, s.state]));
  return { sim, store, runId, plan, executor, states, stepIds };
}

const allAt = (sim: SimCluster, version: string) => Object.values(sim.snapshot()).every((v) => v === version);

describe("Executor", () => {
  it("upgrades every member through every hop and records every step done", async () => {
    const t = await setUp("1.1.0");
    const outcome = await t.executor().forward();
    assert.equal(outcome.status, "done", outcome.message);
    assert.ok(allAt(t.sim, "1.1.0"), JSON.stringify(t.sim.snapshot()));
    assert.ok(Object.values(await t.states()).every((s) => s === "done"));
    assert.equal((await t.store.getRun(t.runId))?.status, "done");
  });

  it("never takes more than maxUnavailable hosts of a component out at once, and rolls equal orders side by side", async () => {
    const t = await setUp("1.0.1", { delayMs: 5 });
    await t.executor().forward();
    assert.equal(t.sim.maxDown.get("api"), 2);
    assert.equal(t.sim.maxDown.get("worker"), 1);
    assert.equal(t.sim.maxDown.get("gateway"), 1);
    assert.equal(t.sim.maxDownOverall, 3, "api (2) and worker (1) roll side by side; gateway after them");
  });

  it("never takes two hosts of one redundancy group out at once, across components too", async () => {
    // store-a's replicas are h1 and h2, store-b's are h2 and h3, under one label: no two of h1, h2,
    // h3 may be down together, though the two roll side by side with a window of 2 each.
    const groups = `
  - { name: store-a, hosts: [h1, h2], order: 1, maxUnavailable: 2, groups: { replicas: [h1, h2] }, commands: ${JSON.stringify(SIM_COMMANDS)} }
  - { name: store-b, hosts: [h2, h3], order: 1, maxUnavailable: 2, groups: { replicas: [h2, h3] }, commands: ${JSON.stringify(SIM_COMMANDS)} }`;
    const hostsDownTogether = (sim: SimCluster) =>
      Math.max(
        ...sim.downSets.map(
          (set) => new Set(set.filter((m) => m.startsWith("store-")).map((m) => m.split("@")[1])).size,
        ),
      );
    const t = await setUp("1.0.1", { components: groups, delayMs: 3 });
    const outcome = await t.executor().forward();
    assert.equal(outcome.status, "done", outcome.message);
    assert.equal(hostsDownTogether(t.sim), 1, JSON.stringify(t.sim.downSets));
    assert.ok(allAt(t.sim, "1.0.1"));

    // The same cluster without the label takes replicas out together: the rule above is what held.
    const free = await setUp("1.0.1", {
      components: groups.replaceAll(/groups: \{[^}]*\}, /g, ""),
      delayMs: 3,
    });
    await free.executor().forward();
    assert.ok(hostsDownTogether(free.sim) > 1);
  });

  it("starts the next host as soon as one finishes (a sliding window, not batches)", async () => {
    // api on h1 is slow: with a window of 2, h3 must start while h1 is still at work.
    const t = await setUp("1.0.1", {
      delayMs: (host, cmd) => (host === "h1" && cmd.endsWith("api") ? 60 : 2),
    });
    await t.executor().forward();
    const at = (host: string, cmd: string) =>
      t.sim.events.find((e) => e.host === host && e.command.startsWith(cmd))?.at ?? Number.NaN;
    assert.ok(at("h3", "stop api") < at("h1", "start api"), "h3 started before h1 was back");
  });

  it("rolls back every completed step in reverse when a step fails before the point of no return", async () => {
    const t = await setUp("1.0.1");
    // The new release cannot start on h2; the old one can.
    t.sim.fail = (host, cmd) =>
      host === "h2" && cmd === "start worker" && t.sim.member("h2", "worker").active === "1.0.1"
        ? { exitCode: 3, output: "port in use\n" }
        : undefined;
    const outcome = await t.executor().forward();
    assert.equal(outcome.status, "rolled-back");
    assert.equal(outcome.failed?.id, "1.0.1/roll/worker/h2/start");
    assert.match(outcome.failed?.error ?? "", /exit 3: port in use/);
    t.sim.fail = undefined;
    assert.ok(allAt(t.sim, "1.0.0"), JSON.stringify(t.sim.snapshot()));
    const states = await t.states();
    assert.ok(
      Object.values(states).every((s) => s === "undone" || s === "pending"),
      JSON.stringify(states),
    );
    // Undone in reverse plan order: worker@h2's activate before worker@h1's.
    const undo = t.sim.events.filter((e) => e.command === "activate worker 1.0.0").map((e) => e.host);
    assert.deepEqual(undo, ["h2", "h1"]);
    assert.equal((await t.store.getRun(t.runId))?.status, "rolled-back");
  });

  it("fails a step whose host cannot run its command at all, naming the host, and rolls back", async () => {
    const t = await setUp("1.0.1");
    t.sim.fail = (host, cmd) => {
      if (host === "h2" && cmd === "stop worker") throw new Error("connection lost");
      return undefined;
    };
    const outcome = await t.executor().forward();
    assert.equal(outcome.status, "rolled-back", outcome.message);
    assert.equal(outcome.failed?.id, "1.0.1/roll/worker/h2/stop");
    assert.equal(outcome.failed?.error, "h2: connection lost");
    t.sim.fail = undefined;
    assert.ok(allAt(t.sim, "1.0.0"), JSON.stringify(t.sim.snapshot()));
  });

  it("with onFailure: pause, leaves the run for resume, which re-runs the failed step and finishes", async () => {
    const t = await setUp("1.0.1", { extra: "onFailure: pause" });
    t.sim.fail = (host, cmd) =>
      host === "h3" && cmd === "install api 1.0.1" ? { exitCode: 1, output: "disk full\n" } : undefined;
    const paused = await t.executor().forward();
    assert.equal(paused.status, "paused");
    assert.match(paused.message, /ferry resume/);
    t.sim.fail = undefined;
    const done = await t.executor().forward();
    assert.equal(done.status, "done", done.message);
    assert.ok(allAt(t.sim, "1.0.1"));
  });

  it("after the point of no return stops instead of going back, and refuses to roll back", async () => {
    const t = await setUp("1.0.1");
    // The roll's own health gates pass; verify, after the point of no return, is what fails.
    let verifying = false;
    t.sim.fail = (_h, cmd) => (verifying && cmd === "health api" ? { exitCode: 1 } : undefined);
    const e = t.executor();
    e.events.on((ev) => {
      if (ev.type === "step" && ev.id === "1.0.1/point-of-no-return" && ev.state === "done") verifying = true;
    });
    const outcome = await e.forward();
    assert.equal(outcome.status, "stopped", outcome.message);
    assert.match(outcome.message, /point of no return.*ferry resume/);
    assert.ok(allAt(t.sim, "1.0.1"), "nothing was undone");
    await assert.rejects(t.executor().rollback(), RefusedError);
    verifying = false;
    assert.equal((await t.executor().forward()).status, "done");
  });

  it("on an interrupt before the point of no return finishes the steps in flight, then rolls back", async () => {
    const t = await setUp("1.0.1", { delayMs: 3 });
    const e = t.executor();
    e.events.on((ev) => {
      if (ev.type === "step" && ev.id === "1.0.1/roll/api/h2/activate" && ev.state === "running")
        assert.equal(e.interrupt(), "rolling back");
    });
    const outcome = await e.forward();
    assert.equal(outcome.status, "rolled-back");
    assert.ok(allAt(t.sim, "1.0.0"), JSON.stringify(t.sim.snapshot()));
    assert.equal(
      (await t.states())["1.0.1/roll/api/h2/activate"],
      "undone",
      "the step in flight finished, then was undone",
    );
  });

  it("on an interrupt after the point of no return carries the hop to its end, then stops before the next", async () => {
    const t = await setUp("1.0.2");
    const e = t.executor();
    const said: string[] = [];
    e.events.on((ev) => {
      if (ev.type === "step" && ev.id === "1.0.1/point-of-no-return" && ev.state === "done")
        said.push(e.interrupt());
    });
    const outcome = await e.forward();
    assert.deepEqual(said, [
      "ignoring the signal and continuing to the end of hop 1.0.0 → 1.0.1 (a second one stops after the steps in flight)",
    ]);
    assert.equal(outcome.status, "stopped", outcome.message);
    assert.equal(outcome.reason, "interrupted");
    assert.match(
      outcome.message,
      /carried that hop to its end: sim runs 1\.0\.1\. Stopped before hop 1\.0\.1 → 1\.0\.2/,
    );
    const states = await t.states();
    for (const [id, state] of Object.entries(states))
      assert.equal(state, id.startsWith("1.0.1/") ? "done" : "pending", id);
    assert.ok(allAt(t.sim, "1.0.1"));
    assert.equal((await t.executor().forward()).status, "done");
    assert.ok(allAt(t.sim, "1.0.2"));
  });

  it("on an interrupt after the point of no return of the last hop carries it to its end: done", async () => {
    const t = await setUp("1.0.1");
    const e = t.executor();
    e.events.on((ev) => {
      if (ev.type === "step" && ev.id === "1.0.1/point-of-no-return" && ev.state === "done") e.interrupt();
    });
    const outcome = await e.forward();
    assert.equal(outcome.status, "done", outcome.message);
    assert.ok(Object.values(await t.states()).every((s) => s === "done"));
  });

  it("on a second interrupt after the point of no return finishes the step in flight and stops resumable", async () => {
    const t = await setUp("1.0.2");
    const e = t.executor();
    const said: string[] = [];
    e.events.on((ev) => {
      if (ev.type === "step" && ev.id === "1.0.1/verify/cluster" && ev.state === "running")
        said.push(e.interrupt(), e.interrupt());
    });
    const outcome = await e.forward();
    assert.equal(said[1], "stopping");
    assert.equal(outcome.status, "stopped");
    assert.match(outcome.message, /past its point of no return.*ferry resume/);
    assert.equal((await t.states())["1.0.1/verify/cluster"], "done", "the step in flight finished");
    assert.ok(allAt(t.sim, "1.0.1"));
    assert.equal((await t.executor().forward()).status, "done");
    assert.ok(allAt(t.sim, "1.0.2"));
  });

  it('interrupt("stop") after the point of no return (ferry serve going down) finishes the step in flight and stops', async () => {
    const t = await setUp("1.0.2");
    const e = t.executor();
    e.events.on((ev) => {
      if (ev.type === "step" && ev.id === "1.0.1/verify/cluster" && ev.state === "running")
        assert.equal(e.interrupt("stop"), "stopping");
    });
    const outcome = await e.forward();
    assert.equal(outcome.status, "stopped");
    assert.equal((await t.states())["1.0.1/verify/cluster"], "done");
    assert.equal((await t.states())["1.0.2/preflight/cluster"], "pending");
  });

  it("rolls back only the current hop; earlier hops are complete and stay", async () => {
    const t = await setUp("1.0.2");
    t.sim.fail = (host, cmd) =>
      host === "h1" && cmd === "stop gateway" && t.sim.member("h1", "api").active === "1.0.2"
        ? { exitCode: 1 }
        : undefined;
    const outcome = await t.executor().forward();
    assert.equal(outcome.status, "rolled-back");
    assert.match(outcome.message, /back at 1\.0\.1/);
    assert.ok(allAt(t.sim, "1.0.1"), JSON.stringify(t.sim.snapshot()));
  });

  it("on resume, marks a step found running done when its check finds the effect there, without re-running it", async () => {
    const t = await setUp("1.0.1");
    // As if ferry died right after h1's api was activated, before the journal said so.
    for (const id of t.stepIds.slice(0, t.stepIds.indexOf("1.0.1/roll/api/h1/activate"))) {
      await t.store.updateStep(t.runId, id, { state: "done", startedAt: 1, endedAt: 2, attempts: 1 });
    }
    await t.store.updateStep(t.runId, "1.0.1/roll/api/h1/activate", {
      state: "running",
      startedAt: 3,
      attempts: 1,
    });
    const m = t.sim.member("h1", "api");
    m.running = false;
    m.installed.add("1.0.1");
    m.active = "1.0.1";
    const outcome = await t.executor().forward();
    assert.equal(outcome.status, "done", outcome.message);
    assert.equal(t.sim.events.filter((e) => e.host === "h1" && e.command === "activate api 1.0.1").length, 0);
    const step = (await t.store.steps(t.runId)).find((s) => s.id === "1.0.1/roll/api/h1/activate");
    assert.equal(step?.attempts, 1, "not started again");
  });

  it("on resume, ends what a dead run's command left running before the step runs again", async () => {
    const t = await setUp("1.0.1");
    const id = "1.0.1/roll/api/h1/install";
    for (const done of t.stepIds.slice(0, t.stepIds.indexOf(id))) {
      await t.store.updateStep(t.runId, done, { state: "done", startedAt: 1, endedAt: 2, attempts: 1 });
    }
    // The dead run's first attempt at the install, still running on h1 with its marker.
    await t.store.updateStep(t.runId, id, { state: "running", startedAt: 3, attempts: 1 });
    const order: string[] = [];
    const marker = processMarker(t.runId, id, 1);
    const left = t.sim
      .driverFor("h1")
      .exec("sleep 30", { env: { FERRY_PROCESS: marker } })
      .then((r) => order.push(`left one ended by ${r.signal}`));
    // Another step's command on the same host carries another marker, and goes on.
    const other = t.sim
      .driverFor("h1")
      .exec("sleep 0.5", { env: { FERRY_PROCESS: processMarker(t.runId, id, 2) } });
    const e = t.executor();
    const notes: string[] = [];
    e.events.on((ev) => {
      if (ev.type === "step" && ev.id === id && ev.state === "running") order.push("run again");
      if (ev.type === "note") notes.push(ev.message);
    });
    const outcome = await e.forward();
    await left;
    assert.equal(outcome.status, "done", outcome.message);
    assert.deepEqual(order, ["left one ended by SIGTERM", "run again"]);
    assert.equal(notes.length, 1);
    assert.match(
      notes[0] as string,
      /^1\.0\.1\/roll\/api\/h1\/install: what its command left running on h1 \(process group \d+\) ended on SIGTERM, before the step goes on$/,
    );
    assert.equal((await other).exitCode, 0, "the other marker's command was left alone");
  });

  it("on resume, a step whose leftover cannot be ended is not run beside it: it fails, and so does its undo", async () => {
    const t = await setUp("1.0.1");
    const id = "1.0.1/roll/api/h1/install";
    for (const done of t.stepIds.slice(0, t.stepIds.indexOf(id))) {
      await t.store.updateStep(t.runId, done, { state: "done", startedAt: 1, endedAt: 2, attempts: 1 });
    }
    await t.store.updateStep(t.runId, id, { state: "running", startedAt: 3, attempts: 1 });
    const h1 = t.sim.driverFor("h1");
    h1.endMarked = async () => {
      throw new Error("connection refused");
    };
    const outcome = await t.executor().forward();
    assert.equal(outcome.status, "failed", outcome.message);
    assert.match(
      outcome.failed?.error ?? "",
      /install: what its command may have left running on h1 could not be ended, so it is not run again beside it: connection refused/,
    );
    assert.match(outcome.message, /undoing 1\.0\.1\/roll\/api\/h1\/install failed/);
    assert.equal(
      t.sim.events.filter((ev) => ev.host === "h1" && ev.command.startsWith("install")).length,
      0,
      "never run again",
    );
  });

  it("gives each attempt of a step, and its undo, a marker of its own", () => {
    const markers = [
      processMarker("r1", "1.0.1/roll/api/h1/install", 1),
      processMarker("r1", "1.0.1/roll/api/h1/install", 2),
      processMarker("r1", "1.0.1/roll/api/h1/install"),
      processMarker("r1", "1.0.1/roll/api/h2/install", 1),
      processMarker("r2", "1.0.1/roll/api/h1/install", 1),
    ];
    assert.equal(new Set(markers).size, markers.length);
    for (const m of markers) assert.match(m, /^[0-9a-f]{16}$/);
    assert.equal(
      processMarker("r1", "1.0.1/roll/api/h1/install", 1),
      markers[0],
      "the same for the same attempt",
    );
  });

  it("rolls an active-passive component in the order its roles give when each hop runs; a resume keeps that order", async () => {
    const commands = JSON.stringify(SIM_COMMANDS);
    const t = await setUp("1.0.2", {
      components: `
  - { name: ctl, hosts: [h1, h2, h3], mode: active-passive, role: "role ctl", switchover: "switchover {{host}}", commands: ${commands} }`,
    });
    t.sim.activePassive.push("ctl");
    t.sim.active.set("ctl", "h1");
    const stoppedWhileActive: string[] = [];
    t.sim.fail = (host, cmd) => {
      if (cmd === "stop ctl" && t.sim.active.get("ctl") === host) stoppedWhileActive.push(host);
      return undefined;
    };
    const first = t.executor();
    first.events.on((ev) => {
      if (ev.type !== "step" || ev.state !== "done") return;
      // Between the hops an operator fails over to h3, where ferry predicted h2.
      if (ev.id === "1.0.1/verify/cluster") t.sim.active.set("ctl", "h3");
      // Ferry dies (as far as the journal knows) right after the second hop's switchover.
      if (ev.id === "1.0.2/roll/ctl/switchover") first.lockLost();
    });
    assert.equal((await first.forward()).reason, "lock-lost");
    const outcome = await t.executor().forward();
    assert.equal(outcome.status, "done", outcome.message);

    const seq = t.sim.events
      .filter((e) => e.command === "stop ctl" || e.command.startsWith("switchover"))
      .map((e) => `${e.host} ${e.command}`);
    assert.deepEqual(seq, [
      "h2 stop ctl",
      "h3 stop ctl",
      "h2 switchover h2",
      "h1 stop ctl",
      // The second hop as h3's being active asks, not as predicted (h1, h3, switchover to h1, h2):
      "h1 stop ctl",
      "h2 stop ctl",
      "h1 switchover h1",
      "h3 stop ctl",
    ]);
    assert.deepEqual(stoppedWhileActive, []);
    assert.equal(
      (await t.store.steps(t.runId)).find((r) => r.id === "1.0.2/roll/ctl/roles")?.observed?.active,
      "h3",
    );
    assert.ok(allAt(t.sim, "1.0.2"));
  });

  it("undoes an active-passive roll in the order it ran: the switchover back before the standbys it left", async () => {
    const commands = JSON.stringify(SIM_COMMANDS);
    const t = await setUp("1.0.1", {
      components: `
  - { name: ctl, hosts: [h1, h2, h3], mode: active-passive, role: "role ctl", switchover: "switchover {{host}}", commands: ${commands} }`,
    });
    t.sim.activePassive.push("ctl");
    // Planned as if h1 were active; h3 is.
    t.sim.active.set("ctl", "h3");
    const stoppedWhileActive: string[] = [];
    t.sim.fail = (host, cmd) => {
      if (cmd === "stop ctl" && t.sim.active.get("ctl") === host) stoppedWhileActive.push(host);
      // The former active one's new release does not start.
      if (host === "h3" && cmd === "start ctl" && t.sim.member("h3", "ctl").active === "1.0.1")
        return { exitCode: 1 };
      return undefined;
    };
    const outcome = await t.executor().forward();
    assert.equal(outcome.status, "rolled-back", outcome.message);
    const seq = t.sim.events
      .filter((e) => /^(stop|start) ctl$|^switchover/.test(e.command))
      .map((e) => `${e.host} ${e.command}`);
    assert.deepEqual(seq, [
      "h1 stop ctl",
      "h1 start ctl",
      "h2 stop ctl",
      "h2 start ctl",
      "h1 switchover h1",
      "h3 stop ctl",
      "h3 start ctl",
      // Undone in reverse: h3 back on its release, then active again (from h1), then the standbys.
      "h3 stop ctl",
      "h3 start ctl",
      "h1 switchover h3",
      "h2 stop ctl",
      "h2 start ctl",
      "h1 stop ctl",
      "h1 start ctl",
    ]);
    assert.deepEqual(stoppedWhileActive, []);
    assert.equal(t.sim.active.get("ctl"), "h3");
    assert.ok(allAt(t.sim, "1.0.0"), JSON.stringify(t.sim.snapshot()));
  });

  it("reports a failed undo, and a later rollback finishes the job", async () => {
    const t = await setUp("1.0.1");
    let undoBroken = true;
    t.sim.fail = (host, cmd) =>
      host === "h2" && cmd === "start api" && t.sim.member("h2", "api").active === "1.0.1"
        ? { exitCode: 1 }
        : undoBroken && cmd === "activate api 1.0.0" && host === "h1"
          ? { exitCode: 9, output: "busy\n" }
          : undefined;
    const first = await t.executor().forward();
    assert.equal(first.status, "failed");
    assert.match(first.message, /undoing 1\.0\.1\/roll\/api\/h1\/activate failed.*ferry rollback/);
    undoBroken = false;
    t.sim.fail = undefined;
    const second = await t.executor().rollback();
    assert.equal(second.status, "rolled-back", second.message);
    assert.ok(allAt(t.sim, "1.0.0"), JSON.stringify(t.sim.snapshot()));
  });

  it("an interrupt during the last step lets it finish, and the run is done", async () => {
    const t = await setUp("1.0.1");
    const e = t.executor();
    e.events.on((ev) => {
      if (ev.type === "step" && ev.id === "1.0.1/verify/cluster" && ev.state === "running") e.interrupt();
    });
    const outcome = await e.forward();
    assert.equal(outcome.status, "done", outcome.message);
    assert.equal((await t.store.getRun(t.runId))?.status, "done");
  });

  it("when the journal cannot be written, starts no new step and says what state it left", async () => {
    let writes = 0;
    const t = await setUp("1.0.1", {
      wrap: (store) => {
        const broken: StateStore = Object.create(store);
        broken.updateStep = (runId, stepId, patch) =>
          ++writes > 12 ? Promise.reject(new Error("disk full")) : store.updateStep(runId, stepId, patch);
        return broken;
      },
    });
    await assert.rejects(t.executor().forward(), (err: unknown) => {
      assert.ok(err instanceof OperationError, String(err));
      assert.match(err.message, /journal could not be written \(disk full\).*ferry resume/);
      return true;
    });
    const before = t.sim.events.length;
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(t.sim.events.length, before, "nothing runs on after the executor gave up");
  });

  it("takes each host out of traffic before it stops, and back in once it is healthy", async () => {
    const t = await setUp("1.0.1", { drain: true });
    const outcome = await t.executor().forward();
    assert.equal(outcome.status, "done", outcome.message);
    for (const host of HOSTS) {
      const order = t.sim.events
        .filter((e) => e.host === host && /^(drain|stop|start|health|ready) api/.test(e.command))
        .map((e) => e.command.split(" ")[0]);
      // Preflight probes every member's health first, and verify after: the roll is from drain to ready.
      const roll = order.slice(order.indexOf("drain"), order.indexOf("ready") + 1);
      assert.deepEqual(roll.slice(0, 2), ["drain", "stop"], host);
      assert.equal(roll.at(-1), "ready", host);
      assert.ok(roll.includes("health"), `${host}: healthy before back in traffic`);
    }
  });

  it("an offline hop waits for the job queue to empty before anything stops, within its deadline", async () => {
    const queue = "queue: { drain: 'true', undrain: 'true', empty: queue-empty, deadline: 5s }";
    const t = await setUp("1.1.0", { extra: queue, from: "1.0.2" });
    t.sim.queueJobs = 3;
    const outcome = await t.executor().forward();
    assert.equal(outcome.status, "done", outcome.message);
    const polls = t.sim.events.filter((e) => e.command === "queue-empty").length;
    const firstStop = t.sim.events.findIndex((e) => e.command.startsWith("stop "));
    const lastPoll = t.sim.events.findLastIndex((e) => e.command === "queue-empty");
    assert.equal(polls, 4);
    assert.ok(lastPoll < firstStop, "nothing stopped while jobs ran");

    const stuck = await setUp("1.1.0", { extra: queue.replace("5s", "1200ms"), from: "1.0.2" });
    stuck.sim.queueJobs = 1000;
    const failed = await stuck.executor().forward();
    assert.equal(failed.status, "rolled-back");
    assert.match(failed.failed?.error ?? "", /`queue-empty` did not pass within 1200 ms/);
  });
});
