/**
 * `ferry pause`: asks the ferry that drives the cluster's run, in this process or another, to let
 * the steps in flight finish and stop the run resumable. The request goes through the state store
 * (a mark on the run), so it reaches a run started on another machine that shares a PostgreSQL store.
 */
import { hostname, userInfo } from "node:os";
import type { Cluster } from "../cluster/cluster.js";
import { RefusedError } from "../errors.js";
import type { RunRecord, RunStatus, StateStore } from "../store/state-store.js";
import { describeHolder } from "./lock.js";

export interface PauseOptions {
  readonly cluster: Cluster;
  readonly store: StateStore;
  /** Who asks, as the executor will report it; default `user@host` of this process. */
  readonly by?: string;
  /** The run meant; refused unless it is the cluster's unfinished run. Default: that run. */
  readonly runId?: string;
}

export interface PauseRequest {
  readonly runId: string;
  /** The ferry that will carry it out. */
  readonly heldBy: string;
  readonly message: string;
}

/** Marks the cluster's running run for a pause; refused (exit 3) when no ferry is running one. */
export async function pause(options: PauseOptions): Promise<PauseRequest> {
  const { cluster, store } = options;
  const by = options.by ?? `${userInfo().username}@${hostname()}`;
  const run = await store.unfinishedRun(cluster.name);
  if (!run || (options.runId !== undefined && run.id !== options.runId)) {
    throw new RefusedError(
      options.runId
        ? `run ${options.runId} is not ${cluster.name}'s unfinished run`
        : `${cluster.name} has no run to pause`,
      "not-running",
      "look at `ferry status` and `ferry history`",
    );
  }
  if (run.status !== "running") throw notRunning(run, `is ${run.status}, not running`);
  const holder = await store.lockHolder(run.cluster);
  if (!holder || holder.runId !== run.id || holder.leaseUntil <= Date.now()) {
    throw notRunning(run, "is marked running, but no ferry is running it (it stopped without a word)");
  }
  if (!(await store.requestPause(run.id, by))) {
    const now = await store.getRun(run.id);
    throw notRunning(run, `is ${now?.status ?? "gone"} now, not running`);
  }
  return {
    runId: run.id,
    heldBy: describeHolder(holder),
    message: `pause requested for run ${run.id} (${run.from} → ${run.to}): the ferry running it (pid ${holder.pid} on ${holder.host}) lets the steps in flight finish, then stops it; \`ferry resume\` continues it`,
  };
}

/** Waits until the run is no longer `running` (paused, or it ended first); returns its status then. */
export async function waitUntilStopped(
  store: StateStore,
  runId: string,
  options: { readonly pollMs?: number; readonly signal?: AbortSignal } = {},
): Promise<RunStatus | undefined> {
  for (;;) {
    const run = await store.getRun(runId);
    if (run?.status !== "running" || options.signal?.aborted) return run?.status;
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 200));
  }
}

function notRunning(run: RunRecord, what: string): RefusedError {
  const wayOut =
    run.status === "rolling-back"
      ? "a rollback is not paused; wait for it to end, or interrupt it and `ferry resume` finishes it"
      : "`ferry resume` continues it, `ferry rollback` undoes its current hop";
  return new RefusedError(
    `run ${run.id} (${run.from} → ${run.to}) ${what}: there is nothing to pause`,
    "not-running",
    wayOut,
  );
}
