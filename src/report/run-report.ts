/** `ferry report`: one run of the journal (the latest by default) as a self-contained HTML page. */
import type { Cluster } from "../cluster/cluster.js";
import { RefusedError, UserError } from "../errors.js";
import type { StateStore } from "../store/state-store.js";
import { renderReport } from "./report-html.js";
import { buildTimeline, type Timeline } from "./timeline.js";

export interface RunReport {
  readonly runId: string;
  readonly timeline: Timeline;
  readonly html: string;
}

export async function runReport(
  cluster: Cluster,
  store: StateStore,
  runId?: string,
  now = Date.now(),
): Promise<RunReport> {
  const id = runId ?? (await store.listRuns(cluster.name))[0]?.id;
  if (id === undefined) {
    throw new RefusedError(
      `${cluster.name} has no run in its journal yet`,
      "no-run",
      "report a run once `ferry apply` has made one",
    );
  }
  const timeline = await runTimeline(cluster, store, id, now);
  if (!timeline) {
    throw new UserError(
      `--run ${id}: no such run of ${cluster.name} in its journal (\`ferry history\` lists them)`,
    );
  }
  return { runId: id, timeline, html: renderReport(timeline) };
}

/** A run of the cluster's journal as its timeline: what the report and the dashboard draw; undefined if there is no such run. */
export async function runTimeline(
  cluster: Pick<Cluster, "name">,
  store: StateStore,
  id: string,
  now = Date.now(),
): Promise<Timeline | undefined> {
  const run = await store.getRun(id);
  if (!run || run.cluster !== cluster.name) return undefined;
  return buildTimeline(run, await store.steps(id), await store.notes(id), now, await store.measurements(id));
}
