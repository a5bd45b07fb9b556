/**
 * The plan of a fleet upgrade (`ferry fleet plan`): for each cluster, the release it runs (asked of
 * its hosts), its path to the target, or why it cannot be upgraded. A cluster that cannot be
 * upgraded is listed with its reason and never stops the others from being planned: an edge fleet
 * always has a site that is down.
 *
 * How a cluster is asked is given by the caller (the CLI opens drivers to its hosts), so this
 * module only reads files: the catalogs the clusters name.
 */
import { type Catalog, loadCatalog, lookupRelease, type PathHop, planPath } from "../catalog/index.js";
import { type Cluster, checkVersionInCatalog } from "../cluster/cluster.js";
import { FerryError, RefusedError, UserError } from "../errors.js";
import { mapLimit } from "../run/map-limit.js";
import { type Observation, requireOneVersion } from "../run/observe.js";
import { type Fleet, failureLimit, fleetGroups } from "./fleet-file.js";

/** How many clusters are asked their version at once: each asks up to 32 of its members at once. */
export const CLUSTERS_AT_ONCE = 16;

/** Why a cluster cannot be upgraded. */
export type RefusalKind =
  /** Its cluster file, or its catalog, does not validate; or the file's `version:` is not a release. */
  | "invalid"
  /** Its catalog has no such release as the target. */
  | "unknown-target"
  /** A member did not answer its version command, or its host could not be reached. */
  | "unreachable"
  /** Its members run different releases. */
  | "mixed-versions"
  /** Its members print a version that is not one of the catalog's releases. */
  | "unknown-version"
  /** The catalog's policy allows no path from its release to the target. */
  | "forbidden-path";

export interface ClusterRefusal {
  readonly kind: RefusalKind;
  readonly reason: string;
}

export interface FleetPlanCluster {
  /** The cluster file's `name:`; null for a file that does not validate and names none. */
  readonly name: string | null;
  /** Absolute path of the cluster file. */
  readonly file: string;
  /** The release it runs; null when it could not be told. */
  readonly from: string | null;
  /** Every release it passes through, `from` first and the target last; [from] when already there, null when refused. */
  readonly path: readonly string[] | null;
  readonly hops: readonly Pick<PathHop, "from" | "to" | "kind" | "mode">[] | null;
  readonly refused: ClusterRefusal | null;
}

export interface FleetPlan {
  readonly fleet: string;
  readonly to: string;
  readonly strategy: {
    readonly maxParallel: number;
    readonly soakMs: number;
    /** How many failed clusters stop the fleet, the percentage counted out. */
    readonly maxFailures: number;
  };
  /** In strategy order; each group's clusters in the order they start. */
  readonly groups: readonly { readonly name: string; readonly clusters: readonly FleetPlanCluster[] }[];
}

/** Asks a cluster's members their version; may throw when its hosts cannot be reached. */
export type AskCluster = (cluster: Cluster) => Promise<Observation>;

/**
 * Plans the fleet's upgrade to `to`. A target that none of the fleet's catalogs knows is a bad
 * flag (UserError); one that only some know refuses the clusters of the others.
 */
export async function planFleet(
  fleet: Fleet,
  to: string,
  ask: AskCluster,
  options: { clustersAtOnce?: number } = {},
): Promise<FleetPlan> {
  const catalogs = new Map<string, Catalog | UserError>();
  const catalogOf = (cluster: Cluster): Catalog | UserError => {
    let found = catalogs.get(cluster.catalog);
    if (!found) {
      try {
        found = loadCatalog(cluster.catalog);
      } catch (err) {
        if (!(err instanceof UserError)) throw err;
        found = err;
      }
      catalogs.set(cluster.catalog, found);
    }
    return found;
  };
  checkTargetKnown(fleet, to, catalogOf);

  const planned = new Map<string, FleetPlanCluster>();
  await mapLimit(fleet.members, options.clustersAtOnce ?? CLUSTERS_AT_ONCE, async (m) => {
    planned.set(m.file, await planCluster(m.cluster, m.file, to, catalogOf, ask));
  });
  const clusters = fleet.members.length + fleet.refused.length;
  return {
    fleet: fleet.name,
    to,
    strategy: {
      maxParallel: fleet.strategy.maxParallel,
      soakMs: fleet.strategy.soakMs,
      maxFailures: failureLimit(fleet.strategy.maxFailures, clusters),
    },
    groups: fleetGroups(fleet).map((g) => ({
      name: g.name,
      clusters: [
        ...g.members.map((m) => planned.get(m.file) as FleetPlanCluster),
        ...g.refused.map(
          (r): FleetPlanCluster => ({
            name: r.name ?? null,
            file: r.file,
            from: null,
            path: null,
            hops: null,
            refused: { kind: "invalid", reason: r.reason },
          }),
        ),
      ],
    })),
  };
}

/** `--to` must be a release of at least one catalog the fleet's valid clusters name. */
function checkTargetKnown(fleet: Fleet, to: string, catalogOf: (c: Cluster) => Catalog | UserError): void {
  let problem: string | undefined;
  for (const m of fleet.members) {
    const catalog = catalogOf(m.cluster);
    if (catalog instanceof UserError) continue;
    const found = lookupRelease(catalog, to);
    if ("index" in found) return;
    problem ??= found.problem;
  }
  if (problem) throw new UserError(`--to: ${problem}; no cluster of fleet ${fleet.name} could reach it`);
}

async function planCluster(
  cluster: Cluster,
  file: string,
  to: string,
  catalogOf: (c: Cluster) => Catalog | UserError,
  ask: AskCluster,
): Promise<FleetPlanCluster> {
  const refused = (kind: RefusalKind, reason: string, from: string | null = null): FleetPlanCluster => ({
    name: cluster.name,
    file,
    from,
    path: null,
    hops: null,
    refused: { kind, reason },
  });
  const catalog = catalogOf(cluster);
  if (catalog instanceof UserError) return refused("invalid", catalog.message);
  try {
    checkVersionInCatalog(cluster, catalog);
  } catch (err) {
    if (err instanceof UserError) return refused("invalid", err.message);
    throw err;
  }
  const target = lookupRelease(catalog, to);
  if ("problem" in target) return refused("unknown-target", `--to: ${target.problem}`);

  let seen: Observation;
  try {
    seen = await ask(cluster);
  } catch (err) {
    // A host that cannot be reached (SSH refused, a key that does not match): this cluster's trouble only.
    if (err instanceof FerryError || err instanceof Error) return refused("unreachable", err.message);
    throw err;
  }
  let from: string;
  try {
    from = requireOneVersion(
      seen,
      cluster.name,
      "finish the run that left them so (ferry resume, or ferry rollback, with that cluster's file), then plan again",
      catalog,
    );
  } catch (err) {
    if (!(err instanceof RefusedError)) throw err;
    const silent = seen.members.some((m) => m.version === null);
    const kind: RefusalKind = silent
      ? "unreachable"
      : err.rule === "mixed-versions"
        ? "mixed-versions"
        : "unknown-version";
    return refused(kind, `${err.message}. Way out: ${err.wayOut}`);
  }
  try {
    const path = planPath(catalog, from, to);
    return {
      name: cluster.name,
      file,
      from,
      path: path.path,
      hops: path.hops.map((h) => ({ from: h.from, to: h.to, kind: h.kind, mode: h.mode })),
      refused: null,
    };
  } catch (err) {
    if (err instanceof RefusedError) return refused("forbidden-path", err.message, from);
    throw err;
  }
}

/** Clusters of the plan that can be upgraded, or need not be: every one not refused. */
export function plannedClusters(plan: FleetPlan): FleetPlanCluster[] {
  return plan.groups.flatMap((g) => g.clusters.filter((c) => c.refused === null));
}
