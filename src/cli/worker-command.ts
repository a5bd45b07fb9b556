/**
 * `ferry worker --state postgres://… [--concurrency N]`: claims cluster runs of every fleet run in
 * that store and runs each with the ordinary executor, until SIGINT/SIGTERM. The first signal stops
 * claiming and interrupts the runs in flight as ferry's signals do (roll back before the point of
 * no return, else finish the hop); their clusters are given back to the fleet. A second finishes
 * the steps in flight and stops them, resumable. Exit 130 once they have settled.
 */
import type { Command } from "commander";
import {
  clusterRunner,
  ExitCode,
  forTerminal,
  newWorkerId,
  openFleetStore,
  type RunCluster,
  runWorker,
  StoreCache,
  UserError,
  type WorkerSummary,
} from "../index.js";
import { withNotifications } from "./notifications.js";

interface Flags {
  state: string;
  concurrency: string;
}

export function registerWorkerCommand(program: Command, setExit: (code: ExitCode) => void): void {
  program
    .command("worker")
    .description("claim cluster runs of the fleet runs in a shared store and run them, until interrupted")
    .requiredOption("--state <url>", "the fleet's state store (postgres://…), as its fleet file's `state:`")
    .option("--concurrency <n>", "cluster runs at once on this worker", "4")
    .action(async (flags: Flags) => {
      const concurrency = positiveInt(flags.concurrency, "--concurrency");
      const store = await openFleetStore(flags.state);
      const id = newWorkerId();
      const line = (text: string) =>
        process.stdout.write(`${new Date().toISOString()} ${forTerminal(text)}\n`);
      line(`worker ${id}: claiming cluster runs, ${concurrency} at once`);
      try {
        const summary = await withWorkerSignals(line, (interrupt, stop) =>
          runWorker({
            store,
            id,
            concurrency,
            runCluster: workerRunner(id, flags.state),
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
    });
}

/** The ordinary executor path, with the cluster's notifications, sharing open state stores between runs. */
export function workerRunner(id: string, state: string): RunCluster {
  return clusterRunner({
    workerId: id,
    workerState: state,
    stores: new StoreCache(),
    around: withNotifications,
  });
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
