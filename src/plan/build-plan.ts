/**
 * The plan builder: a pure function from the cluster, the version path and (for ids) nothing else
 * to the full plan. Each phase of a hop is a named builder; the two lists below are the whole
 * procedure, in the order it runs (DESIGN.md "How an upgrade runs").
 */
import type { VersionPath } from "../catalog/index.js";
import type { Cluster, Component } from "../cluster/cluster.js";
import type { PhaseName } from "../cluster/cluster-schema.js";
import { render, type TemplateValues } from "../cluster/template.js";
import {
  type Action,
  type Lane,
  type Member,
  type Phase,
  type Plan,
  type PlannedHop,
  type PlanStep,
  POINT_OF_NO_RETURN,
  type Pool,
  type Stage,
} from "./plan.js";

interface HopContext {
  readonly cluster: Cluster;
  readonly hop: Omit<PlannedHop, "phases">;
  readonly members: ReadonlyMap<string, Member>;
  /** Template values per member (and for this machine: undefined), forward and back; made once per hop. */
  readonly values: Map<Member | undefined, readonly [TemplateValues, TemplateValues]>;
}

/** A phase with no stages is left out of the plan, unless the operator hooked a command to it. */
type PhaseBuilder = (ctx: HopContext) => Phase;

/** A rolling hop keeps the service up: one host of a component out at a time, versions mixed behind the pin. */
const ROLLING: readonly PhaseBuilder[] = [
  preflight,
  backup,
  expand,
  pin,
  roll,
  pointOfNoReturn,
  activate,
  contract,
  data,
  verify,
];

/** An offline hop stops everything first (Ganeti's procedure; Backend.AI's major upgrades). */
const OFFLINE: readonly PhaseBuilder[] = [
  preflight,
  drainQueue,
  stopAll,
  backup,
  installAll,
  expand,
  contract,
  data,
  pointOfNoReturn,
  startAll,
  verify,
  undrainQueue,
];

/**
 * Every step of every hop of `path`, nothing run.
 *
 * @example buildPlan(cluster, planPath(catalog, "1.0.0", "1.0.1")).hops[0].phases.map((p) => p.name)
 */
export function buildPlan(cluster: Cluster, path: VersionPath): Plan {
  const members = clusterMembers(cluster);
  const byKey = new Map(members.map((m) => [memberKey(m.host, m.component), m]));
  const hops = path.hops.map((h): PlannedHop => {
    const hop = { id: h.to, ...h };
    const ctx: HopContext = { cluster, hop, members: byKey, values: new Map() };
    const builders = h.mode === "rolling" ? ROLLING : OFFLINE;
    const phases = builders.map((build) => withHooks(ctx, build(ctx))).filter((p) => p.stages.length > 0);
    return { ...hop, phases };
  });
  return {
    cluster: cluster.name,
    onFailure: cluster.onFailure,
    from: path.from,
    to: path.to,
    path: path.path,
    hosts: cluster.hosts.map((h) => ({ name: h.name, address: h.address, driver: h.driver })),
    members,
    vars: cluster.vars,
    hops,
  };
}

export function memberKey(host: string, component: string): string {
  return `${component}@${host}`;
}

/** Every component on every host of the cluster, with its probes rendered. */
export function clusterMembers(cluster: Cluster): Member[] {
  const hosts = new Map(cluster.hosts.map((h) => [h.name, h]));
  return cluster.components.flatMap((c) =>
    c.hosts.map((hostName): Member => {
      const host = hosts.get(hostName);
      if (!host) throw new Error(`component ${c.name}: unknown host ${hostName} passed validation`);
      const vars = { ...cluster.vars, ...c.vars, ...host.vars };
      const values: TemplateValues = { host: host.name, address: host.address, component: c.name, vars };
      const health = c.health && {
        check:
          "http" in c.health.check
            ? { http: render(c.health.check.http, values) }
            : "tcp" in c.health.check
              ? { tcp: render(c.health.check.tcp, values) }
              : { exec: render(c.health.check.exec, values) },
        gate: c.health.gate,
      };
      return {
        host: host.name,
        component: c.name,
        address: host.address,
        versionCommand: render(c.commands.version, values),
        ...(health ? { health } : {}),
        vars,
        timeoutMs: c.timeoutMs,
      };
    }),
  );
}

// ---- helpers that make steps -------------------------------------------------------------

const LOCAL_TIMEOUT_MS = 10 * 60_000;

/** Commands are rendered into the plan, so the journal shows exactly what ran. */
function exec(ctx: HopContext, template: string, member?: Member, back = false): Action {
  const command = render(template, valuesOf(ctx, member)[back ? 1 : 0]);
  return back ? { type: "exec", command, back: true } : { type: "exec", command };
}

function valuesOf(ctx: HopContext, member: Member | undefined): readonly [TemplateValues, TemplateValues] {
  let values = ctx.values.get(member);
  if (!values) {
    const { hop } = ctx;
    const where = member
      ? { host: member.host, address: member.address, component: member.component, vars: member.vars }
      : { vars: ctx.cluster.vars };
    values = [
      { version: hop.to, from: hop.from, ...where },
      { version: hop.from, from: hop.to, ...where },
    ];
    ctx.values.set(member, values);
  }
  return values;
}

/** A step on this machine, in a phase of its own. */
function localStep(ctx: HopContext, id: string, run: readonly Action[], undo?: readonly Action[]): PlanStep {
  const name = id.slice(id.lastIndexOf("/") + 1);
  return { id: `${ctx.hop.id}/${id}`, name, run, ...(undo ? { undo } : {}), timeoutMs: LOCAL_TIMEOUT_MS };
}

function single(step: PlanStep): Stage {
  return { pools: [{ limit: 1, lanes: [{ steps: [step] }] }] };
}

function phase(ctx: HopContext, name: Phase["name"], stages: readonly Stage[]): Phase {
  return { id: `${ctx.hop.id}/${name}`, name, stages };
}

/** Components grouped by `order`, lowest first: each group rolls side by side. */
function byOrder(components: readonly Component[]): Component[][] {
  const groups = new Map<number, Component[]>();
  for (const c of components) groups.set(c.order, [...(groups.get(c.order) ?? []), c]);
  return [...groups.entries()].sort(([a], [b]) => a - b).map(([, cs]) => cs);
}

/**
 * One stage per order; per component a pool of per-host lanes, at most `limit(c)` at once.
 * `steps` makes a host's steps for the component.
 */
function perHost(
  ctx: HopContext,
  phaseName: string,
  orders: Component[][],
  limit: (c: Component) => number,
  steps: (c: Component, m: Member, id: (action: string) => string) => PlanStep[],
): Stage[] {
  return orders.map((group) => ({
    pools: group.map(
      (c): Pool => ({
        component: c.name,
        limit: Math.min(limit(c), c.hosts.length),
        lanes: c.hosts.map((h): Lane => {
          const m = ctx.members.get(memberKey(h, c.name));
          if (!m) throw new Error(`no member ${c.name}@${h}`);
          return {
            host: h,
            steps: steps(c, m, (action) => `${ctx.hop.id}/${phaseName}/${c.name}/${h}/${action}`),
          };
        }),
      }),
    ),
  }));
}

function hostStep(
  id: string,
  m: Member,
  run: readonly Action[],
  extra: { check?: Action; undo?: readonly Action[] } = {},
): PlanStep {
  return {
    id,
    name: id.slice(id.lastIndexOf("/") + 1),
    host: m.host,
    component: m.component,
    run,
    ...extra,
    timeoutMs: m.timeoutMs,
  };
}

/** The host steps of taking a member down, switching it to the hop's version, and bringing it back. */
function stopStep(ctx: HopContext, c: Component, m: Member, id: string): PlanStep {
  return hostStep(id, m, [exec(ctx, c.commands.stop, m)], {
    undo: [exec(ctx, c.commands.start, m, true), ...(m.health ? [{ type: "health" } as const] : [])],
  });
}

function switchSteps(ctx: HopContext, c: Component, m: Member, id: (a: string) => string): PlanStep[] {
  return [
    hostStep(id("install"), m, [exec(ctx, c.commands.install, m)]),
    hostStep(id("activate"), m, [exec(ctx, c.commands.activate, m)], {
      check: { type: "version-is", version: ctx.hop.to },
      undo: [exec(ctx, c.commands.activate, m, true)],
    }),
  ];
}

function startSteps(ctx: HopContext, c: Component, m: Member, id: (a: string) => string): PlanStep[] {
  return [
    hostStep(id("start"), m, [exec(ctx, c.commands.start, m)], { undo: [exec(ctx, c.commands.stop, m)] }),
    ...(m.health ? [hostStep(id("health"), m, [{ type: "health" }])] : []),
  ];
}

function withHooks(ctx: HopContext, p: Phase): Phase {
  if (p.name === POINT_OF_NO_RETURN) return p;
  const name = p.name as PhaseName;
  const before = ctx.cluster.hooks.before[name];
  const after = ctx.cluster.hooks.after[name];
  return {
    ...p,
    stages: [
      ...(before ? [single(localStep(ctx, `${name}/before-hook`, [exec(ctx, before)]))] : []),
      ...p.stages,
      ...(after ? [single(localStep(ctx, `${name}/after-hook`, [exec(ctx, after)]))] : []),
    ],
  };
}

// ---- the phases ------------------------------------------------------------------------------

/** The cluster is where the hop starts and healthy (offline members fail it), and the operator's checks pass. */
function preflight(ctx: HopContext): Phase {
  return phase(ctx, "preflight", [
    single(
      localStep(ctx, "preflight/cluster", [{ type: "cluster-is", version: ctx.hop.from, healthy: true }]),
    ),
    ...ctx.cluster.preflight.map((check) =>
      single(localStep(ctx, `preflight/check/${check.name}`, [exec(ctx, check.run)])),
    ),
  ]);
}

function backup(ctx: HopContext): Phase {
  const command = ctx.cluster.backup;
  return phase(
    ctx,
    "backup",
    command ? [single(localStep(ctx, "backup/command", [exec(ctx, command)]))] : [],
  );
}

/** Additive schema migrations; they come with the database migrations (issue 4): none yet. */
function expand(ctx: HopContext): Phase {
  return phase(ctx, "expand", []);
}

/** Compatibility mode on while versions are mixed (Cinder's RPC pin, StarlingX's compatibility mode). */
function pin(ctx: HopContext): Phase {
  const { pin: on, unpin: off } = ctx.cluster;
  if (!on) return phase(ctx, "pin", []);
  return phase(ctx, "pin", [
    single(localStep(ctx, "pin/command", [exec(ctx, on)], off ? [exec(ctx, off)] : undefined)),
  ]);
}

/** Component by component in `order`; each component's hosts in a sliding window of maxUnavailable. */
function roll(ctx: HopContext): Phase {
  const stages = perHost(
    ctx,
    "roll",
    byOrder(ctx.cluster.components),
    (c) => c.maxUnavailable,
    (c, m, id) => [
      ...(c.drain
        ? [hostStep(id("drain"), m, [exec(ctx, c.drain.exec, m)], { undo: [exec(ctx, c.drain.undrain, m)] })]
        : []),
      stopStep(ctx, c, m, id("stop")),
      ...switchSteps(ctx, c, m, id),
      ...startSteps(ctx, c, m, id),
      ...(c.drain
        ? [
            hostStep(id("undrain"), m, [exec(ctx, c.drain.undrain, m)], {
              undo: [exec(ctx, c.drain.exec, m)],
            }),
          ]
        : []),
    ],
  );
  return phase(ctx, "roll", stages);
}

/** Past this step ferry never goes back by itself (StarlingX's point of no return, Ganeti's config change). */
function pointOfNoReturn(ctx: HopContext): Phase {
  return phase(ctx, POINT_OF_NO_RETURN, [single(localStep(ctx, POINT_OF_NO_RETURN, [{ type: "mark" }]))]);
}

/** Compatibility mode off: every member runs the new release now. */
function activate(ctx: HopContext): Phase {
  const off = ctx.cluster.unpin;
  return phase(ctx, "activate", off ? [single(localStep(ctx, "activate/unpin", [exec(ctx, off)]))] : []);
}

/** Destructive schema migrations; with the database migrations (issue 4): none yet. */
function contract(ctx: HopContext): Phase {
  return phase(ctx, "contract", []);
}

/** Batched online data migrations; with the database migrations (issue 4): none yet. */
function data(ctx: HopContext): Phase {
  return phase(ctx, "data", []);
}

function verify(ctx: HopContext): Phase {
  return phase(ctx, "verify", [
    single(localStep(ctx, "verify/cluster", [{ type: "cluster-is", version: ctx.hop.to, healthy: true }])),
  ]);
}

function drainQueue(ctx: HopContext): Phase {
  const q = ctx.cluster.queue;
  return phase(
    ctx,
    "drain",
    q ? [single(localStep(ctx, "drain/queue", [exec(ctx, q.drain)], [exec(ctx, q.undrain)]))] : [],
  );
}

function undrainQueue(ctx: HopContext): Phase {
  const q = ctx.cluster.queue;
  return phase(ctx, "undrain", q ? [single(localStep(ctx, "undrain/queue", [exec(ctx, q.undrain)]))] : []);
}

/** Everything stops, the highest order first, all hosts of a component at once. */
function stopAll(ctx: HopContext): Phase {
  const orders = byOrder(ctx.cluster.components).reverse();
  return phase(
    ctx,
    "stop",
    perHost(
      ctx,
      "stop",
      orders,
      (c) => c.hosts.length,
      (c, m, id) => [stopStep(ctx, c, m, id("stop"))],
    ),
  );
}

function installAll(ctx: HopContext): Phase {
  const all = [ctx.cluster.components.slice()];
  return phase(
    ctx,
    "install",
    perHost(
      ctx,
      "install",
      all,
      (c) => c.hosts.length,
      (c, m, id) => switchSteps(ctx, c, m, id),
    ),
  );
}

/** Everything starts, the lowest order first, each member healthy before the next order starts. */
function startAll(ctx: HopContext): Phase {
  const orders = byOrder(ctx.cluster.components);
  return phase(
    ctx,
    "start",
    perHost(
      ctx,
      "start",
      orders,
      (c) => c.hosts.length,
      (c, m, id) => startSteps(ctx, c, m, id),
    ),
  );
}
