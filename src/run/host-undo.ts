/**
 * `ferry host undo HOST`: repairing one host of a stopped run (DESIGN.md "Repairing one host";
 * StarlingX: "Issues specific to a storage or worker host can be addressed by temporarily
 * downgrading the host, addressing the issues and then upgrading the host again").
 *
 * While a run is stopped (paused, or halted after its point of no return), this takes one host of
 * its current hop back to the release it ran: host-undo-steps.ts picks its steps, and the executor
 * undoes them as a rollback does, each journaled `undoing` before its undo runs, so a crash in the
 * middle is finished by running it again (or by `ferry resume`, which upgrades the host again).
 * The run keeps its status; its history gets a note of who did it and when.
 */

import { RefusedError, UserError } from "../errors.js";
import type { Plan } from "../plan/plan.js";
import type { RunRecord, StateStore } from "../store/state-store.js";
import { RunEvents } from "./events.js";
import { Executor } from "./executor.js";
import { NO_FAULTS } from "./faults.js";
import { hostUndoSteps } from "./host-undo-steps.js";
import { describeHolder } from "./lock.js";
import {
  cancelled,
  type OperationOptions,
  type OperationResult,
  reachHosts,
  whoStarted,
  withLockAndDrivers,
} from "./upgrade.js";

export interface HostUndoOptions extends OperationOptions {
  /** The host to take back. */
  readonly host: string;
  /** Who asks, for the run's history; default whoStarted(). */
  readonly by?: string;
}

/**
 * Takes `host` of the cluster's stopped run back to the release it ran before the current hop.
 * Succeeds with the host undone (the run still stopped or paused, for `ferry resume`); a host the
 * cluster file does not name is a UserError; every other reason not to is a RefusedError, thrown
 * before anything changed.
 */
export async function hostUndo(options: HostUndoOptions): Promise<OperationResult> {
  const { cluster, store, host } = options;
  const run = await store.unfinishedRun(cluster.name);
  const known = [
    ...cluster.hosts.map((h) => h.name),
    ...((run?.plan as Plan | undefined)?.hosts ?? []).map((h) => h.name),
  ];
  if (!known.includes(host)) {
    throw new UserError(
      `${cluster.file}: no host named ${host} (its hosts: ${[...new Set(known)].join(", ")})`,
    );
  }
  if (!run) {
    throw new RefusedError(
      `${cluster.name} has no stopped run: \`ferry host undo\` takes back one host of a run that is paused or stopped`,
      "host-undo-stopped-run",
      "a finished run is undone with `ferry apply --to` the release before, where the catalog allows it",
    );
  }
  await refuseUnlessStopped(run, store);
  const plan = run.plan as Plan;
  const hosts = reachHosts(plan.hosts, cluster.hosts).filter((h) => h.name === host);
  return withLockAndDrivers(options, hosts, async (lock, driverFor) => {
    const current = await store.unfinishedRun(cluster.name);
    if (current?.id !== run.id) {
      throw new RefusedError(
        `run ${run.id} changed hands while ferry took the lock`,
        "host-undo-stopped-run",
        "look at `ferry status`",
      );
    }
    await refuseUnlessStopped(current, store);
    await lock.setRun(run.id);
    const { hop, steps } = hostUndoSteps(run.id, plan, await store.steps(run.id), host);
    const names = steps.map((s) => s.name).join(" → ");
    const question = `Take ${host} back to ${hop.from}: undo its ${steps.length} step(s) of hop ${hop.from} → ${hop.to} in run ${run.id} (${current.status}), in this order: ${names}?`;
    if (options.confirm && !(await options.confirm(question))) return cancelled();

    const events = options.events ?? new RunEvents();
    const executor = new Executor({
      store,
      runId: run.id,
      plan,
      driverFor,
      events,
      faults: options.faults ?? NO_FAULTS,
      lockToken: lock.claim.token,
    });
    lock.onLost(() => executor.lockLost());
    // A signal ends the undo after the step in flight; running `ferry host undo` again finishes it.
    const stop = new AbortController();
    let interrupted = false;
    const onSignal = () => {
      if (interrupted) return;
      interrupted = true;
      stop.abort();
      events.emit({
        type: "note",
        runId: run.id,
        message: `interrupted: the undo in flight finishes, then ferry stops undoing ${host}`,
      });
    };
    for (const signal of [options.interrupt, options.stop]) {
      if (signal?.aborted) onSignal();
      signal?.addEventListener("abort", onSignal, { once: true });
    }
    try {
      const outcome = await executor.undoHost({
        host,
        steps: steps.map((s) => s.id),
        by: options.by ?? whoStarted(),
        status: current.status,
        stop: stop.signal,
      });
      return {
        ...outcome,
        runId: run.id,
        succeeded: outcome.reason === "host-undone",
        interrupted: outcome.reason === "interrupted",
      };
    } finally {
      for (const signal of [options.interrupt, options.stop]) signal?.removeEventListener("abort", onSignal);
    }
  });
}

/** A run that is running or rolling back is not stopped: its hosts are the executor's to move. */
async function refuseUnlessStopped(run: RunRecord, store: StateStore): Promise<void> {
  if (run.status === "paused" || run.status === "stopped") return;
  const which = `run ${run.id} (${run.from} → ${run.to})`;
  if (run.status === "running") {
    const holder = await store.lockHolder(run.cluster);
    const live = holder && holder.leaseUntil > Date.now() ? holder : undefined;
    throw live
      ? new RefusedError(
          `${which} is running: another ferry holds its lock (${describeHolder(live)})`,
          "host-undo-stopped-run",
          "`ferry pause --wait` stops it after the steps in flight; then undo the host",
        )
      : new RefusedError(
          `${which} is running, but no ferry holds its lock: the one that ran it is gone`,
          "host-undo-stopped-run",
          "`ferry resume` picks it up; once it is paused or stopped, a host of it can be undone",
        );
  }
  throw new RefusedError(
    `${which} is rolling back (${run.status}): its hosts are going back to ${run.from} already`,
    "host-undo-stopped-run",
    "`ferry resume` or `ferry rollback` finishes the rollback",
  );
}
