/**
 * Observing the cluster: which version every member runs (its `version` command) and whether it
 * is healthy (one health probe). Used before a run, by verify steps, and by `ferry status`.
 */
import { type Catalog, lookupRelease } from "../catalog/index.js";
import type { Cluster } from "../cluster/cluster.js";
import type { Driver } from "../drivers/driver.js";
import { describeExit, lastLineOf } from "../drivers/driver.js";
import { RefusedError } from "../errors.js";
import { clusterMembers } from "../plan/build-plan.js";
import type { Member } from "../plan/plan.js";
import { probeOnce } from "../probes/health-probe.js";
import { mapLimit } from "./map-limit.js";

export interface MemberObservation {
  readonly host: string;
  readonly component: string;
  /** null when the version command failed. */
  readonly version: string | null;
  /** null when not probed (no health check, or not asked). */
  readonly healthy: boolean | null;
  /** What went wrong, when something did. */
  readonly error?: string;
}

export interface Observation {
  readonly members: readonly MemberObservation[];
  /** The version every member runs; null when they differ or one could not tell. */
  readonly version: string | null;
  readonly mixed: boolean;
}

export type DriverFor = (host: string | undefined) => Driver;

/** How many members are probed at once: enough for a big fleet, not a fork bomb. */
const PROBES_AT_ONCE = 32;

export async function readVersion(
  member: Member,
  driver: Driver,
  signal?: AbortSignal,
): Promise<{ version: string | null; error?: string }> {
  const r = await driver.exec(member.versionCommand, {
    timeoutMs: Math.min(member.timeoutMs, 60_000),
    ...(signal ? { signal } : {}),
  });
  const version = lastLineOf(r.output) ?? "";
  if (r.exitCode !== 0 || r.timedOut)
    return { version: null, error: `version command: ${describeExit(r)}${lastLine(r.output)}` };
  if (!version) return { version: null, error: "version command printed nothing" };
  return { version };
}

function lastLine(output: string): string {
  const line = lastLineOf(output);
  return line ? `: ${line}` : "";
}

/**
 * Asks every member its version and, with `health`, probes it once. What `known` holds of a
 * member (observed an instant before, in this process: an apply's start) is taken from there
 * instead of asking the host again.
 */
export async function observe(
  members: readonly Member[],
  driverFor: DriverFor,
  options: { health: boolean; signal?: AbortSignal; known?: Observation },
): Promise<Observation> {
  const known = new Map((options.known?.members ?? []).map((o) => [`${o.host}\0${o.component}`, o]));
  const observed = await mapLimit(members, PROBES_AT_ONCE, async (m): Promise<MemberObservation> => {
    const already = known.get(`${m.host}\0${m.component}`);
    // One without the probe this observation needs cannot stand in for it.
    if (already && (!options.health || !m.health || already.healthy !== null)) return already;
    const driver = driverFor(m.host);
    try {
      const { version, error } = await readVersion(m, driver, options.signal);
      let healthy: boolean | null = null;
      let healthError: string | undefined;
      if (options.health && m.health) {
        const probe = await probeOnce(m.health.check, driver, {
          timeoutMs: m.health.gate.timeoutMs,
          ...(options.signal ? { signal: options.signal } : {}),
        });
        healthy = probe.ok;
        if (!probe.ok) healthError = `health: ${probe.detail}`;
      }
      const errors = [error, healthError].filter(Boolean).join("; ");
      return { host: m.host, component: m.component, version, healthy, ...(errors ? { error: errors } : {}) };
    } catch (err) {
      return {
        host: m.host,
        component: m.component,
        version: null,
        healthy: null,
        error: (err as Error).message,
      };
    }
  });
  const versions = new Set(observed.map((o) => o.version));
  const [only] = versions;
  const version = versions.size === 1 && only !== null && only !== undefined ? only : null;
  return { members: observed, version, mixed: versions.size > 1 };
}

/**
 * The one version every member reports, or a refusal that lists who reports what: a member that
 * cannot be asked is not the same trouble as members on different releases. The version must be
 * one of the catalog's releases: what a version command printed is the hosts' doing, and is
 * reported as theirs, never as a bad flag.
 */
export function requireOneVersion(
  seen: Observation,
  cluster: string,
  wayOut: string,
  catalog: Catalog,
): string {
  const lines = () =>
    seen.members.map((m) => `${m.component}@${m.host}: ${m.version ?? `unknown (${m.error})`}`).join("\n  ");
  if (seen.version !== null) {
    const found = lookupRelease(catalog, seen.version);
    if ("index" in found) return seen.version;
    throw new RefusedError(
      `the members of ${cluster} answer their version command with ${JSON.stringify(seen.version)}, which is not a release they could run: ${found.problem}:\n  ${lines()}`,
      "unknown-version",
      "make each member's version command print the release it runs, as the catalog names it, then try again",
    );
  }
  const unknown = seen.members.filter((m) => m.version === null);
  const what =
    unknown.length > 0
      ? `ferry cannot tell which release ${cluster} runs: ${unknown.length} member${unknown.length === 1 ? "" : "s"} did not answer the version command`
      : `the members of ${cluster} run different releases, and no unfinished run explains it`;
  throw new RefusedError(
    `${what}:\n  ${lines()}`,
    unknown.length > 0 ? "unknown-version" : "mixed-versions",
    unknown.length > 0
      ? "make every member answer its version command (is the host up?), then try again"
      : wayOut,
  );
}

/** A member's answer to its role command: `active`, `standby`, or what went wrong. */
export interface RoleAnswer {
  readonly host: string;
  readonly role: string;
}

/** Asks every given member its role (its `role` command), all at once. */
export async function askRoles(
  members: readonly Member[],
  driverFor: DriverFor,
  options: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<RoleAnswer[]> {
  return mapLimit(members, PROBES_AT_ONCE, async (m) => {
    const r = await driverFor(m.host).exec(m.roleCommand as string, {
      timeoutMs: options.timeoutMs ?? 30_000,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    return {
      host: m.host,
      role: r.exitCode === 0 ? (lastLineOf(r.output) ?? "") : `unknown (${describeExit(r)})`,
    };
  });
}

/** The one host that says `active`, or why there is not one: `… 2 of its hosts say they are active (h1: active, …)`. */
export function theActive(
  component: string,
  roles: readonly RoleAnswer[],
): { host: string } | { problem: string } {
  const active = roles.filter((r) => r.role === "active");
  if (active.length === 1) return { host: (active[0] as RoleAnswer).host };
  return {
    problem: `${component} is active-passive, and ${active.length} of its hosts say they are active (${roles.map((r) => `${r.host}: ${r.role}`).join(", ")})`,
  };
}

/**
 * The active host of every active-passive component, by its role command; refused unless exactly
 * one host of each says `active`.
 */
export async function observeActives(cluster: Cluster, driverFor: DriverFor): Promise<Map<string, string>> {
  const actives = new Map<string, string>();
  const members = clusterMembers(cluster);
  for (const c of cluster.components) {
    if (!c.activePassive) continue;
    const found = theActive(
      c.name,
      await askRoles(
        members.filter((m) => m.component === c.name),
        driverFor,
      ),
    );
    if ("problem" in found) {
      throw new RefusedError(found.problem, "active-passive", "make exactly one host active, then try again");
    }
    actives.set(c.name, found.host);
  }
  return actives;
}
