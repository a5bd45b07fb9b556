import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { defineCatalog, planPath } from "../catalog/index.js";
import { parseCluster } from "../cluster/cluster.js";
import { RefusedError } from "../errors.js";
import { orderActivePassive } from "./active-passive.js";
import { buildPlan } from "./build-plan.js";
import { type Plan, type Pool, planSteps } from "./plan.js";

const catalog = defineCatalog({
  product: "notes",
  scheme: "semver",
  releases: ["1.0.0", "1.0.1", "1.1.0"],
});

function cluster(extra = "", components?: string) {
  return parseCluster(
    "/c/cluster.yaml",
    `name: demo
catalog: releases.yaml
vars: { root: /srv }
hosts: [{ name: h1, address: a1 }, { name: h2, address: a2 }, { name: h3, address: a3 }]
components:
${
  components ??
  `  - { name: db, hosts: [h1], order: 1, commands: &c { version: v, install: "i {{version}}", stop: s, activate: "a {{version}} {{from}}", start: st } }
  - { name: api, hosts: [h1, h2, h3], order: 2, maxUnavailable: 2, commands: *c, health: { exec: "up {{host}}" } }
  - { name: worker, hosts: [h2, h3], order: 2, commands: *c }`
}
${extra}`,
  );
}

const ids = (plan: Plan) => [...planSteps(plan)].map(({ step }) => step.id);

describe("buildPlan", () => {
  it("renders each host's own values into its commands and probes; what is the same on every host is made once", () => {
    const plan = buildPlan(
      parseCluster(
        "/c/cluster.yaml",
        `name: demo
catalog: releases.yaml
vars: { root: /srv }
hosts: [{ name: h1, address: a1 }, { name: h2, address: a2, vars: { root: /opt } }, { name: h3, address: a3 }]
components:
  - { name: api, hosts: [h1, h2, h3], commands: { version: "v {{component}}", install: "i {{vars.root}}", stop: "s {{address}}", activate: "a {{version}}", start: "st {{host}}" }, health: { exec: "up {{host}}" } }`,
      ),
      planPath(catalog, "1.0.0", "1.0.1"),
    );
    const step = (host: string, name: string) =>
      [...planSteps(plan)].find(({ step }) => step.id === `1.0.1/roll/api/${host}/${name}`)?.step;
    const command = (host: string, name: string) => {
      const a = step(host, name)?.run[0];
      return a?.type === "exec" ? a.command : undefined;
    };
    assert.deepEqual(
      ["h1", "h2", "h3"].map((h) => [command(h, "install"), command(h, "stop"), command(h, "start")]),
      [
        ["i /srv", "s a1", "st h1"],
        ["i /opt", "s a2", "st h2"],
        ["i /srv", "s a3", "st h3"],
      ],
    );
    assert.deepEqual(
      plan.members.map((m) => [m.host, m.versionCommand, m.health?.check, m.vars]),
      [
        ["h1", "v api", { exec: "up h1" }, { root: "/srv" }],
        ["h2", "v api", { exec: "up h2" }, { root: "/opt" }],
        ["h3", "v api", { exec: "up h3" }, { root: "/srv" }],
      ],
    );
    // A 10,000-host plan holds one `a 1.0.1`, not 10,000: the same action, and the same list of it.
    assert.equal(step("h1", "activate")?.run, step("h3", "activate")?.run);
    assert.equal(step("h1", "activate")?.undo?.[0], step("h2", "activate")?.undo?.[0]);
    assert.deepEqual(step("h2", "activate")?.undo, [{ type: "exec", command: "a 1.0.0", back: true }]);
  });

  it("places the gates: alarms first in preflight and before each order's roll, approvals around it", () => {
    const c = `  - { name: db, hosts: [h1], order: 1, approve: before, commands: &c { version: v, install: i, stop: s, activate: a, start: st } }
  - { name: api, hosts: [h1, h2], order: 2, approve: after-first-batch, commands: *c }`;
    const plan = buildPlan(
      cluster(
        'alarms: { alertmanager: "http://am:9093", ignore: [Watchdog] }\nwindow: { start: "01:00", end: "05:00" }',
        c,
      ),
      planPath(catalog, "1.0.0", "1.0.1"),
    );
    const all = ids(plan);
    const gates = all.filter((id) => /alarms|approve/.test(id));
    assert.deepEqual(gates, [
      "1.0.1/preflight/alarms",
      "1.0.1/roll/db/approve/before",
      "1.0.1/roll/db/alarms",
      "1.0.1/roll/api/alarms",
      "1.0.1/roll/api/approve/after-first-batch",
    ]);
    assert.equal(all[0], "1.0.1/preflight/alarms");
    const at = (id: string) => all.indexOf(id);
    assert.ok(at("1.0.1/roll/db/alarms") < at("1.0.1/roll/db/h1/stop"));
    assert.ok(at("1.0.1/roll/db/h1/start") < at("1.0.1/roll/api/alarms"));
    assert.ok(at("1.0.1/roll/api/h2/start") < at("1.0.1/roll/api/approve/after-first-batch"));
    assert.ok(at("1.0.1/roll/api/approve/after-first-batch") < at("1.0.1/point-of-no-return"));
    const step = [...planSteps(plan)].find(({ step }) => step.id === "1.0.1/roll/db/alarms")?.step;
    assert.deepEqual(step?.run, [
      {
        type: "alarms",
        alertmanager: "http://am:9093",
        ignore: ["Watchdog"],
        deadlineMs: 1_800_000,
        intervalMs: 10_000,
      },
    ]);
    assert.equal(step?.undo, undefined, "a gate has nothing to undo");
    assert.deepEqual(plan.window, {
      days: ["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
      start: "01:00",
      end: "05:00",
      timezone: "UTC",
    });
  });

  it("an offline hop waits for a component's approval before anything stops", () => {
    const c = `  - { name: api, hosts: [h1, h2], approve: between-batches, commands: { version: v, install: i, stop: s, activate: a, start: st } }`;
    const all = ids(buildPlan(cluster("", c), planPath(catalog, "1.0.1", "1.1.0")));
    assert.ok(all.indexOf("1.1.0/stop/api/approve") < all.indexOf("1.1.0/stop/api/h1/stop"));
  });

  it("runs a rolling hop's phases in DESIGN.md's order", () => {
    const plan = buildPlan(
      cluster("pin: pin-on {{from}}\nunpin: pin-off\nbackup: dump"),
      planPath(catalog, "1.0.0", "1.0.1"),
    );
    assert.deepEqual(
      plan.hops[0]?.phases.map((p) => p.name),
      ["preflight", "backup", "pin", "roll", "point-of-no-return", "activate", "verify"],
    );
    assert.equal(plan.hops[0]?.mode, "rolling");
  });

  it("runs an offline hop stop-everything-first", () => {
    const plan = buildPlan(cluster("queue: { drain: qd, undrain: qu }"), planPath(catalog, "1.0.1", "1.1.0"));
    assert.deepEqual(
      plan.hops[0]?.phases.map((p) => p.name),
      ["preflight", "drain", "stop", "install", "point-of-no-return", "start", "verify", "undrain"],
    );
    const stop = plan.hops[0]?.phases.find((p) => p.name === "stop");
    assert.deepEqual(
      stop?.stages.map((s) => s.pools.map((p) => `${p.component}×${p.limit}`)),
      [["api×3", "worker×2"], ["db×1"]],
      "the highest order stops first, every host of a component at once",
    );
  });

  it("gives every step a stable path id", () => {
    const all = ids(buildPlan(cluster(), planPath(catalog, "1.0.0", "1.0.1")));
    assert.ok(all.includes("1.0.1/roll/api/h2/activate"));
    assert.ok(all.includes("1.0.1/preflight/cluster"));
    assert.ok(all.includes("1.0.1/point-of-no-return"));
    assert.equal(new Set(all).size, all.length, "ids are unique");
  });

  it("rolls components by order, equal orders side by side, hosts in windows of maxUnavailable", () => {
    const roll = buildPlan(cluster(), planPath(catalog, "1.0.0", "1.0.1")).hops[0]?.phases.find(
      (p) => p.name === "roll",
    );
    assert.deepEqual(
      roll?.stages.map((s) =>
        s.pools.map((p) => ({ c: p.component, limit: p.limit, hosts: p.lanes.map((l) => l.host) })),
      ),
      [
        [{ c: "db", limit: 1, hosts: ["h1"] }],
        [
          { c: "api", limit: 2, hosts: ["h1", "h2", "h3"] },
          { c: "worker", limit: 1, hosts: ["h2", "h3"] },
        ],
      ],
    );
    const api = roll?.stages[1]?.pools[0]?.lanes[1];
    assert.deepEqual(
      api?.steps.map((s) => s.name),
      ["stop", "install", "activate", "start", "health"],
    );
  });

  it("renders commands with the hop's values, and undoes with the way back", () => {
    const plan = buildPlan(cluster(), planPath(catalog, "1.0.0", "1.0.1"));
    const activate = [...planSteps(plan)].find(({ step }) => step.id === "1.0.1/roll/db/h1/activate")?.step;
    assert.deepEqual(activate?.run, [{ type: "exec", command: "a 1.0.1 1.0.0" }]);
    assert.deepEqual(activate?.check, { type: "version-is", version: "1.0.1" });
    assert.deepEqual(activate?.undo, [{ type: "exec", command: "a 1.0.0 1.0.1", back: true }]);
  });

  it("wraps phases in the operator's hooks, with {{from}} and {{version}}", () => {
    const plan = buildPlan(
      cluster("hooks: { before: { roll: 'pre {{version}}' }, after: { verify: 'post-upgrade {{from}}' } }"),
      planPath(catalog, "1.0.0", "1.0.1"),
    );
    const all = [...planSteps(plan)].map(({ step }) => step);
    const before = all.findIndex((s) => s.id === "1.0.1/roll/before-hook");
    const after = all.find((s) => s.id === "1.0.1/verify/after-hook");
    assert.ok(
      before >= 0 && all[before + 1]?.id.startsWith("1.0.1/roll/db/"),
      "the before hook opens its phase",
    );
    assert.deepEqual(after?.run, [{ type: "exec", command: "post-upgrade 1.0.0" }]);
    assert.equal(all.at(-1)?.id, "1.0.1/verify/after-hook");
  });

  it("keeps a phase that has nothing but the operator's hook", () => {
    const plan = buildPlan(
      cluster("hooks: { before: { expand: 'check-schema {{version}}' } }"),
      planPath(catalog, "1.0.0", "1.0.1"),
    );
    const expand = plan.hops[0]?.phases.find((p) => p.name === "expand");
    assert.deepEqual(
      expand?.stages.flatMap((s) =>
        s.pools.flatMap((p) => p.lanes.flatMap((l) => l.steps.map((st) => st.id))),
      ),
      ["1.0.1/expand/before-hook"],
    );
  });

  it("is a pure function: the same input gives the same, serialisable plan", () => {
    const a = buildPlan(cluster(), planPath(catalog, "1.0.0", "1.1.0"));
    const b = buildPlan(cluster(), planPath(catalog, "1.0.0", "1.1.0"));
    assert.deepEqual(JSON.parse(JSON.stringify(a)), b);
  });

  it("refuses a hop that passes a release with data migrations before a later release's migrations", () => {
    const file = (release: string, phase: "expand" | "data" | "contract", name: string) => ({
      release,
      phase,
      name,
      sql: "x",
      checksum: "c",
    });
    const migrations = {
      releases: ["1.0.0", "1.0.1", "1.1.0"],
      files: [file("1.0.1", "data", "0001-fill.sql"), file("1.1.0", "expand", "0001-add.sql")],
    };
    const withDb = cluster("database: sqlite:x.db");
    const skipping = defineCatalog({
      product: "n",
      scheme: "semver",
      policy: { stepwise: false, leaveSeriesFrom: "any" },
      releases: ["1.0.0", "1.0.1", "1.1.0"],
    });
    assert.throws(
      () => buildPlan(withDb, planPath(skipping, "1.0.0", "1.1.0", { direct: true }), migrations),
      (err: unknown) =>
        err instanceof RefusedError &&
        /passes 1\.0\.1, whose data migration 1\.0\.1\/data\/0001-fill\.sql must finish/.test(err.message) &&
        /upgrade to 1\.0\.1 first/.test(err.wayOut ?? ""),
    );
    assert.doesNotThrow(() => buildPlan(withDb, planPath(skipping, "1.0.0", "1.0.1"), migrations));
  });

  it("leaves offline hosts out of every phase and reports them", () => {
    const text = (extra: string) =>
      parseCluster(
        "/c/cluster.yaml",
        `name: demo
catalog: releases.yaml
hosts: [{ name: h1, address: a1 }, { name: h2, address: a2, offline: true }, { name: h3, address: a3 }]
components:
  - { name: api, hosts: [h1, h2, h3], commands: { version: v, install: i, stop: s, activate: a, start: st, check: "has {{version}}" } }
${extra}`,
      );
    const plan = buildPlan(text(""), planPath(catalog, "1.0.0", "1.0.1"));
    assert.deepEqual(plan.offline, ["h2"]);
    assert.deepEqual(
      plan.members.map((m) => m.host),
      ["h1", "h3"],
    );
    assert.ok(
      ids(plan).every((id) => !id.includes("/h2/")),
      ids(plan).join("\n"),
    );
    assert.ok(ids(plan).includes("1.0.1/roll/api/h3/start"));
  });

  it("checks the target is installable on every online host at once, and again once an offline hop's queue is drained", () => {
    const c = cluster(
      "queue: { drain: qd, undrain: qu }",
      `  - { name: api, hosts: [h1, h2, h3], commands: { version: v, install: i, stop: s, activate: a, start: st, check: "has {{version}} {{host}}" } }
  - { name: db, hosts: [h1], order: 2, commands: { version: v, install: i, stop: s, activate: a, start: st, check: "db-has {{version}}" } }
  - { name: web, hosts: [h2], order: 3, commands: { version: v, install: i, stop: s, activate: a, start: st } }`,
    );
    const rolling = buildPlan(c, planPath(catalog, "1.0.0", "1.0.1"));
    const preflight = rolling.hops[0]?.phases.find((p) => p.name === "preflight");
    const stage = preflight?.stages.find((s) => s.pools.some((p) => p.component === "api"));
    assert.deepEqual(
      stage?.pools.map((p) => `${p.component}×${p.limit}`),
      ["api×3", "db×1"],
      "one stage, every host of every component with a check at once",
    );
    assert.deepEqual(
      stage?.pools.flatMap((p) =>
        p.lanes.flatMap((l) => l.steps.map((s) => `${s.id} ${JSON.stringify(s.run)}`)),
      ),
      [
        `1.0.1/preflight/api/h1/installable [{"type":"exec","command":"has 1.0.1 h1"}]`,
        `1.0.1/preflight/api/h2/installable [{"type":"exec","command":"has 1.0.1 h2"}]`,
        `1.0.1/preflight/api/h3/installable [{"type":"exec","command":"has 1.0.1 h3"}]`,
        `1.0.1/preflight/db/h1/installable [{"type":"exec","command":"db-has 1.0.1"}]`,
      ],
    );
    const offline = buildPlan(c, planPath(catalog, "1.0.1", "1.1.0"));
    const drained = ids(offline).filter((id) => id.startsWith("1.1.0/drain/"));
    assert.deepEqual(drained, [
      "1.1.0/drain/queue",
      "1.1.0/drain/api/h1/installable",
      "1.1.0/drain/api/h2/installable",
      "1.1.0/drain/api/h3/installable",
      "1.1.0/drain/db/h1/installable",
    ]);
  });

  it("marks the roll's lanes with their hosts' redundancy groups, and no other phase's", () => {
    const plan = buildPlan(
      cluster(
        "",
        `  - { name: osd, hosts: [h1, h2, h3], maxUnavailable: 3, groups: { r1: [h1, h2], r2: [h2, h3] }, commands: { version: v, install: i, stop: s, activate: a, start: st } }`,
      ),
      planPath(catalog, "1.0.1", "1.1.0"),
    );
    const lanes = (name: string) =>
      plan.hops[0]?.phases
        .filter((p) => p.name === name)
        .flatMap((p) => p.stages.flatMap((s) => s.pools.flatMap((pool) => pool.lanes)));
    assert.deepEqual(
      lanes("stop")?.map((l) => l.groups),
      [undefined, undefined, undefined],
      "an offline hop stops everything anyway",
    );
    const rolling = buildPlan(
      cluster(
        "",
        `  - { name: osd, hosts: [h1, h2, h3], maxUnavailable: 3, groups: { r1: [h1, h2], r2: [h2, h3] }, commands: { version: v, install: i, stop: s, activate: a, start: st } }`,
      ),
      planPath(catalog, "1.0.0", "1.0.1"),
    );
    const roll = rolling.hops[0]?.phases.find((p) => p.name === "roll");
    assert.deepEqual(
      roll?.stages[0]?.pools[0]?.lanes.map((l) => [l.host, l.groups]),
      [
        ["h1", ["r1"]],
        ["h2", ["r1", "r2"]],
        ["h3", ["r2"]],
      ],
    );
  });

  it("upgrades an active-passive component's standby first, switches over, then the former active one", () => {
    const ap = cluster(
      "",
      `  - { name: ctl, hosts: [h1, h2], mode: active-passive, role: "role ctl", switchover: "switchover {{host}}", maxUnavailable: 2, commands: { version: v, install: i, stop: s, activate: a, start: st } }`,
    );
    const patches = defineCatalog({ product: "n", scheme: "semver", releases: ["1.0.0", "1.0.1", "1.0.2"] });
    const plan = buildPlan(ap, planPath(patches, "1.0.0", "1.0.2"), undefined, new Map([["ctl", "h1"]]));
    const lanes = (hop: number) =>
      plan.hops[hop]?.phases
        .find((p) => p.name === "roll")
        ?.stages.flatMap((s) =>
          s.pools.flatMap((p) =>
            p.lanes.map((l) => `${l.host ?? "here"}:${l.steps.map((st) => st.name).at(-1)}`),
          ),
        );
    assert.deepEqual(
      lanes(0),
      ["here:roles", "h2:start", "h2:switchover", "h1:start"],
      "the roles asked, standby h2, switch over to it, then h1",
    );
    assert.deepEqual(
      lanes(1),
      ["here:roles", "h1:start", "h1:switchover", "h2:start"],
      "the next hop is predicted to start from h2 active",
    );
    const steps = [...planSteps(plan)].map(({ step }) => step);
    const switchover = steps.find((step) => step.id === "1.0.1/roll/ctl/switchover");
    assert.equal(switchover?.host, "h2");
    assert.deepEqual(switchover?.run, [{ type: "exec", command: "switchover h2" }]);
    assert.deepEqual(
      switchover?.undo,
      [{ type: "exec", command: "switchover h1" }],
      "undone by switching back",
    );
    const roles = steps.find((step) => step.id === "1.0.1/roll/ctl/roles");
    assert.deepEqual(roles?.run, [{ type: "roles", component: "ctl" }]);
    const roll = plan.hops[0]?.phases.find((p) => p.name === "roll");
    assert.equal(roll?.stages[1]?.pools[0]?.limit, 1);
    assert.deepEqual(roll?.stages[1]?.pools[0]?.activePassive, {
      roles: "1.0.1/roll/ctl/roles",
      switchover: "1.0.1/roll/ctl/switchover",
      hosts: [
        { host: "h1", switchover: { type: "exec", command: "switchover h1" } },
        { host: "h2", switchover: { type: "exec", command: "switchover h2" } },
      ],
    });
    // Whichever host is predicted active, the steps are the same: only their order differs.
    const other = buildPlan(ap, planPath(patches, "1.0.0", "1.0.2"), undefined, new Map([["ctl", "h2"]]));
    assert.deepEqual(
      [...planSteps(other)].map(({ step }) => step.id).sort(),
      steps.map((step) => step.id).sort(),
    );
  });
});

describe("orderActivePassive", () => {
  const three = cluster(
    "",
    `  - { name: ctl, hosts: [h1, h2, h3], mode: active-passive, role: "role ctl", switchover: "switchover {{host}}", commands: { version: v, install: i, stop: s, activate: a, start: st } }`,
  );
  const patch = defineCatalog({ product: "n", scheme: "semver", releases: ["1.0.0", "1.0.1"] });
  const pool = buildPlan(
    three,
    planPath(patch, "1.0.0", "1.0.1"),
    undefined,
    new Map([["ctl", "h1"]]),
  ).hops[0]?.phases.find((p) => p.name === "roll")?.stages[1]?.pools[0] as Pool;
  const order = (p: Pool) => p.lanes.map((l) => `${l.host}:${l.steps.at(-1)?.name}`);

  it("orders the lanes for the host found active: standbys in the file's order, switchover to the first, the active last", () => {
    assert.deepEqual(order(pool), ["h2:start", "h3:start", "h2:switchover", "h1:start"]);
    const h3 = orderActivePassive(pool, "h3");
    assert.deepEqual(order(h3), ["h1:start", "h2:start", "h1:switchover", "h3:start"]);
    const switchover = h3.lanes[2]?.steps[0];
    assert.deepEqual(
      [switchover?.id, switchover?.host, switchover?.run, switchover?.undo],
      [
        "1.0.1/roll/ctl/switchover",
        "h1",
        [{ type: "exec", command: "switchover h1" }],
        [{ type: "exec", command: "switchover h3" }],
      ],
    );
    assert.deepEqual(orderActivePassive(h3, "h1"), pool, "the same pool for the same active host");
  });

  it("leaves a pool as it is for a host that is not one of its own", () => {
    assert.equal(orderActivePassive(pool, "h9"), pool);
  });
});

describe("buildPlan: batches, soak and gates", () => {
  const five = (more: string) =>
    parseCluster(
      "/c/cluster.yaml",
      `name: demo
catalog: releases.yaml
hosts: [{ name: h1, address: a1 }, { name: h2, address: a2 }, { name: h3, address: a3 }, { name: h4, address: a4 }, { name: h5, address: a5 }]
components:
  - name: api
    hosts: [h1, h2, h3, h4, h5]
    commands: { version: v, install: "i {{version}}", stop: s, activate: "a {{version}}", start: st }
${more}`,
    );
  const roll = (plan: Plan) => plan.hops[0]?.phases.find((p) => p.name === "roll");
  const pool = (plan: Plan) => roll(plan)?.stages[0]?.pools[0] as Pool;

  it("splits the hosts as Ansible's serial list, each batch closed by its soak and gates", () => {
    const plan = buildPlan(
      five(`    batches: [1, "50%"]
    soak: 2s
    gates:
      - name: errors
        prometheus: { url: "http://prom:9090", query: "sum(errors{release='{{version}}'})", below: 1 }
        interval: 1s
`),
      planPath(catalog, "1.0.0", "1.0.1"),
    );
    const p = pool(plan);
    // 5 hosts: 1, then 50% rounded up (3), then the rest (1): the last size repeats, capped by what is left.
    assert.deepEqual(
      p.lanes.map((l) => (l.batchEnd ? `end ${l.batch}` : `${l.batch} ${l.host}`)),
      ["1 h1", "end 1", "2 h2", "2 h3", "2 h4", "end 2", "3 h5", "end 3"],
    );
    assert.equal(p.limit, 3);
    const end = p.lanes[1];
    assert.deepEqual(
      end?.steps.map((s) => s.id),
      ["1.0.1/roll/api/batch-1/soak", "1.0.1/roll/api/batch-1/gate/errors"],
    );
    assert.deepEqual(end?.steps[0]?.run, [{ type: "soak", ms: 2000 }]);
    const gate = end?.steps[1]?.run[0];
    assert.equal(gate?.type, "metric-gate");
    // The query is a template of the hop.
    assert.equal(gate?.type === "metric-gate" && gate.gate.prometheus.query, "sum(errors{release='1.0.1'})");
    assert.equal(end?.steps[1]?.name, "gate/errors");
    assert.equal(end?.steps[1]?.host, undefined);
    // The preflight asks every gate's Prometheus first, before any host changes.
    const preflight = plan.hops[0]?.phases.find((x) => x.name === "preflight");
    const asked = preflight?.stages.flatMap((st) => st.pools.flatMap((q) => q.lanes.flatMap((l) => l.steps)));
    const ask = asked?.find((x) => x.id === "1.0.1/preflight/gates");
    assert.deepEqual(ask?.run, [
      { type: "gates-answer", gates: [gate?.type === "metric-gate" && gate.gate] },
    ]);
  });

  it("without batches the component is one batch, in its sliding window, with its gates at the end", () => {
    const plan = buildPlan(
      five(`    maxUnavailable: 2
    gates:
      - { name: up, prometheus: { url: "http://prom:9090", query: "min(up)", above: 0 } }
`),
      planPath(catalog, "1.0.0", "1.0.1"),
    );
    const p = pool(plan);
    assert.equal(p.limit, 2);
    assert.deepEqual(
      p.lanes.map((l) => (l.batchEnd ? "end" : l.host)),
      ["h1", "h2", "h3", "h4", "h5", "end"],
    );
    assert.deepEqual(
      p.lanes.at(-1)?.steps.map((s) => s.id),
      ["1.0.1/roll/api/batch-1/gate/up"],
    );
  });

  it("leaves a component without batches, soak or gates as it was", () => {
    const p = pool(buildPlan(five(""), planPath(catalog, "1.0.0", "1.0.1")));
    assert.ok(p.lanes.every((l) => l.batch === undefined && !l.batchEnd));
  });

  it("keeps an active-passive component's closing lane last, whichever host is active", () => {
    const c = parseCluster(
      "/c/cluster.yaml",
      `name: demo
catalog: releases.yaml
hosts: [{ name: h1, address: a1 }, { name: h2, address: a2 }]
components:
  - name: ctl
    hosts: [h1, h2]
    mode: active-passive
    role: role
    switchover: "take {{host}}"
    soak: 1s
    commands: { version: v, install: i, stop: s, activate: a, start: st }
`,
    );
    // The roles are asked in a stage before the roll's own.
    const p = roll(buildPlan(c, planPath(catalog, "1.0.0", "1.0.1")))?.stages[1]?.pools[0] as Pool;
    assert.ok(p.activePassive);
    assert.equal(p.lanes.at(-1)?.batchEnd, true);
    const reordered = orderActivePassive(p, "h2");
    assert.equal(reordered.lanes.length, p.lanes.length);
    assert.equal(reordered.lanes.at(-1)?.batchEnd, true);
  });
});

describe("buildPlan: approvals and alarms between batches", () => {
  const withBatches = (approve: string, batches = '[1, "50%"]') =>
    parseCluster(
      "/c/cluster.yaml",
      `name: demo
catalog: releases.yaml
hosts: [{ name: h1, address: a1 }, { name: h2, address: a2 }, { name: h3, address: a3 }, { name: h4, address: a4 }]
alarms: { alertmanager: "http://am:9093" }
components:
  - name: api
    hosts: [h1, h2, h3, h4]
    batches: ${batches}
    approve: ${approve}
    commands: { version: v, install: i, stop: s, activate: a, start: st }
`,
    );
  const closing = (plan: Plan) =>
    plan.hops[0]?.phases
      .find((p) => p.name === "roll")
      ?.stages.flatMap((st) => st.pools.flatMap((p) => p.lanes.filter((l) => l.batchEnd)))
      .map((l) => l.steps.map((s) => s.id.replace("1.0.1/roll/api/", "")));
  const all = (plan: Plan) => ids(plan).filter((id) => id.includes("/roll/api/") && !/\/h\d\//.test(id));

  it("after-first-batch waits after the first batch; an alarm check comes before each next batch", () => {
    const plan = buildPlan(withBatches("after-first-batch"), planPath(catalog, "1.0.0", "1.0.1"));
    // 4 hosts: 1, 2, 1.
    assert.deepEqual(closing(plan), [["batch-1/approve", "batch-1/alarms"], ["batch-2/alarms"]]);
    // Not once more after the roll, as a component without batches has it.
    assert.ok(!all(plan).some((id) => id.endsWith("approve/after-first-batch")), all(plan).join(" "));
  });

  it("between-batches waits between every two batches, not after the last", () => {
    const plan = buildPlan(withBatches("between-batches"), planPath(catalog, "1.0.0", "1.0.1"));
    assert.deepEqual(closing(plan), [
      ["batch-1/approve", "batch-1/alarms"],
      ["batch-2/approve", "batch-2/alarms"],
    ]);
  });

  it("between-batches with one batch waits once, when it has rolled", () => {
    const plan = buildPlan(withBatches("between-batches", '["100%"]'), planPath(catalog, "1.0.0", "1.0.1"));
    assert.deepEqual(closing(plan), [["batch-1/approve"]]);
  });
});
