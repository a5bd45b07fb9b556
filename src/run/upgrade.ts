/**
 * The operations behind `ferry apply`, `resume` and `rollback`: take the lock, observe or reload
 * the run, ask for confirmation, drive the executor, let the lock go. The CLI renders; this decides.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { hostname, userInfo } from "node:os";
import { type Catalog, planPath } from "../catalog/index.js";
import type { Cluster } from "../cluster/cluster.js";
import { DriverPool } from "../drivers/driver-pool.js";
import { RefusedError, UserError } from "../errors.js";
import { buildPlan, clusterMembers } from "../plan/build-plan.js";
import { type Plan, planSteps } from "../plan/plan.js";
import type { RunRecord, StateStore } from "../store/state-store.js";
import { RunEvents } from "./events.js";
import { Executor, type RunOutcome } from "./executor.js";
import { type Faults, faultsFromEnv } from "./faults.js";
import { acquireLock, type HeldLock } from "./lock.js";
import { type DriverFor, observe } from "./observe.js";

export interface OperationOptions {
  readonly cluster: Cluster;
  readonly store: StateStore;
  /** Where commands run; defaults to the plan's hosts through their drivers. */
  readonly driverFor?: DriverFor;
  readonly events?: RunEvents;
  readonly faults?: Faults;
  /** Asked before anything changes; false cancels. Absent: go ahead (--yes). */
  readonly confirm?: (question: string) => Promise<boolean>;
  /** Aborting it asks the run to stop the way SIGINT does. */
  readonly interrupt?: AbortSignal;
}

export interface OperationResult extends RunOutcome {
  readonly runId: string | null;
  /** Whether the operation reached the end it was asked for (a rollback's end is rolled-back). */
  readonly succeeded: boolean;
  readonly interrupted: boolean;
}

const NOTHING_CHANGED = (message: string): OperationResult => ({
  runId: null,
  status: "done",
  reason: "completed",
  message,
  succeeded: true,
  interrupted: false,
});

/** `ferry apply`: observe, plan, confirm, and run an upgrade to `to` (or the file's `version`). */
export async function apply(
  options: OperationOptions & { readonly catalog: Catalog; readonly to?: string },
): Promise<OperationResult> {
  const { cluster, store, catalog } = options;
  const to = options.to ?? cluster.version;
  if (!to) throw new UserError(`${cluster.file}: no target: pass --to VERSION or set version: in the file`);

  const lock = await acquireLock(store, null);
  try {
    const open = await store.unfinishedRun(cluster.name);
    if (open) throw openRunRefusal(open, to);

    const pool = options.driverFor ? undefined : new DriverPool(cluster.hosts);
    const driverFor = options.driverFor ?? (pool as DriverPool).driverFor;
    try {
      const seen = await observe(clusterMembers(cluster), driverFor, { health: false });
      if (seen.version === null) {
        const lines = seen.members.map(
          (m) => `${m.component}@${m.host}: ${m.version ?? `unknown (${m.error})`}`,
        );
        throw new RefusedError(
          `the members of ${cluster.name} do not all report one version, and no unfinished run explains it:\n  ${lines.join("\n  ")}`,
          "mixed-versions",
          "bring every member to one release by hand (or fix the version command), then run apply again",
        );
      }
      const path = planPath(catalog, seen.version, to);
      if (path.hops.length === 0) return NOTHING_CHANGED(`${cluster.name} runs ${to} already; nothing to do`);
      const plan = buildPlan(cluster, path);
      const count = [...planSteps(plan)].length;
      const question = `Upgrade ${cluster.name} from ${path.from} to ${path.to} through ${path.path.join(" → ")} (${count} steps)?`;
      if (options.confirm && !(await options.confirm(question))) {
        return NOTHING_CHANGED("cancelled; nothing was changed");
      }
      const runId = newRunId();
      await store.createRun(
        {
          id: runId,
          cluster: cluster.name,
          from: path.from,
          to: path.to,
          path: path.path,
          status: "running",
          startedAt: Date.now(),
          startedBy: `${userInfo().username}@${hostname()}`,
          plan,
          files: { cluster: cluster.text, catalog: readFileSync(cluster.catalog, "utf8") },
        },
        [...planSteps(plan)].map(({ step }) => step.id),
      );
      await lock.setRun(runId);
      return await drive(options, lock, runId, plan, driverFor, "done", (e) => e.forward());
    } finally {
      await pool?.close();
    }
  } finally {
    await lock.release();
  }
}

/** `ferry resume`: finish the unfinished run with the plan it started with (or finish its rollback). */
export async function resume(options: OperationOptions): Promise<OperationResult> {
  return withOpenRun(options, "resume", async (run, lock, driverFor) => {
    const steps = await options.store.steps(run.id);
    const done = steps.filter((s) => s.state === "done").length;
    const rollingBack = run.status === "rolling-back" || run.status === "failed";
    const question = rollingBack
      ? `Run ${run.id} was rolling back (${run.status}). Finish the rollback?`
      : `Resume run ${run.id} (${run.from} → ${run.to}, ${run.status}, ${done} of ${steps.length} steps done)?`;
    if (options.confirm && !(await options.confirm(question)))
      return NOTHING_CHANGED("cancelled; nothing was changed");
    return drive(
      options,
      lock,
      run.id,
      run.plan as Plan,
      driverFor,
      rollingBack ? "rolled-back" : "done",
      (e) => (rollingBack ? e.rollback(run.error ?? "resumed rollback") : e.forward()),
    );
  });
}

/** `ferry rollback`: undo the unfinished run's current hop, unless it is past its point of no return. */
export async function rollback(options: OperationOptions): Promise<OperationResult> {
  return withOpenRun(options, "rollback", async (run, lock, driverFor) => {
    if (
      options.confirm &&
      !(await options.confirm(`Roll back run ${run.id} (${run.from} → ${run.to}, ${run.status})?`))
    ) {
      return NOTHING_CHANGED("cancelled; nothing was changed");
    }
    return drive(options, lock, run.id, run.plan as Plan, driverFor, "rolled-back", (e) =>
      e.rollback("rollback requested"),
    );
  });
}

async function withOpenRun(
  options: OperationOptions,
  verb: string,
  body: (run: RunRecord, lock: HeldLock, driverFor: DriverFor) => Promise<OperationResult>,
): Promise<OperationResult> {
  const { cluster, store } = options;
  const lock = await acquireLock(store, null);
  try {
    const run = await store.unfinishedRun(cluster.name);
    if (!run) {
      throw new RefusedError(
        `${cluster.name} has no unfinished run to ${verb}`,
        "no-open-run",
        "start one with `ferry apply`",
      );
    }
    await lock.setRun(run.id);
    // The run's own plan names its hosts: a rollback uses the definition in force when it started.
    const plan = run.plan as Plan;
    const pool = options.driverFor ? undefined : new DriverPool(plan.hosts);
    try {
      return await body(run, lock, options.driverFor ?? (pool as DriverPool).driverFor);
    } finally {
      await pool?.close();
    }
  } finally {
    await lock.release();
  }
}

async function drive(
  options: OperationOptions,
  lock: HeldLock,
  runId: string,
  plan: Plan,
  driverFor: DriverFor,
  goal: RunOutcome["status"],
  go: (e: Executor) => Promise<RunOutcome>,
): Promise<OperationResult> {
  const executor = new Executor({
    store: options.store,
    runId,
    plan,
    driverFor,
    onFailure: options.cluster.onFailure,
    events: options.events ?? new RunEvents(),
    faults: options.faults ?? faultsFromEnv(),
  });
  let interrupted = false;
  const onInterrupt = () => {
    interrupted = true;
    const what = executor.interrupt();
    executor.events.emit({
      type: "note",
      runId,
      message: `interrupted: ${what} (the steps in flight finish first)`,
    });
  };
  if (options.interrupt?.aborted) onInterrupt();
  options.interrupt?.addEventListener("abort", onInterrupt, { once: true });
  lock.onLost(() => executor.lockLost());
  try {
    const outcome = await go(executor);
    return { ...outcome, runId, succeeded: outcome.status === goal, interrupted };
  } finally {
    options.interrupt?.removeEventListener("abort", onInterrupt);
  }
}

function openRunRefusal(open: RunRecord, to: string): RefusedError {
  const what = `run ${open.id} (${open.from} → ${open.to}, ${open.status}) is unfinished`;
  return open.to === to
    ? new RefusedError(
        `${what}`,
        "open-run",
        "use `ferry resume` to finish it, or `ferry rollback` to undo it",
      )
    : new RefusedError(
        `${what}; a run to ${to} cannot start before it ends`,
        "open-run",
        "finish it with `ferry resume` or undo it with `ferry rollback` first",
      );
}

/** Sortable and unique enough: 20261121T013900Z-3fa2. */
function newRunId(): string {
  const stamp = new Date()
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
  return `${stamp}-${randomBytes(2).toString("hex")}`;
}
