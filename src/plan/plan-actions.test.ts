/**
 * The operator's own steps in the plan: actions at their points and phases with their path ids,
 * on the hosts they name, planned by `when`, rendered with {{kind}} and {{direction}}; and the
 * point of no return where the cluster file puts it (DESIGN.md "Your own steps").
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { defineCatalog, planPath } from "../catalog/index.js";
import { parseCluster } from "../cluster/cluster.js";
import { orderActivePassive } from "./active-passive.js";
import { buildPlan } from "./build-plan.js";
import { type Phase, type Plan, type PlanStep, type Pool, phaseSteps, planSteps } from "./plan.js";

const catalog = defineCatalog({
  product: "notes",
  scheme: "semver",
  policy: { downgrade: "previous-series", rolling: "always" },
  releases: ["1.0.0", "1.0.1", "1.1.0"],
});
const offlineCatalog = defineCatalog({
  product: "notes",
  scheme: "semver",
  releases: ["1.0.0", "1.0.1", "1.1.0"],
});

/** Three hosts; `ctl` active-passive on h1 and h2 (h1 active), `api` on all three, rolling after it. */
function cluster(extra: string, apiExtra = "", ctlExtra = "") {
  return parseCluster(
    "/c/cluster.yaml",
    `name: demo
catalog: releases.yaml
hosts: [{ name: h1, address: a1 }, { name: h2, address: a2 }, { name: h3, address: a3 }]
components:
  - name: ctl
    hosts: [h1, h2]
    mode: active-passive
    role: role
    switchover: "switch {{host}}"
    commands: &c { version: v, install: i, stop: s, activate: "a {{version}}", start: st }
${ctlExtra}
  - name: api
    hosts: [h1, h2, h3]
    order: 2
    maxUnavailable: 2
    commands: *c
    health: { exec: up }
    drain: { exec: out, undrain: in }
${apiExtra}
${extra}`,
  );
}

const plan = (c: ReturnType<typeof cluster>, from = "1.0.0", to = "1.0.1", cat = catalog) =>
  buildPlan(c, planPath(cat, from, to));
const steps = (p: Plan): PlanStep[] => [...planSteps(p)].map(({ step }) => step);
const ids = (p: Plan) => steps(p).map((s) => s.id);
const step = (p: Plan, id: string) => steps(p).find((s) => s.id === id);
const phaseOf = (p: Plan, name: string): Phase | undefined =>
  p.hops[0]?.phases.find((ph) => ph.name === name);
/** A lane's step names, for `host` in `component`'s lanes of `phase`. */
const lane = (p: Plan, phaseName: string, component: string, host: string) =>
  phaseOf(p, phaseName)
    ?.stages.flatMap((st) => st.pools)
    .filter((pool) => pool.component === component)
    .flatMap((pool) => pool.lanes.filter((l) => l.host === host))
    .flatMap((l) => l.steps.map((s) => s.name));

const EVERY_POINT = `    actions:
      - { name: bd, at: before-drain, run: "bd {{host}}" }
      - { name: as, at: after-stop, run: as }
      - { name: ai, at: after-install, run: ai }
      - { name: aa, at: after-activate, run: aa }
      - { name: ast, at: after-start, run: ast }
      - { name: ah, at: after-healthy, run: ah }
      - { name: au, at: after-unpin, run: "au {{host}}" }`;

describe("actions in the plan", () => {
  it("puts a component's actions at their points of each host's roll, with path ids", () => {
    const p = plan(cluster("unpin: off", EVERY_POINT));
    assert.deepEqual(lane(p, "roll", "api", "h2"), [
      "action/bd",
      "drain",
      "stop",
      "action/as",
      "install",
      "action/ai",
      "activate",
      "action/aa",
      "start",
      "action/ast",
      "health",
      "action/ah",
      "undrain",
    ]);
    assert.deepEqual(step(p, "1.0.1/roll/api/h2/action/bd")?.run, [{ type: "exec", command: "bd h2" }]);
    assert.equal(step(p, "1.0.1/roll/api/h2/action/bd")?.host, "h2");
    assert.equal(step(p, "1.0.1/roll/api/h2/action/bd")?.component, "api");
    // after-unpin: once unpinned, on every host of the component, in its window.
    const activate = phaseOf(p, "activate");
    assert.deepEqual(activate && phaseSteps(activate).map((s) => s.id), [
      "1.0.1/activate/unpin",
      "1.0.1/activate/api/h1/action/au",
      "1.0.1/activate/api/h2/action/au",
      "1.0.1/activate/api/h3/action/au",
    ]);
    assert.equal(activate?.stages[1]?.pools[0]?.limit, 2, "the component's maxUnavailable");
  });

  it("maps a host's points onto an offline hop's stop, install and start phases", () => {
    const p = plan(cluster("", EVERY_POINT), "1.0.1", "1.1.0", offlineCatalog);
    assert.equal(p.hops[0]?.mode, "offline");
    assert.deepEqual(lane(p, "stop", "api", "h1"), ["action/bd", "stop", "action/as"]);
    assert.deepEqual(lane(p, "install", "api", "h1"), ["install", "action/ai", "activate", "action/aa"]);
    assert.deepEqual(lane(p, "start", "api", "h1"), [
      "start",
      "action/ast",
      "health",
      "action/ah",
      "action/au",
    ]);
    // after-unpin comes once every member has started: after the whole start phase.
    const start = phaseSteps(phaseOf(p, "start") as Phase).map((s) => s.id);
    assert.ok(start.indexOf("1.1.0/start/api/h1/action/au") > start.indexOf("1.1.0/start/api/h3/action/ah"));
  });

  it("runs a cluster action at the end of its phase, on this machine or on the host it names", () => {
    const p = plan(
      cluster(`hooks: { after: { expand: after-expand } }
actions:
  - { name: schema, at: expand, run: "migrate {{version}}", check: "current", undo: "migrate --to {{version}}" }
  - { name: act, at: expand, on: { component: ctl, host: active }, run: "x {{host}}" }
  - { name: act-late, at: verify, on: { component: ctl, host: active }, run: x }
  - { name: one, at: pin, on: { component: ctl, host: first }, run: x }
  - { name: two, at: pin, on: { component: ctl, host: last }, run: x }
  - { name: named, at: pin, on: { component: api, host: h3 }, run: x }
  - { name: every, at: roll, on: { component: api, host: all }, run: "e {{host}}" }`),
    );
    const expand = phaseSteps(phaseOf(p, "expand") as Phase).map((s) => s.id);
    assert.deepEqual(expand, [
      "1.0.1/expand/action/schema",
      "1.0.1/expand/action/act",
      "1.0.1/expand/after-hook",
    ]);
    const schema = step(p, "1.0.1/expand/action/schema");
    assert.equal(schema?.host, undefined, "on this machine");
    assert.deepEqual(schema?.run, [{ type: "exec", command: "migrate 1.0.1" }]);
    assert.deepEqual(schema?.check, { type: "exec", command: "current" });
    assert.deepEqual(schema?.undo, [{ type: "exec", command: "migrate --to 1.0.0", back: true }]);
    // ctl's standby h2 rolls first and takes over; the former active h1 rolls last.
    assert.equal(step(p, "1.0.1/expand/action/act")?.host, "h1", "active before the roll");
    assert.deepEqual(step(p, "1.0.1/expand/action/act")?.run, [{ type: "exec", command: "x h1" }]);
    assert.equal(step(p, "1.0.1/verify/action/act-late")?.host, "h2", "active after the switchover");
    assert.equal(step(p, "1.0.1/pin/action/one")?.host, "h2", "first in the roll order: the standby");
    assert.equal(step(p, "1.0.1/pin/action/two")?.host, "h1", "last: the former active");
    assert.equal(step(p, "1.0.1/pin/action/named")?.host, "h3");
    const every = phaseOf(p, "roll")?.stages.at(-1)?.pools[0];
    assert.deepEqual(
      every?.lanes.map((l) => l.steps.map((s) => [s.id, s.host, s.name])),
      ["h1", "h2", "h3"].map((h) => [[`1.0.1/roll/action/every/${h}`, h, "action/every"]]),
    );
    assert.equal(every?.limit, 2, "in the component's window");
  });

  it("maps a phase the hop does not have to its counterpart, so no action is silently left out", () => {
    const actions = `actions:
  - { name: at-pin, at: pin, run: x }
  - { name: at-roll, at: roll, run: x }
  - { name: at-stop, at: stop, run: x }
  - { name: at-undrain, at: undrain, run: x }`;
    const rolling = ids(plan(cluster(actions)));
    for (const id of [
      "1.0.1/pin/action/at-pin",
      "1.0.1/roll/action/at-roll",
      "1.0.1/roll/action/at-stop",
      "1.0.1/verify/action/at-undrain",
    ])
      assert.ok(rolling.includes(id), id);
    const offline = ids(plan(cluster(actions), "1.0.1", "1.1.0", offlineCatalog));
    for (const id of [
      "1.1.0/drain/action/at-pin",
      "1.1.0/start/action/at-roll",
      "1.1.0/stop/action/at-stop",
      "1.1.0/undrain/action/at-undrain",
    ])
      assert.ok(offline.includes(id), id);
  });

  it("plans an action by `when`, and renders {{kind}} and {{direction}} (the other way on the way back)", () => {
    const c = cluster(`hooks: { before: { roll: "hook {{kind}} {{direction}}" } }
actions:
  - { name: up, at: expand, run: "up {{kind}} {{direction}}", undo: "back {{direction}} {{version}}" }
  - { name: down, at: expand, run: "cfgupgrade --downgrade", when: downgrade }
  - { name: both, at: expand, run: "both {{direction}}", when: always }`);
    const up = plan(c, "1.0.1", "1.1.0");
    assert.deepEqual(
      ids(up).filter((id) => id.includes("/action/")),
      ["1.1.0/expand/action/up", "1.1.0/expand/action/both"],
    );
    assert.deepEqual(step(up, "1.1.0/expand/action/up")?.run, [
      { type: "exec", command: "up series upgrade" },
    ]);
    assert.deepEqual(step(up, "1.1.0/expand/action/up")?.undo, [
      { type: "exec", command: "back downgrade 1.0.1", back: true },
    ]);
    assert.deepEqual(step(up, "1.1.0/roll/before-hook")?.run, [
      { type: "exec", command: "hook series upgrade" },
    ]);
    const down = plan(c, "1.1.0", "1.0.1");
    assert.equal(down.hops[0]?.kind, "downgrade");
    assert.deepEqual(
      ids(down).filter((id) => id.includes("/action/")),
      ["1.0.1/expand/action/down", "1.0.1/expand/action/both"],
    );
    assert.deepEqual(step(down, "1.0.1/expand/action/both")?.run, [
      { type: "exec", command: "both downgrade" },
    ]);
  });

  it("undoes an action without undo by an irreversible step that knows the action's check", () => {
    const p = plan(
      cluster(`actions:
  - { name: a, at: expand, run: x, check: "done? {{version}}" }
  - { name: b, at: expand, on: { component: api, host: h2 }, run: x }`),
    );
    assert.deepEqual(step(p, "1.0.1/expand/action/a")?.undo, [
      { type: "irreversible", action: "a", check: "done? 1.0.1" },
    ]);
    assert.deepEqual(step(p, "1.0.1/expand/action/b")?.undo, [{ type: "irreversible", action: "b" }]);
  });

  it("gives an action its own timeout, else its component's, else ten minutes here", () => {
    const p = plan(
      cluster(`actions:
  - { name: a, at: expand, run: x, timeout: 90s }
  - { name: b, at: expand, on: { component: api, host: h2 }, run: x }
  - { name: c, at: expand, run: x }`),
    );
    assert.equal(step(p, "1.0.1/expand/action/a")?.timeoutMs, 90_000);
    assert.equal(step(p, "1.0.1/expand/action/b")?.timeoutMs, 300_000);
    assert.equal(step(p, "1.0.1/expand/action/c")?.timeoutMs, 600_000);
  });

  it("leaves out an action on a host marked offline", () => {
    const c = cluster(`actions:
  - { name: named, at: expand, on: { component: api, host: h3 }, run: x }
  - { name: every, at: expand, on: { component: api, host: all }, run: x }`);
    const hosts = c.hosts.map((h) => (h.name === "h3" ? { ...h, offline: true } : h));
    const p = buildPlan({ ...c, hosts }, planPath(catalog, "1.0.0", "1.0.1"));
    const actions = ids(p).filter((id) => id.includes("/action/"));
    assert.deepEqual(actions, ["1.0.1/expand/action/every/h1", "1.0.1/expand/action/every/h2"]);
  });
});

describe("the point of no return where the cluster file puts it", () => {
  const mark = "1.0.1/point-of-no-return";

  it("is a phase after the roll by default", () => {
    const p = plan(cluster(""));
    assert.deepEqual(
      p.hops[0]?.phases.map((ph) => ph.name),
      ["preflight", "roll", "point-of-no-return", "verify"],
    );
  });

  it("sits just before the action it names, and the default phase is gone", () => {
    const p = plan(
      cluster(`pointOfNoReturn: { before: { action: cfgupgrade } }
actions:
  - { name: backup, at: expand, run: b }
  - { name: cfgupgrade, at: expand, run: cfgupgrade, check: "cfgupgrade --check" }`),
    );
    const all = ids(p);
    assert.equal(all.indexOf(mark), all.indexOf("1.0.1/expand/action/cfgupgrade") - 1);
    assert.ok(all.indexOf("1.0.1/expand/action/backup") < all.indexOf(mark));
    assert.equal(all.filter((id) => id === mark).length, 1);
    assert.ok(!p.hops[0]?.phases.some((ph) => ph.name === "point-of-no-return"));
  });

  it("sits before the stage of an action on every host", () => {
    const p = plan(
      cluster(`pointOfNoReturn: { before: { action: dirs } }
actions: [{ name: dirs, at: verify, on: { component: api, host: all }, run: d }]`),
    );
    const verify = phaseOf(p, "verify");
    assert.deepEqual(
      verify?.stages.map((st) =>
        st.pools.flatMap((pool) => pool.lanes.flatMap((l) => l.steps.map((s) => s.id))),
      ),
      [
        ["1.0.1/verify/cluster"],
        [mark],
        ["1.0.1/verify/action/dirs/h1", "1.0.1/verify/action/dirs/h2", "1.0.1/verify/action/dirs/h3"],
      ],
    );
  });

  it("keeps its default place in a hop that does not plan the named action", () => {
    const c = cluster(`pointOfNoReturn: { before: { action: cfgupgrade } }
actions:
  - { name: cfgupgrade, at: expand, run: cfgupgrade }
  - { name: cfgdowngrade, at: expand, run: "cfgupgrade --downgrade", when: downgrade }`);
    const down = plan(c, "1.1.0", "1.0.1");
    assert.ok(down.hops[0]?.phases.some((ph) => ph.name === "point-of-no-return"));
    assert.deepEqual(
      down.hops[0]?.phases.map((ph) => ph.name),
      ["preflight", "expand", "roll", "point-of-no-return", "verify"],
    );
  });

  it("with a list of actions, sits before the first of them the hop plans (Ganeti: cfgupgrade up, cfgupgrade --downgrade down)", () => {
    const c = cluster(`pointOfNoReturn: { before: { action: [cfgupgrade, cfgdowngrade] } }
actions:
  - { name: cfgdowngrade, at: pin, run: "cfgupgrade --downgrade", undo: cfgupgrade, when: downgrade }
  - { name: cfgupgrade, at: roll, run: cfgupgrade }`);
    const up = ids(plan(c));
    assert.equal(up.indexOf(mark), up.indexOf("1.0.1/roll/action/cfgupgrade") - 1);
    const down = plan(c, "1.1.0", "1.0.1");
    const back = ids(down);
    assert.equal(back.indexOf(mark), back.indexOf("1.0.1/pin/action/cfgdowngrade") - 1);
    assert.equal(back.filter((id) => id === mark).length, 1);
    assert.ok(!down.hops[0]?.phases.some((ph) => ph.name === "point-of-no-return"));

    // Both planned: the first in the hop's order, whatever the list's.
    const both = ids(
      plan(
        cluster(`pointOfNoReturn: { before: { action: [late, early] } }
actions:
  - { name: late, at: verify, run: l }
  - { name: early, at: expand, run: e }`),
      ),
    );
    assert.equal(both.indexOf(mark), both.indexOf("1.0.1/expand/action/early") - 1);
  });

  it("puts it in an active-passive component's roll before the host rolled last: the standby and the switchover before it, the former active after", () => {
    const p = plan(
      cluster(
        "pointOfNoReturn: { before: { component: ctl, host: last } }",
        "",
        "  - { name: side, hosts: [h3], commands: *c }",
      ),
    );
    const roll = phaseOf(p, "roll");
    assert.deepEqual(
      roll?.stages.map((st) =>
        st.pools.map(
          (pool) => `${pool.component ?? "-"}:${pool.lanes.map((l) => l.host ?? "here").join(",")}`,
        ),
      ),
      // First ctl's roles are asked, on this machine; side, which would roll beside ctl, rolls
      // before it, so that it is done before the mark, a lane of ctl's pool.
      [["-:here"], ["side:h3"], ["ctl:h2,h2,here,h1"], ["api:h1,h2,h3"]],
    );
    assert.equal(roll?.stages[2]?.pools[0]?.lanes[2]?.steps[0]?.id, mark);
    assert.ok(!p.hops[0]?.phases.some((ph) => ph.name === "point-of-no-return"));
    assert.equal(roll?.stages[2]?.pools[0]?.limit, 1);
  });

  it("places it again when the roles make another host active than predicted: before whichever rolls last, or the named one", () => {
    const hosts = (pool: Pool | undefined) => pool?.lanes.map((l) => l.host ?? "mark").join(",");
    const ctlPool = (p: Plan) =>
      phaseOf(p, "roll")
        ?.stages.flatMap((st) => st.pools)
        .find((pool) => pool.component === "ctl") as Pool;
    const last = ctlPool(plan(cluster("pointOfNoReturn: { before: { component: ctl, host: last } }")));
    assert.equal(hosts(last), "h2,h2,mark,h1", "predicted: h1 active");
    // The roles say h2 is active: h1 rolls first and takes over, the mark, then h2.
    assert.equal(hosts(orderActivePassive(last, "h2")), "h1,h1,mark,h2");
    const named = ctlPool(plan(cluster("pointOfNoReturn: { before: { component: ctl, host: h2 } }")));
    assert.equal(hosts(named), "mark,h2,h2,h1");
    assert.equal(hosts(orderActivePassive(named, "h2")), "h1,h1,mark,h2");
    const first = ctlPool(plan(cluster("pointOfNoReturn: { before: { component: ctl, host: first } }")));
    assert.equal(hosts(orderActivePassive(first, "h2")), "mark,h1,h1,h2");
  });

  it("cuts before the first host, or a named one", () => {
    const first = plan(cluster("pointOfNoReturn: { before: { component: api, host: first } }"));
    assert.deepEqual(
      phaseOf(first, "roll")?.stages.map((st) =>
        st.pools.map((pool) => pool.lanes.map((l) => l.host ?? "here").join(",")),
      ),
      [["here"], ["h2,h2,h1"], ["here"], ["h1,h2,h3"]],
    );
    const named = plan(cluster("pointOfNoReturn: { before: { component: api, host: h3 } }"));
    const roll = phaseOf(named, "roll");
    assert.deepEqual(
      roll?.stages.map((st) =>
        st.pools.map((pool) => [pool.lanes.map((l) => l.host ?? "here").join(","), pool.limit]),
      ),
      [[["here", 1]], [["h2,h2,h1", 1]], [["h1,h2", 2]], [["here", 1]], [["h3", 1]]],
    );
  });

  it("keeps its default place in an offline hop, which has no host to put it before", () => {
    const p = plan(
      cluster("pointOfNoReturn: { before: { component: ctl, host: last } }"),
      "1.0.1",
      "1.1.0",
      offlineCatalog,
    );
    assert.deepEqual(
      p.hops[0]?.phases.map((ph) => ph.name),
      ["preflight", "stop", "install", "point-of-no-return", "start", "verify"],
    );
  });
});
