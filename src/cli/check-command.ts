/**
 * `ferry check [-c cluster.yaml] [--to V [--from V]] [--json]`: reads and validates the cluster
 * file and its catalog (exit 2 naming file, line and field on any problem); with --to, also plans
 * the way there (exit 3 when the policy refuses it), from --from or from what the cluster runs,
 * and runs the first hop's preflight (DESIGN.md: "preflight only"; exit 3 when a check fails).
 * Nothing is changed.
 */
import { relative } from "node:path";
import { buildPlan, checkPreflight, ExitCode, migrationsFor, planPath, planSteps } from "../index.js";
import { loadClusterAndCatalog, observedStart, withClusterDrivers } from "./context.js";
import { printJson, printLines } from "./output.js";
import type { SetExit } from "./program.js";

export interface CheckFlags {
  config: string;
  to?: string;
  from?: string;
  json?: boolean;
}

export async function checkCommand(flags: CheckFlags, setExit: SetExit): Promise<void> {
  const { cluster, catalog } = loadClusterAndCatalog(flags);
  const to = flags.to;
  // One connection per host serves both the observation and the preflight.
  const upgrade = to
    ? await withClusterDrivers(cluster, async (driverFor) => {
        const { version: from, actives } = flags.from
          ? { version: flags.from, actives: new Map<string, string>() }
          : await observedStart(cluster, catalog, { actives: true }, driverFor);
        const found = planPath(catalog, from, to);
        const plan = buildPlan(cluster, found, migrationsFor(cluster.database, catalog), actives);
        const result = await checkPreflight({ cluster, plan, driverFor });
        return {
          path: { path: found.path, steps: [...planSteps(plan)].length },
          preflight: { checked: result.checked.length, failed: result.failed ?? null },
        };
      })
    : null;
  const path = upgrade?.path ?? null;
  const preflight = upgrade?.preflight ?? null;
  const report = {
    cluster: {
      file: cluster.file,
      name: cluster.name,
      hosts: cluster.hosts.length,
      components: cluster.components.map((c) => c.name),
    },
    catalog: {
      file: cluster.catalog,
      product: catalog.product,
      scheme: catalog.scheme,
      releases: catalog.releases.map((r) => r.version),
    },
    path,
    preflight,
  };
  // A check that did not pass is a refusal: the upgrade would stop there, having changed nothing.
  if (preflight?.failed) setExit(ExitCode.refused);
  if (flags.json) {
    printJson(report);
    return;
  }
  const f = preflight?.failed;
  const releases = report.catalog.releases;
  printLines([
    `${cluster.file}: cluster ${cluster.name}, ${cluster.hosts.length} hosts, components ${report.cluster.components.join(", ")}: valid`,
    `${relative(process.cwd(), cluster.catalog)}: ${catalog.product} (${catalog.scheme}), ${releases.length === 1 ? `1 release ${releases[0]}` : `${releases.length} releases ${releases[0]} … ${releases.at(-1)}`}: valid`,
    ...(path ? [`upgrade ${path.path.join(" → ")}: allowed, ${path.steps} steps`] : []),
    ...(preflight && !f ? [`preflight of the first hop: ${preflight.checked} checks passed`] : []),
    ...(f
      ? [
          `preflight of the first hop failed: ${f.id}${f.host ? ` on ${f.host}` : ""}: ${f.error}`,
          "fix what it names, then check again; nothing was changed",
        ]
      : []),
  ]);
}
