/**
 * `ferry fleet plan -f fleet.yaml --to V [--json]`: each cluster's release, asked of its hosts,
 * and its path to V, group by group; a cluster that cannot be upgraded is listed with its reason.
 */
import { relative } from "node:path";
import {
  type Cluster,
  clusterMembers,
  ExitCode,
  type FleetPlan,
  type FleetPlanCluster,
  loadFleet,
  observe,
  planFleet,
  plannedClusters,
} from "../index.js";
import { withClusterDrivers } from "./context.js";
import { printJson, printLines } from "./output.js";
import type { SetExit } from "./program.js";
import { formatSeconds } from "./progress.js";

export interface FleetPlanFlags {
  file: string;
  to: string;
  json?: boolean;
}

export async function fleetPlanCommand(flags: FleetPlanFlags, setExit: SetExit): Promise<void> {
  const fleetFile = loadFleet(flags.file);
  const plan = await planFleet(fleetFile, flags.to, askCluster);
  if (flags.json) printJson(plan);
  else printLines(renderFleetPlan(plan));
  // Nothing of the fleet could move: a precondition refuses the whole of it.
  if (plannedClusters(plan).length === 0) setExit(ExitCode.refused);
}

/** Every online member's version, through drivers of the cluster's own, closed after. */
function askCluster(cluster: Cluster) {
  return withClusterDrivers(cluster, (driverFor) =>
    observe(clusterMembers(cluster), driverFor, { health: false }),
  );
}

/** Groups in order, and in each its clusters: where each goes, or why it cannot. */
export function renderFleetPlan(plan: FleetPlan): string[] {
  const all = plan.groups.flatMap((g) => g.clusters);
  const refused = all.filter((c) => c.refused).length;
  const there = all.filter((c) => !c.refused && c.path?.length === 1).length;
  const moving = all.length - refused - there;
  const { maxParallel, soakMs, maxFailures } = plan.strategy;
  const lines = [
    `fleet ${plan.fleet} → ${plan.to}: ${count(all.length, "cluster")}, ${moving} to upgrade, ${there} there already, ${refused} refused`,
    `  at most ${maxParallel} at once; no new cluster starts once ${count(maxFailures, "cluster")} failed${soakMs > 0 ? `; ${formatSeconds(soakMs)} soak between groups` : ""}`,
  ];
  for (const g of plan.groups) {
    lines.push(`group ${g.name}: ${count(g.clusters.length, "cluster")}`);
    const width = Math.max(0, ...g.clusters.map((c) => label(c).length));
    for (const c of g.clusters) lines.push(`  ${label(c).padEnd(width)}  ${describe(c)}`);
  }
  return lines;
}

function label(c: FleetPlanCluster): string {
  return c.name ?? shown(c.file);
}

function describe(c: FleetPlanCluster): string {
  if (c.refused) {
    const reason = c.refused.reason.replace(/:\n\s*/g, ": ").replace(/\n\s*/g, "; ");
    return `refused (${c.refused.kind}): ${reason}${c.name ? `  [${shown(c.file)}]` : ""}`;
  }
  const path = c.path ?? [];
  if (path.length <= 1) return `at ${c.from} already`;
  const offline = (c.hops ?? []).filter((h) => h.mode === "offline").length;
  const hops = `${count(path.length - 1, "hop")}${offline > 0 ? `, ${offline} offline` : ""}`;
  return `${path.join(" → ")}  (${hops})`;
}

function count(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? "" : "s"}`;
}

function shown(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel && !rel.startsWith("..") ? rel : file;
}
