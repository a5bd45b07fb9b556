/**
 * The operations behind `ferry apply`, `resume` and `rollback`: take the lock, observe or reload
 * the run, ask for confirmation, drive the executor, let the lock go. The CLI renders; this decides.
 */
import { hostname, userInfo } from "node:os";
import { join } from "node:path";
import { type Catalog, type PathHop, planPath } from "../catalog/index.js";
import { type Cluster, checkVersionInCatalog, onlineHosts, stateFolder } from "../cluster/cluster.js";
import { DriverPool, type HostRef } from "../drivers/driver-pool.js";
import { RefusedError, UserError } from "../errors.js";
import { DatabaseMigrations, migrationsFor } from "../migrate/plan-migrations.js";
import { buildPlan, clusterMembers } from "../plan/build-plan.js";
import { type Plan, phaseSteps, planSteps } from "../plan/plan.js";
import type { RunRecord, StateStore } from "../store/state-store.js";
import { yamlWithoutPasswords } from "../yaml-file.js";
import { RunEvents } from "./events.js";
import { Executor, type ExecutorOptions, type RunOutcome } from "./executor.js";
import { type Faults, NO_FAULTS } from "./faults.js";
import { acquireLock, describeHolder, type HeldLock } from "./lock.js";
import { type DriverFor, observe, observeActives, requireOneVersion } from "./observe.js";
import { acceptReleaseWarnings, describeAcceptance, type WarningOptions } from "./release-warnings.js";
import { newRunId } from "./run-id.js";

export interface OperationOptions {
  readonly cluster: Cluster;
  readonly store: StateStore;
  /** Where commands run; defaults to the plan's hosts through their drivers. */
  readonly driverFor?: DriverFor;
  /**
   * The drivers of the cluster's online hosts, already dialling (`ferry apply` starts the
   * handshakes before it opens the journal, so that both go on at once); closed with the
   * operation's end. Default: a pool of the operation's own.
   */
  readonly pool?: DriverPool;
  readonly events?: RunEvents;
  /** Fault injection for the crash tests (`faultAt`); none by default. */
  readonly faults?: Faults;
  /** Asked before anything changes; false cancels. Absent: go ahead (--yes). */
  readonly confirm?: (question: string) => Promise<boolean>;
  /**
   * Aborting it asks the run to stop the way SIGINT does: before the point of no return it rolls
   * back; after it, see `interruptPastPointOfNoReturn`.
   */
  readonly interrupt?: AbortSignal;
  /**
   * What an interrupt does past the point of no return: `finish-hop` (the default; SIGINT/SIGTERM,
   * as Ganeti) carries the hop to its end and stops before the next (done after the last);
   * `stop` (`ferry serve` going down) stops once the steps in flight finish, resumable.
   */
  readonly interruptPastPointOfNoReturn?: "finish-hop" | "stop";
  /**
   * Aborting it (a second SIGINT) stops the run once the steps in flight finish, resumable, with
   * nothing more undone: a rollback under way is left for `ferry resume` or `ferry rollback`.
   */
  readonly stop?: AbortSignal;
}

export interface OperationResult extends RunOutcome {
  readonly runId: string | null;
  /** Whether the operation reached the end it was asked for (a rollback's end is rolled-back). */
  readonly succeeded: boolean;
  readonly interrupted: boolean;
  /** A preflight step failed: a precondition did not hold, and the hop changed nothing (exit 3). */
  readonly refused?: boolean;
}

const nothingChanged = (message: string, succeeded = true, interrupted = false): OperationResult => ({
  runId: null,
  status: "done",
  reason: "completed",
  message,
  succeeded,
  interrupted,
});

/** Declining at the prompt is not success: like `terraform apply` answered no, it exits 1. */
export const cancelled = (): OperationResult => nothingChanged("cancelled; nothing was changed", false);

/** The version `apply` or `plan` goes to: --to, else the file's `version`. */
export function targetOf(cluster: Cluster, to: string | undefined): string {
  const target = to ?? cluster.version;
  if (!target)
    throw new UserError(`${cluster.file}: no target: pass --to VERSION or set version: in the file`);
  return target;
}

/**
 * Who starts a run, for `ferry history`: FERRY_USER when set (a CI job or a bastion shared by a
 * team names the person), else the OS user at this machine's hostname.
 */
export function whoStarted(env: NodeJS.ProcessEnv = process.env): string {
  const named = env.FERRY_USER?.trim();
  if (named) return named;
  let user: string;
  try {
    user = userInfo().username;
  } catch {
    // A container may run under a uid with no passwd entry.
    user = env.USER || env.LOGNAME || `uid ${process.getuid?.() ?? "?"}`;
  }
  return `${user}@${hostname()}`;
}

/**
 * `ferry apply`: observe, plan, show the release notes, have the warnings accepted, confirm, and
 * run an upgrade to `to` (or the file's `version`).
 */
export async function apply(
  options: OperationOptions &
    WarningOptions & {
      readonly catalog: Catalog;
      readonly to?: string;
      /** Recorded with the run; default whoStarted(). */
      readonly startedBy?: string;
      /** Shown the path's hops, with their release notes and warnings, before anything is asked. */
      readonly showReleaseNotes?: (hops: readonly PathHop[]) => void;
    },
): Promise<OperationResult> {
  const { cluster, store, catalog } = options;
  const to = targetOf(cluster, options.to);
  if (options.to === undefined) checkVersionInCatalog(cluster, catalog);
  return withLockAndDrivers(options, onlineHosts(cluster), async (lock, driverFor) => {
    const open = await store.unfinishedRun(cluster.name);
    if (open) throw openRunRefusal(open, to);

    const stopped = beforeRun(options);
    // Health too: the first hop's preflight asks both, and takes this answer instead of asking again.
    const seen = await observe(clusterMembers(cluster), driverFor, {
      health: true,
      ...(stopped ? { signal: stopped } : {}),
    });
    if (stopped?.aborted) return nothingChanged("interrupted before anything changed", false, true);
    const from = requireOneVersion(
      seen,
      cluster.name,
      "bring every member to one release by hand, then run apply again",
      catalog,
    );
    const path = planPath(catalog, from, to);
    if (path.hops.length === 0) return nothingChanged(`${cluster.name} runs ${to} already; nothing to do`);
    const actives = await observeActives(cluster, driverFor);
    const plan = buildPlan(cluster, path, migrationsFor(cluster.database, catalog), actives);
    const stepIds = [...planSteps(plan)].map(({ step }) => step.id);
    const left = plan.offline.length > 0 ? `; left out, offline: ${plan.offline.join(", ")}` : "";
    const question = `Upgrade ${cluster.name} from ${path.from} to ${path.to} through ${path.path.join(" → ")} (${stepIds.length} steps${left})?`;
    const startedBy = options.startedBy ?? whoStarted();
    options.showReleaseNotes?.(path.hops);
    const acceptedWarnings = await acceptReleaseWarnings(path.hops, options, startedBy);
    if (options.interrupt?.aborted) return nothingChanged("interrupted before anything changed", false, true);
    if (options.confirm && !(await options.confirm(question))) return cancelled();
    if (stopped?.aborted) return nothingChanged("interrupted before anything changed", false, true);

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
        startedBy,
        acceptedWarnings,
        plan,
        // Kept to be read, never to run from: resume takes state: and database: from the live file,
        // so no password need be kept (and none may be: the journal is shared and backed up).
        files: {
          cluster: yamlWithoutPasswords(cluster.text),
          catalog: yamlWithoutPasswords(catalog.text ?? ""),
        },
      },
      stepIds,
    );
    await lock.setRun(runId);
    // An answer a person took a while to give leaves the observation stale: the preflight asks again.
    const asked = options.confirm !== undefined || acceptedWarnings?.how === "prompt";
    const preflight = asked ? undefined : firstPreflightObserving(plan, path.from);
    return drive(options, lock, runId, plan, driverFor, "done", (e) => e.forward(), {
      ...(preflight ? { observedAtStart: { step: preflight, observation: seen } } : {}),
    });
  });
}

/** The first hop's step that asks every member its version and health (`cluster-is`), if any. */
function firstPreflightObserving(plan: Plan, from: string): string | undefined {
  const phase = plan.hops[0]?.phases.find((p) => p.name === "preflight");
  if (!phase) return undefined;
  return phaseSteps(phase).find((s) =>
    s.run.some((a) => a.type === "cluster-is" && a.version === from && a.healthy),
  )?.id;
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
    if (options.confirm && !(await options.confirm(question))) return cancelled();
    // The warnings were accepted when the run started: say so, and do not ask again.
    if (run.acceptedWarnings)
      options.events?.emit({
        type: "note",
        runId: run.id,
        message: describeAcceptance(run.acceptedWarnings),
      });
    const plan = run.plan as Plan;
    return rollingBack
      ? drive(options, lock, run.id, plan, driverFor, "rolled-back", (e) => e.rollback("rollback resumed"))
      : drive(options, lock, run.id, plan, driverFor, "done", (e) => e.forward());
  });
}

/** `ferry rollback`: undo the unfinished run's current hop, unless it is past its point of no return. */
export async function rollback(options: OperationOptions): Promise<OperationResult> {
  return withOpenRun(options, "rollback", async (run, lock, driverFor) => {
    const question = `Roll back run ${run.id} (${run.from} → ${run.to}, ${run.status})?`;
    if (options.confirm && !(await options.confirm(question))) return cancelled();
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
  // Only to name the run; its own plan, not the file as it is now, says which hosts it touches.
  const run = await store.unfinishedRun(cluster.name);
  if (!run) {
    throw new RefusedError(
      `${cluster.name} has no unfinished run to ${verb}`,
      "no-open-run",
      "start one with `ferry apply`",
    );
  }
  const hosts = reachHosts((run.plan as Plan).hosts, cluster.hosts);
  return withLockAndDrivers(options, hosts, async (lock, driverFor) => {
    const current = await store.unfinishedRun(cluster.name);
    if (current?.id !== run.id) {
      throw new RefusedError(
        `run ${run.id} changed hands while ferry took the lock`,
        "no-open-run",
        "look at `ferry status`",
      );
    }
    await lock.setRun(run.id);
    // A pause asked for before this resume or rollback is answered by it: it must not stop the run again.
    await store.clearPause(run.id);
    return body(current, lock, driverFor);
  });
}

/**
 * Holds the lock and one driver per host for the length of `body`, and lets both go whatever
 * happens; a failure to let go is reported as a warning, never in place of the outcome.
 */
export async function withLockAndDrivers(
  options: OperationOptions,
  hosts: readonly HostRef[],
  body: (lock: HeldLock, driverFor: DriverFor) => Promise<OperationResult>,
): Promise<OperationResult> {
  const localStore = !/^postgres(ql)?:\/\//i.test(options.cluster.state);
  const pool = options.driverFor ? undefined : (options.pool ?? new DriverPool(hosts));
  // The hosts are dialled while the lock is taken: logging in runs nothing on a host, and the
  // handshakes are most of an apply's start. A lock refused still wins over an unreachable host.
  const [locked, connected] = await Promise.allSettled([
    acquireLock(options.store, options.cluster.name, null, { localStore }),
    pool?.connectAll(),
  ]);
  const lock = locked.status === "fulfilled" ? locked.value : undefined;
  try {
    if (locked.status === "rejected") throw locked.reason;
    // Every SSH host's key is checked, and every host reached, before any command runs anywhere.
    if (connected.status === "rejected") throw connected.reason;
    return await body(lock as HeldLock, options.driverFor ?? (pool as DriverPool).driverFor);
  } finally {
    await pool?.close().catch((err) => process.emitWarning(`closing the drivers: ${(err as Error).message}`));
    await lock
      ?.release()
      .catch((err) => process.emitWarning(`releasing the lock: ${(err as Error).message}`));
  }
}

/**
 * The hosts a resumed run touches are its plan's; how to reach them (user, key, known_hosts,
 * timeouts) is taken from the cluster file as it is now when it still lists the host at the same
 * address with the same driver, so an operator can fix a key path and resume.
 */
export function reachHosts(planned: readonly HostRef[], now: readonly HostRef[]): HostRef[] {
  const current = new Map(now.map((h) => [h.name, h]));
  return planned.map((h) => {
    const c = current.get(h.name);
    return c && c.address === h.address && c.driver === h.driver
      ? { ...h, ...(c.ssh ? { ssh: c.ssh } : {}) }
      : h;
  });
}

async function drive(
  options: OperationOptions,
  lock: HeldLock,
  runId: string,
  plan: Plan,
  driverFor: DriverFor,
  goal: RunOutcome["status"],
  go: (e: Executor) => Promise<RunOutcome>,
  extra: Pick<ExecutorOptions, "observedAtStart"> = {},
): Promise<OperationResult> {
  const { cluster } = options;
  const faults = options.faults ?? NO_FAULTS;
  const { migrations, close: closeDatabase } = databaseOf(cluster, plan, runId, faults);
  const executor = new Executor({
    store: options.store,
    runId,
    plan,
    driverFor,
    ...(migrations ? { migrations } : {}),
    events: options.events ?? new RunEvents(),
    faults,
    lockToken: lock.claim.token,
    ...extra,
  });
  let interrupted = false;
  const onInterrupt = () => {
    interrupted = true;
    const what = executor.interrupt(options.interruptPastPointOfNoReturn);
    executor.events.emit({
      type: "note",
      runId,
      message: `interrupted: ${what}${what.startsWith("ignoring") ? "" : " (the steps in flight finish first)"}`,
    });
  };
  if (options.interrupt?.aborted) onInterrupt();
  options.interrupt?.addEventListener("abort", onInterrupt, { once: true });
  const onStop = () => {
    interrupted = true;
    executor.stop();
    executor.events.emit({
      type: "note",
      runId,
      message: "stopping: the steps in flight finish, then the run stops, resumable, undoing nothing more",
    });
  };
  if (options.stop?.aborted) onStop();
  options.stop?.addEventListener("abort", onStop, { once: true });
  lock.onLost(() => executor.lockLost());
  // Plans journaled before hosts could be offline have no list.
  const offline = plan.offline ?? [];
  if (offline.length > 0) {
    executor.events.emit({
      type: "note",
      runId,
      message: `left out, marked offline: ${offline.join(", ")}; bring them to the new release before they rejoin`,
    });
  }
  if (lock.tookOverFrom) {
    executor.events.emit({
      type: "note",
      runId,
      message: `took over the lock of ${describeHolder(lock.tookOverFrom)}, ${
        lock.tookOverBecause === "died"
          ? "which had died"
          : "whose lease had run out unrenewed (if it still runs somewhere, it can no longer write to the journal)"
      }`,
    });
  }
  try {
    const outcome = await go(executor);
    // An interrupt that came as the last step finished changed nothing: the run is done.
    return {
      ...outcome,
      runId,
      succeeded: outcome.status === goal,
      // A requested pause stops the run as an interrupt after the point of no return does: resumable, exit 130.
      interrupted: (interrupted && outcome.status !== "done") || outcome.reason === "paused",
      ...(refusedAtStart(plan, outcome) ? { refused: true } : {}),
    };
  } finally {
    options.interrupt?.removeEventListener("abort", onInterrupt);
    options.stop?.removeEventListener("abort", onStop);
    await closeDatabase();
  }
}

/** Before a run starts, either way of interrupting it stops what ferry is doing at once. */
function beforeRun(options: OperationOptions): AbortSignal | undefined {
  const signals = [options.interrupt, options.stop].filter((s) => s !== undefined);
  return signals.length <= 1 ? signals[0] : AbortSignal.any(signals);
}

function openRunRefusal(open: RunRecord, to: string): RefusedError {
  const what = `run ${open.id} (${open.from} → ${open.to}, ${open.status}) is unfinished`;
  return open.to === to
    ? new RefusedError(what, "open-run", "use `ferry resume` to finish it, or `ferry rollback` to undo it")
    : new RefusedError(
        `${what}; a run to ${to} cannot start before it ends`,
        "open-run",
        "finish it with `ferry resume` or undo it with `ferry rollback` first",
      );
}

/**
 * Whether the run failed in the first hop's preflight: a precondition did not hold and nothing
 * changed. A later hop's preflight fails after earlier hops changed the cluster: that is a failure.
 */
function refusedAtStart(plan: Plan, outcome: RunOutcome): boolean {
  const first = plan.hops[0]?.phases.find((p) => p.name === "preflight");
  const id = outcome.failed?.id;
  if (id === undefined) return false;
  return first !== undefined && phaseSteps(first).some((s) => s.id === id);
}

/**
 * The product's database for a run's steps: opened when a step first needs it and shared by the
 * rest (a failed opening is tried again by the next step); absent when the plan migrates nothing.
 */
export function databaseOf(
  cluster: Cluster,
  plan: Plan,
  runId: string,
  faults: Faults,
): { migrations?: () => Promise<DatabaseMigrations>; close: () => Promise<void> } {
  if (!plan.database || !cluster.database) return { close: async () => {} };
  const url = cluster.database;
  const { releases, files } = plan.database;
  let database: Promise<DatabaseMigrations> | undefined;
  return {
    migrations: () => {
      database ??= DatabaseMigrations.open({
        url,
        baseDir: cluster.dir,
        releases,
        files,
        baseline: plan.from,
        batch: cluster.migrations.batch,
        lockTimeoutMs: cluster.migrations.lockTimeoutMs,
        backupDir: join(stateFolder(cluster), "backups"),
        runId,
        faults,
      }).catch((err) => {
        database = undefined;
        throw err;
      });
      return database;
    },
    close: async () => {
      await database
        ?.then((d) => d.close())
        .catch((err) => process.emitWarning(`closing the database: ${(err as Error).message}`));
    },
  };
}
