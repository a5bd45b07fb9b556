/**
 * The cluster file's own steps: actions (per host of a component at a point of its roll, or once
 * per hop at a phase) and where the point of no return sits (DESIGN.md "Your own steps"). Here
 * they are read into the cluster model and checked against the rest of the file: names that must
 * exist or be unique, hosts that must belong to the component, templates that must resolve.
 */
import { parseDuration } from "../probes/health-probe.js";
import type { FieldPath } from "../yaml-file.js";
import { ACTION_HOSTS, type ClusterData, type HostPoint, type PhaseName } from "./cluster-schema.js";
import { HOP_NAMES, VALUE_NAMES } from "./template.js";

/** What every action has: its command, and optionally how to tell it is done and how to reverse it. */
export interface ActionSpec {
  readonly name: string;
  readonly run: string;
  /** Exits 0 when the effect is already there. */
  readonly check?: string;
  /** Absent: the action cannot be undone. */
  readonly undo?: string;
  readonly when: "upgrade" | "downgrade" | "always";
  /** Absent: the component's timeout, or ten minutes on this machine. */
  readonly timeoutMs?: number;
}

/** A component's action, on each of its hosts at a point of the host's roll. */
export interface HostAction extends ActionSpec {
  readonly at: HostPoint;
}

/** An action once per hop, at the end of a phase, on this machine or on hosts of a component. */
export interface ClusterAction extends ActionSpec {
  readonly at: PhaseName;
  /** `host`: active | first | last | all | a host name. Absent: this machine. */
  readonly on?: { readonly component: string; readonly host: string };
  /** An approval point instead of a command (`run` is then empty): what the approver is asked. */
  readonly approve?: string;
}

/**
 * Where the point of no return sits, when not at its default place: before the first of `actions`
 * a hop plans, or before a host of a component's roll.
 */
export type PointOfNoReturnPlace =
  | { readonly actions: readonly string[] }
  | { readonly component: string; readonly host: string };

type ActionData = NonNullable<ClusterData["actions"]>[number];
type HostActionData = NonNullable<ClusterData["components"][number]["actions"]>[number];

function spec(a: ActionData | HostActionData): ActionSpec {
  return {
    name: a.name,
    // A cluster action that is an approval point has no command (checkActions sees to that).
    run: a.run ?? "",
    ...(a.check ? { check: a.check } : {}),
    ...(a.undo ? { undo: a.undo } : {}),
    when: a.when,
    ...(a.timeout !== undefined ? { timeoutMs: parseDuration(a.timeout) } : {}),
  };
}

export function hostActions(actions: readonly HostActionData[] | undefined): HostAction[] {
  return (actions ?? []).map((a) => ({ ...spec(a), at: a.at }));
}

export function clusterActions(actions: readonly ActionData[] | undefined): ClusterAction[] {
  return (actions ?? []).map((a) => ({
    ...spec(a),
    at: a.at,
    ...(a.on ? { on: { component: a.on.component, host: a.on.host } } : {}),
    ...(a.approve ? { approve: a.approve } : {}),
  }));
}

export function pointOfNoReturnPlace(data: ClusterData): PointOfNoReturnPlace | undefined {
  const before = data.pointOfNoReturn?.before;
  if (!before) return undefined;
  if ("action" in before)
    return { actions: typeof before.action === "string" ? [before.action] : before.action };
  return { component: before.component, host: before.host };
}

/** Reports a problem at a field of the file. */
type At = (path: FieldPath, message: string) => void;
/** Checks one template: its placeholders among `names`, its vars defined in every scope. */
type CheckTemplate = (
  template: string,
  names: readonly string[],
  varScopes: readonly ReadonlySet<string>[],
  path: FieldPath,
  at: At,
) => void;

/**
 * What the schema alone cannot see in the actions and the point of no return. `checkTemplate` is
 * the cluster file's own template check, so actions are held to the rules of the commands beside them.
 */
export function checkActions(data: ClusterData, at: At, checkTemplate: CheckTemplate): void {
  const clusterVars = new Set(Object.keys(data.vars ?? {}));
  const hostVars = new Map(data.hosts.map((h) => [h.name, Object.keys(h.vars ?? {})]));
  const components = new Map(data.components.map((c) => [c.name, c]));
  /** The var scopes a command on these hosts of `c` sees: one per host. */
  const scopes = (c: ClusterData["components"][number], hosts: readonly string[]) =>
    hosts.map((h) => new Set([...clusterVars, ...Object.keys(c.vars ?? {}), ...(hostVars.get(h) ?? [])]));
  const templates = (
    a: ActionData | HostActionData,
    path: FieldPath,
    names: readonly string[],
    varScopes: readonly ReadonlySet<string>[],
  ) => {
    for (const field of ["run", "check", "undo"] as const) {
      const template = a[field];
      if (template) checkTemplate(template, names, varScopes, [...path, field], at);
    }
  };

  data.components.forEach((c, i) => {
    const seen = new Set<string>();
    c.actions?.forEach((a, k) => {
      if (seen.has(a.name))
        at(
          ["components", i, "actions", k, "name"],
          `action ${a.name} is defined twice in component ${c.name}`,
        );
      seen.add(a.name);
      templates(a, ["components", i, "actions", k], VALUE_NAMES, scopes(c, c.hosts));
    });
  });

  const names = new Set<string>();
  data.actions?.forEach((a, k) => {
    const path: FieldPath = ["actions", k];
    if (names.has(a.name)) at([...path, "name"], `action ${a.name} is defined twice`);
    names.add(a.name);
    if (a.approve !== undefined) {
      // An approval point waits for a person on this machine: nothing runs, so nothing to check or undo.
      if (a.run !== undefined) at([...path, "run"], "give run or approve, not both");
      for (const field of ["check", "undo", "on"] as const) {
        if (a[field] !== undefined) at([...path, field], "not with approve: an approval point runs nothing");
      }
      return;
    }
    if (a.run === undefined) {
      at([...path, "run"], "missing; an action has run (a command) or approve (an approval point)");
      return;
    }
    if (!a.on) {
      // On this machine, as the cluster's hooks: the hop's values and the cluster's vars.
      templates(a, path, HOP_NAMES, [clusterVars]);
      return;
    }
    const c = components.get(a.on.component);
    if (!c) {
      at(
        [...path, "on", "component"],
        `no component named ${a.on.component} (components: ${[...components.keys()].join(", ")})`,
      );
      return;
    }
    const host = a.on.host;
    if (!(ACTION_HOSTS as readonly string[]).includes(host) && !c.hosts.includes(host)) {
      at(
        [...path, "on", "host"],
        `${host} is not one of component ${c.name}'s hosts (${c.hosts.join(", ")}), nor ${ACTION_HOSTS.join(", ")}`,
      );
      return;
    }
    templates(a, path, VALUE_NAMES, scopes(c, c.hosts.includes(host) ? [host] : c.hosts));
  });

  const before = data.pointOfNoReturn?.before;
  if (before && "action" in before) {
    const named = typeof before.action === "string" ? [before.action] : before.action;
    named.forEach((action, i) => {
      if (names.has(action)) return;
      const field: FieldPath = ["pointOfNoReturn", "before", "action"];
      at(
        typeof before.action === "string" ? field : [...field, i],
        names.size > 0
          ? `no action named ${action} (actions: ${[...names].join(", ")})`
          : `no action named ${action}: the file has no actions: at its top level`,
      );
    });
  }
  if (before && "component" in before) {
    const c = components.get(before.component);
    if (!c) {
      at(
        ["pointOfNoReturn", "before", "component"],
        `no component named ${before.component} (components: ${[...components.keys()].join(", ")})`,
      );
    } else if (before.host !== "first" && before.host !== "last" && !c.hosts.includes(before.host)) {
      at(
        ["pointOfNoReturn", "before", "host"],
        `${before.host} is not one of component ${c.name}'s hosts (${c.hosts.join(", ")}), nor first or last`,
      );
    }
  }
}
