/**
 * What the phase builders of a hop share: the hop's context, and the helpers that make its steps,
 * stages and phases. build-plan.ts lists the phases; plan-actions.ts and point-of-no-return.ts
 * add the operator's own steps to them with the same helpers, so every step is made one way.
 */
import type { HopKind } from "../catalog/index.js";
import type { Cluster, Component } from "../cluster/cluster.js";
import { namesHost, render, type TemplateValues } from "../cluster/template.js";
import type { MigrationFile } from "../migrate/migration-files.js";
import type { Action, Lane, Member, Phase, PlannedHop, PlanStep, Pool, Stage } from "./plan.js";

/** What every phase builder of one hop gets: the cluster, the hop, and values made once per hop. */
export interface HopContext {
  readonly cluster: Cluster;
  /** The migration files of the releases this hop passes into, (from, to]; none for a downgrade. */
  readonly files: readonly MigrationFile[];
  /** The plan's run id is not known yet; backups are named after the hop, and the executor adds the run. */
  readonly hasDatabase: boolean;
  /** Per active-passive component, the host that is active when the hop starts. */
  readonly actives: ReadonlyMap<string, string>;
  readonly hop: Omit<PlannedHop, "phases">;
  /** Per component, its online members by host, in the cluster file's order. */
  readonly members: MembersByComponent;
  /** Template values per member (and for this machine: undefined), forward and back; made once per hop. */
  readonly values: Map<Member | undefined, readonly [TemplateValues, TemplateValues]>;
  readonly shared: SharedActions;
}

/**
 * The actions of a hop, each made once and shared by every step that has it, and so the lists of
 * them: 10,000 hosts that each `stop api` hold one `stop api`, not 10,000. A big plan is mostly
 * such repeats: shared, a plan of 10,000 hosts × 3 components keeps 29 MB, not 80 MB, and is made
 * faster. Plan data is never changed once built, so sharing it is safe; the journal keeps it as
 * JSON, a copy.
 */
export class SharedActions {
  readonly #forward = new Map<string, Action>();
  readonly #back = new Map<string, Action>();
  /** Per template, per component (LOCAL: this machine), the action forward and back. */
  readonly #rendered = new Map<string, Map<string, [Action?, Action?]>>();
  readonly #lists: ListNode = {};
  readonly versionIs: Action;

  constructor(version: string) {
    this.versionIs = { type: "version-is", version };
  }

  exec(command: string, back: boolean): Action {
    const made = back ? this.#back : this.#forward;
    let action = made.get(command);
    if (!action) {
      action = back ? { type: "exec", command, back: true } : { type: "exec", command };
      made.set(command, action);
    }
    return action;
  }

  /** The action `template` was rendered into for `component` (LOCAL: this machine), if it was. */
  rendered(template: string, component: string, back: boolean): Action | undefined {
    return this.#rendered.get(template)?.get(component)?.[back ? 1 : 0];
  }

  keep(template: string, component: string, back: boolean, action: Action): void {
    let byComponent = this.#rendered.get(template);
    if (!byComponent) {
      byComponent = new Map();
      this.#rendered.set(template, byComponent);
    }
    let made = byComponent.get(component);
    if (!made) {
      made = [];
      byComponent.set(component, made);
    }
    made[back ? 1 : 0] = action;
  }

  /** The list of these actions: the same list for the same actions (same objects) in the same order. */
  list(actions: readonly Action[]): readonly Action[] {
    let node = this.#lists;
    for (const a of actions) {
      node.next ??= new Map();
      let child = node.next.get(a);
      if (!child) {
        child = {};
        node.next.set(a, child);
      }
      node = child;
    }
    node.list ??= actions;
    return node.list;
  }
}

interface ListNode {
  list?: readonly Action[];
  next?: Map<Action, ListNode>;
}

/** In SharedActions, the component of a command for this machine (no component is named so). */
const LOCAL = "";

/** The step's member passes its health gate: one action for every step that asks it. */
export const HEALTH: Action = { type: "health" };

export type MembersByComponent = ReadonlyMap<string, ReadonlyMap<string, Member>>;

/** The members of each component, by host, in order: what the phase builders look members up in. */
export function membersByComponent(members: readonly Member[]): MembersByComponent {
  const byComponent = new Map<string, Map<string, Member>>();
  for (const m of members) {
    let hosts = byComponent.get(m.component);
    if (!hosts) {
      hosts = new Map();
      byComponent.set(m.component, hosts);
    }
    hosts.set(m.host, m);
  }
  return byComponent;
}

/** The member of `c` on `host`, which is online (the caller took the host from the online ones). */
export function memberOf(ctx: HopContext, c: Component, host: string): Member {
  return ctx.members.get(c.name)?.get(host) as Member;
}

/** A lane's step ids: the id of its step `name` (`stop`, `action/reload`). */
export type StepIds = (name: string) => string;

export function memberKey(host: string, component: string): string {
  return `${component}@${host}`;
}

export const LOCAL_TIMEOUT_MS = 10 * 60_000;

/**
 * Commands are rendered into the plan, so the journal shows exactly what ran. A command that names
 * nothing of its host's own is the same for every member of its component: it is rendered once.
 */
export function exec(ctx: HopContext, template: string, member?: Member, back = false): Action {
  const component = member && namesHost(template) ? undefined : (member?.component ?? LOCAL);
  const made = component === undefined ? undefined : ctx.shared.rendered(template, component, back);
  if (made) return made;
  const action = ctx.shared.exec(render(template, valuesOf(ctx, member)[back ? 1 : 0]), back);
  if (component !== undefined) ctx.shared.keep(template, component, back, action);
  return action;
}

/** A command for this machine, rendered with the hop's values. */
export function renderHere(ctx: HopContext, template: string): string {
  return render(template, valuesOf(ctx, undefined)[0]);
}

export function valuesOf(
  ctx: HopContext,
  member: Member | undefined,
): readonly [TemplateValues, TemplateValues] {
  let values = ctx.values.get(member);
  if (!values) {
    const { hop } = ctx;
    const where = member
      ? { host: member.host, address: member.address, component: member.component, vars: member.vars }
      : { vars: ctx.cluster.vars };
    const direction = directionOf(hop.kind);
    values = [
      { version: hop.to, from: hop.from, kind: hop.kind, direction, ...where },
      { version: hop.from, from: hop.to, kind: hop.kind, direction: opposite(direction), ...where },
    ];
    ctx.values.set(member, values);
  }
  return values;
}

/** A step on this machine, in a phase of its own. */
export function localStep(
  ctx: HopContext,
  id: string,
  run: readonly Action[],
  undo?: readonly Action[],
  check?: Action,
): PlanStep {
  const name = id.slice(id.lastIndexOf("/") + 1);
  return {
    id: `${ctx.hop.id}/${id}`,
    name,
    run,
    ...(check ? { check } : {}),
    ...(undo ? { undo } : {}),
    timeoutMs: LOCAL_TIMEOUT_MS,
  };
}

export function single(step: PlanStep): Stage {
  return { pools: [{ limit: 1, lanes: [{ steps: [step] }] }] };
}

export function phase(ctx: HopContext, name: Phase["name"], stages: readonly Stage[]): Phase {
  return { id: `${ctx.hop.id}/${name}`, name, stages };
}

/** Components grouped by `order`, lowest first: each group rolls side by side. */
export function byOrder(components: readonly Component[]): Component[][] {
  const groups = new Map<number, Component[]>();
  for (const c of components) groups.set(c.order, [...(groups.get(c.order) ?? []), c]);
  return [...groups.entries()].sort(([a], [b]) => a - b).map(([, cs]) => cs);
}

/** The component's hosts that are online, in the cluster file's order. */
export function onlineHostsOf(c: Component, members: MembersByComponent): string[] {
  return [...(members.get(c.name)?.keys() ?? [])];
}

/** The labels of the component's redundancy groups that hold `host`. */
export function groupsOf(c: Component, host: string): string[] {
  return Object.entries(c.groups)
    .filter(([, hosts]) => hosts.includes(host))
    .map(([label]) => label);
}

/**
 * One stage per order; per component a pool of per-host lanes (online hosts only), at most
 * `limit(c)` at once. `steps` makes a host's steps for the component. Lanes that take their host
 * out of service carry its redundancy groups, which the executor never has two hosts of out at once.
 */
export function perHost(
  ctx: HopContext,
  phaseName: string,
  orders: Component[][],
  limit: (c: Component) => number,
  steps: (c: Component, m: Member, id: StepIds) => PlanStep[],
  outOfService = false,
): Stage[] {
  const stages = orders.map((group) => ({
    pools: group
      .map((c): Pool => {
        const online = ctx.members.get(c.name) ?? new Map<string, Member>();
        const grouped = outOfService && Object.keys(c.groups).length > 0;
        const lanes: Lane[] = [];
        for (const [h, m] of online) {
          // One flat string per lane (join makes it flat), which each of its step ids extends.
          const lane = [ctx.hop.id, phaseName, c.name, h, ""].join("/");
          const ids = (name: string) => lane + name;
          const groups = grouped ? groupsOf(c, h) : [];
          lanes.push(
            groups.length > 0
              ? { host: h, groups, steps: steps(c, m, ids) }
              : { host: h, steps: steps(c, m, ids) },
          );
        }
        return { component: c.name, limit: Math.min(limit(c), lanes.length), lanes };
      })
      .filter((pool) => pool.lanes.length > 0),
  }));
  return stages.filter((stage) => stage.pools.length > 0);
}

/**
 * A step of member `m`: `name` in its lane, whose `id` gives the step's id. Its actions are the
 * hop's shared ones; the id is left as the lane's prefix and the name joined, not flattened, so
 * that 10,000 lanes of five steps keep one prefix each.
 */
export function hostStep(
  ctx: HopContext,
  id: StepIds,
  name: string,
  m: Member,
  run: readonly Action[],
  extra?: { check?: Action; undo?: readonly Action[] },
): PlanStep {
  const step = id(name);
  const { host, component, timeoutMs } = m;
  const does = ctx.shared.list(run);
  const check = extra?.check;
  const undo = extra?.undo && ctx.shared.list(extra.undo);
  // One literal per shape: a step holds all its fields itself, with no second block for the optional ones.
  if (check && undo) return { id: step, name, host, component, run: does, check, undo, timeoutMs };
  if (undo) return { id: step, name, host, component, run: does, undo, timeoutMs };
  if (check) return { id: step, name, host, component, run: does, check, timeoutMs };
  return { id: step, name, host, component, run: does, timeoutMs };
}

export function activeOf(
  c: Component,
  actives: ReadonlyMap<string, string>,
  online: readonly string[],
): string {
  return actives.get(c.name) ?? (online[0] as string);
}

/** The standby that takes over: the first online host after the active one. */
export function nextActive(active: string | undefined, online: readonly string[]): string {
  const now = active ?? (online[0] as string);
  return online.find((h) => h !== now) as string;
}

export type Direction = "upgrade" | "downgrade";

/** A hop to an older release goes down; every other hop goes up. */
export function directionOf(kind: HopKind): Direction {
  return kind === "downgrade" ? "downgrade" : "upgrade";
}

/** The way back of a step goes the other way: undoing an upgrade's step is a downgrade. */
export function opposite(d: Direction): Direction {
  return d === "upgrade" ? "downgrade" : "upgrade";
}

/**
 * The component's online hosts in the order this hop rolls them (DESIGN.md's `first` and `last`):
 * the cluster file's order, except that an active-passive component in a rolling hop rolls its
 * standbys first and the host active when the hop starts last (see build-plan's activePassive).
 */
export function rollOrder(ctx: HopContext, c: Component): string[] {
  const online = onlineHostsOf(c, ctx.members);
  const turn = switchoverOf(ctx, c);
  return turn ? [...online.filter((h) => h !== turn.was), turn.was] : online;
}

/**
 * The switchover a rolling hop makes in an active-passive component with a standby online: from
 * the host active when the hop starts to the first standby. Undefined when the hop makes none.
 */
export function switchoverOf(ctx: HopContext, c: Component): { was: string; next: string } | undefined {
  if (!c.activePassive || ctx.hop.mode !== "rolling") return undefined;
  const online = onlineHostsOf(c, ctx.members);
  if (online.length < 2) return undefined; // no standby online: the one host rolls as any other
  const was = activeOf(c, ctx.actives, online);
  return { was, next: nextActive(was, online) };
}
