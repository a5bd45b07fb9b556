/**
 * `ferry worker --state postgres://…|fleet.db [--concurrency N]`: claims cluster runs of every fleet run in
 * that store and runs each with the ordinary executor, until SIGINT/SIGTERM. The first signal stops
 * claiming and interrupts the runs in flight as ferry's signals do (roll back before the point of
 * no return, else finish the hop); their clusters are given back to the fleet. A second finishes
 * the steps in flight and stops them, resumable. Exit 130 once they have settled.
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import {
  attachRunLog,
  type Cluster,
  clusterRunner,
  ExitCode,
  forTerminal,
  newWorkerId,
  openFleetStore,
  type RunCluster,
  runWorker,
  StoreCache,
  stateFolder,
  UserError,
  type WorkerSummary,
} from "../index.js";
import { withNotifications } from "./notifications.js";
import type { SetExit } from "./program.js";

export interface WorkerFlags {
  state: string;
  concurrency: string;
  logs: string;
}

export async function workerCommand(flags: WorkerFlags, setExit: SetExit): Promise<void> {
  const concurrency = positiveInt(flags.concurrency, "--concurrency");
  // A connection per run in flight (its outcome), one to claim and one to renew.
  const store = await openFleetStore(flags.state, { poolSize: concurrency + 2 });
  const id = newWorkerId();
  const line = (text: string) => process.stdout.write(`${new Date().toISOString()} ${forTerminal(text)}\n`);
  line(`worker ${id}: claiming cluster runs, ${concurrency} at once`);
  try {
    const summary = await withWorkerSignals(line, (interrupt, stop) =>
      runWorker({
        store,
        id,
        concurrency,
        runCluster: workerRunner(id, flags.state, resolve(flags.logs)),
        interrupt,
        stop,
        log: line,
      }),
    );
    line(`worker ${id}: stopped after ${summary.claimed} claim(s)`);
    setExit(ExitCode.interrupted);
  } finally {
    await store.close();
  }
}

/**
 * The ordinary executor path, with the cluster's notifications and its per-run log, sharing open
 * state stores between runs. The log goes where `ferry apply` would write it (the cluster's state
 * folder) when the cluster's folder is on this machine, else under `logs/<cluster>/`.
 */
export function workerRunner(id: string, state: string, logs: string): RunCluster {
  return clusterRunner({
    workerId: id,
    workerState: state,
    stores: new StoreCache(),
    around: (cluster, store, body) =>
      withNotifications(cluster, store, async (events) => {
        const log = attachRunLog(events, runLogFolder(cluster, logs));
        try {
          return await body(events);
        } finally {
          log.close();
        }
      }),
  });
}

/** Where a worker writes a cluster's run logs (see workerRunner). */
export function runLogFolder(cluster: Cluster, logs: string): string {
  return existsSync(cluster.dir) ? stateFolder(cluster) : join(logs, cluster.name);
}

/** SIGINT/SIGTERM: the first interrupts, the second stops (see the module's comment). */
export async function withWorkerSignals(
  line: (text: string) => void,
  body: (interrupt: AbortSignal, stop: AbortSignal) => Promise<WorkerSummary>,
): Promise<WorkerSummary> {
  const interrupt = new AbortController();
  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (!interrupt.signal.aborted) {
      line(`${signal}: no new claim; the runs in flight are interrupted, and their clusters given back`);
      interrupt.abort();
    } else if (!stop.signal.aborted) {
      line(`${signal} again: finishing the steps in flight, then stopping, resumable`);
      stop.abort();
    }
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    return await body(interrupt.signal, stop.signal);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

export function positiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UserError(`${flag} ${value}: give a whole number, 1 or more`);
  return n;
}
