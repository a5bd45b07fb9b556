/**
 * The operator's own steps in a hop's plan (DESIGN.md "Your own steps: actions"): a component's
 * actions go into each host's lane at their point of the roll, and cluster actions at the end of
 * their phase. They become plan steps like ferry's own: journaled, checked on resume, undone in
 * reverse; an action without `undo` is undone by an `irreversible` action, so a rollback that
 * reaches it stops and names it.
 *
 * build-plan.ts calls these from its phase builders, so its phase lists stay the one place where
 * a hop's steps are seen in order.
 */
import type { HopMode } from "../catalog/index.js";
import type { ActionSpec, ClusterAction, Component } from "../cluster/cluster.js";
import type { HostPoint, PhaseName } from "../cluster/cluster-schema.js";
import { render } from "../cluster/template.js";
import {
  activeOf,
  byOrder,
  directionOf,
  exec,
  type HopContext,
  LOCAL_TIMEOUT_MS,
  memberOf,
  onlineHostsOf,
  perHost,
  rollOrder,
  single,
  switchoverOf,
  valuesOf,
} from "./hop-context.js";
import type { Action, Member, PlanStep, Stage } from "./plan.js";

/** Whether the hop plans the action: `when` against the hop's direction. */
export function plansAction(ctx: HopContext, a: ActionSpec): boolean {
  return a.when === "always" || a.when === directionOf(ctx.hop.kind);
}

/**
 * The component's actions at `point` of member `m`'s roll, as steps of the host's lane, with ids
 * `id("action/NAME")`: `24.03.0/roll/api/h2/action/reload`.
 */
export function hostActionSteps(
  ctx: HopContext,
  c: Component,
  m: Member,
  point: HostPoint,
  id: (step: string) => string,
): PlanStep[] {
  if (c.actions.length === 0) return []; // most components: no garbage of two arrays per host and point
  return c.actions
    .filter((a) => a.at === point && plansAction(ctx, a))
    .map((a) => actionStep(ctx, a, id(`action/${a.name}`), m));
}

/**
 * `after-unpin` actions, once the hop runs unpinned (Cinder's SIGHUP to every service): per order,
 * each component's hosts in its window of maxUnavailable, as the roll went.
 */
export function afterUnpinStages(ctx: HopContext, phaseName: PhaseName): Stage[] {
  const point: HostPoint = "after-unpin";
  const withAny = ctx.cluster.components.filter((c) =>
    c.actions.some((a) => a.at === point && plansAction(ctx, a)),
  );
  return perHost(
    ctx,
    phaseName,
    byOrder(withAny),
    (c) => c.maxUnavailable,
    (c, m, id) => hostActionSteps(ctx, c, m, point, id),
  );
}

/**
 * A phase a hop's mode does not have, mapped to the one that stands for it, so that an action is
 * never silently left out: an offline hop has no pin, roll or activate; a rolling hop no queue
 * drain, stop, install, start or undrain. Each maps to the phase at the same moment of the other
 * procedure: just before hosts change (pin, drain), once every host runs the target (roll,
 * activate; stop, install, start), at the end (undrain, verify).
 */
const COUNTERPART: Record<HopMode, Partial<Record<PhaseName, PhaseName>>> = {
  rolling: { drain: "pin", stop: "roll", install: "roll", start: "roll", undrain: "verify" },
  offline: { pin: "drain", roll: "start", activate: "start" },
};

/** The phase of this hop in which an action `at` a phase runs. */
export function phaseOfAction(mode: HopMode, at: PhaseName): PhaseName {
  return COUNTERPART[mode][at] ?? at;
}

/**
 * The cluster actions that end phase `phaseName` of this hop, in the file's order, each a stage:
 * `24.03.0/expand/action/schema` (with `host: all`, a pool of `…/action/schema/HOST`).
 */
export function clusterActionStages(ctx: HopContext, phaseName: PhaseName): Stage[] {
  return ctx.cluster.actions
    .filter((a) => plansAction(ctx, a) && phaseOfAction(ctx.hop.mode, a.at) === phaseName)
    .flatMap((a) => clusterActionStage(ctx, a));
}

/**
 * Where a cluster action runs in this hop: its phase and its steps' ids, one per host it runs on
 * (none when the hop does not plan it, or its host is marked offline).
 */
export function clusterActionPlace(ctx: HopContext, a: ClusterAction): { phase: PhaseName; ids: string[] } {
  const phase = phaseOfAction(ctx.hop.mode, a.at);
  const id = `${ctx.hop.id}/${phase}/action/${a.name}`;
  if (!plansAction(ctx, a)) return { phase, ids: [] };
  if (!a.on) return { phase, ids: [id] };
  const hosts = actionHosts(ctx, componentOf(ctx, a), a.on.host, phase);
  return { phase, ids: a.on.host === "all" ? hosts.map((h) => `${id}/${h}`) : hosts.map(() => id) };
}

function componentOf(ctx: HopContext, a: ClusterAction): Component {
  return ctx.cluster.components.find((x) => x.name === a.on?.component) as Component;
}

function clusterActionStage(ctx: HopContext, a: ClusterAction): Stage[] {
  const { phase, ids } = clusterActionPlace(ctx, a);
  if (!a.on) return ids.map((id) => single(actionStep(ctx, a, id, undefined)));
  const c = componentOf(ctx, a);
  const hosts = actionHosts(ctx, c, a.on.host, phase);
  const member = (h: string) => memberOf(ctx, c, h);
  if (a.on.host !== "all")
    return hosts.map((h, i) => single(actionStep(ctx, a, ids[i] as string, member(h))));
  if (hosts.length === 0) return [];
  return [
    {
      pools: [
        {
          component: c.name,
          limit: Math.min(c.maxUnavailable, hosts.length),
          lanes: hosts.map((h, i) => ({ host: h, steps: [actionStep(ctx, a, ids[i] as string, member(h))] })),
        },
      ],
    },
  ];
}

/** The phases of a rolling hop that come after its switchover, at the roll's end. */
const AFTER_SWITCHOVER: readonly PhaseName[] = ["roll", "activate", "data", "contract", "verify"];

/**
 * The hosts of `c` an action `on.host` runs on in this hop: `first`/`last` in the hop's roll order,
 * `all` of them in that order, `active` the active host at that moment (after a rolling hop's
 * switchover, the new one; a component that is not active-passive has every host active, so its
 * first), or the named host. A host marked offline is left out, as it is of every step.
 */
function actionHosts(ctx: HopContext, c: Component, host: string, phaseName: PhaseName): string[] {
  const order = rollOrder(ctx, c);
  switch (host) {
    case "all":
      return order;
    case "first":
      return order.slice(0, 1);
    case "last":
      return order.slice(-1);
    case "active": {
      if (!c.activePassive || order.length === 0) return order.slice(0, 1);
      const turn = switchoverOf(ctx, c);
      if (turn) return [AFTER_SWITCHOVER.includes(phaseName) ? turn.next : turn.was];
      return [activeOf(c, ctx.actives, onlineHostsOf(c, ctx.members))];
    }
    default:
      return order.includes(host) ? [host] : [];
  }
}

/**
 * One action as a plan step: `run` and `check` rendered with the hop's values, `undo` with the way
 * back's. On `m`'s host through its driver, or on this machine when `m` is undefined.
 */
function actionStep(ctx: HopContext, a: ActionSpec, id: string, m: Member | undefined): PlanStep {
  // An approval point (a cluster action with `approve:`) waits for a person; nothing to undo.
  const approve = (a as Partial<ClusterAction>).approve;
  if (approve !== undefined)
    return {
      id,
      name: `action/${a.name}`,
      run: [{ type: "approval", question: approve }],
      timeoutMs: LOCAL_TIMEOUT_MS,
    };
  const undo: Action = a.undo
    ? exec(ctx, a.undo, m, true)
    : {
        type: "irreversible",
        action: a.name,
        ...(a.check ? { check: render(a.check, valuesOf(ctx, m)[0]) } : {}),
      };
  return {
    id,
    name: `action/${a.name}`,
    ...(m ? { host: m.host, component: m.component } : {}),
    run: [exec(ctx, a.run, m)],
    ...(a.check ? { check: exec(ctx, a.check, m) } : {}),
    undo: [undo],
    timeoutMs: a.timeoutMs ?? m?.timeoutMs ?? LOCAL_TIMEOUT_MS,
  };
}
