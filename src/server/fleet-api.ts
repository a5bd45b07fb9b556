/**
 * `ferry serve -f fleet.yaml`: the fleet's API and dashboard, read-only (a fleet is steered with
 * `ferry fleet pause|resume|abort`). The fleet runs come from the fleet's store; a cluster's own
 * run from the cluster's own state store, the one its file names, as `ferry serve -c` reads it.
 *
 *   GET /api/fleet[?run=ID]                      the newest fleet run (or that one): counts per state,
 *                                                per group, the failures, each cluster with its runUrl
 *   GET /api/fleet/runs                          the fleet's runs, newest first
 *   GET /api/fleet/clusters/:name/runs/:id       a cluster's run, as GET /api/runs/:id of `ferry serve -c`
 *   GET /metrics                                 the fleet's series, Prometheus text format
 */

import { readFile } from "node:fs/promises";
import type { Hono } from "hono";
import type { Cluster } from "../cluster/cluster.js";
import type { Fleet } from "../fleet/fleet-file.js";
import type { FleetRunRecord, FleetStore } from "../fleet/fleet-store.js";
import { type FleetRunView, fleetRunView } from "../fleet/fleet-view.js";
import type { StateStore } from "../store/state-store.js";
// The dashboard's folder as the cluster's API finds it, from the sources and from the bundle alike.
import { DASHBOARD } from "./api.js";
import { guardedApp } from "./guarded-app.js";
import { renderFleetMetrics } from "./metrics.js";
import { runDetail } from "./run-detail.js";

export interface FleetApiContext {
  readonly fleet: Fleet;
  readonly fleets: FleetStore;
  /** A cluster's own state store, opened once and kept while the server runs. */
  readonly storeOf: (cluster: Cluster) => Promise<StateStore>;
  readonly allowedHosts: ReadonlySet<string>;
}

const ASSETS: Readonly<Record<string, [string, string]>> = {
  "/": ["fleet.html", "text/html; charset=utf-8"],
  "/fleet.js": ["fleet.js", "text/javascript; charset=utf-8"],
  "/dashboard.css": ["dashboard.css", "text/css; charset=utf-8"],
};

/** Where the fleet API serves a cluster's journal run. */
export function clusterRunUrl(cluster: string, runId: string): string {
  return `/api/fleet/clusters/${encodeURIComponent(cluster)}/runs/${encodeURIComponent(runId)}`;
}

export function createFleetApi(ctx: FleetApiContext): Hono {
  const { fleet, fleets } = ctx;
  // As for `ferry serve -c`.
  const app = guardedApp(ctx.allowedHosts);

  const view = async (run: FleetRunRecord | undefined): Promise<FleetRunView | null> =>
    run
      ? fleetRunView(run, await fleets.clusterRuns(run.id), (c) => clusterRunUrl(c.cluster, c.runId))
      : null;

  app.get("/api/fleet", async (c) => {
    const id = c.req.query("run");
    const run = id === undefined ? await fleets.latestFleetRun(fleet.name) : await fleets.getFleetRun(id);
    if (id !== undefined && (!run || run.fleet !== fleet.name))
      return c.json({ error: `no fleet run ${id} of fleet ${fleet.name}` }, 404);
    return c.json({
      fleet: fleet.name,
      clusters: fleet.members.length + fleet.refused.length,
      run: await view(run),
    });
  });

  app.get("/api/fleet/runs", async (c) => c.json(await fleets.listFleetRuns(fleet.name)));

  app.get("/api/fleet/clusters/:name/runs/:id", async (c) => {
    const name = c.req.param("name");
    const member = fleet.members.find((m) => m.name === name);
    if (!member) return c.json({ error: `no cluster ${name} in fleet ${fleet.name}` }, 404);
    const detail = await runDetail(await ctx.storeOf(member.cluster), c.req.param("id"));
    return detail
      ? c.json({ cluster: name, file: member.file, ...detail })
      : c.json({ error: `no run ${c.req.param("id")} of cluster ${name}` }, 404);
  });

  app.get("/metrics", async (c) => {
    const text = renderFleetMetrics(fleet.name, await view(await fleets.latestFleetRun(fleet.name)));
    return c.body(text, 200, { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" });
  });

  for (const [path, [file, type]] of Object.entries(ASSETS)) {
    app.get(path, async (c) => {
      const text = await readFile(new URL(file, DASHBOARD), "utf8");
      return c.body(text, 200, { "Content-Type": type, "Cache-Control": "no-cache" });
    });
  }
  return app;
}
