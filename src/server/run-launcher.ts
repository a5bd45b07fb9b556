/**
 * Runs that the API starts in this process: `apply`, `resume` and `rollback`, the same library
 * functions the CLI calls (with --yes). A call returns as soon as the run is under way (its first
 * event names it) or has ended without starting (refused, nothing to do); the run goes on in the
 * background, its events fed to the server's feed. Closing the server interrupts them: back before
 * the point of no return, stopped resumable after it once the steps in flight finish (a server
 * going down does not carry a hop to its end, as SIGINT does a CLI run).
 */
import type { Catalog } from "../catalog/index.js";
import type { Cluster } from "../cluster/cluster.js";
import { RunEvents } from "../run/events.js";
import { apply, type OperationResult, resume, rollback } from "../run/upgrade.js";
import type { StateStore } from "../store/state-store.js";

export interface LauncherContext {
  readonly cluster: Cluster;
  readonly catalog: Catalog;
  readonly store: StateStore;
  /** Every event of every run started here. */
  readonly feed: RunEvents;
  /** Where a run that fails in the background is reported (it has no caller left to tell). */
  readonly report?: (message: string) => void;
}

export type Launch =
  | { readonly started: true; readonly runId: string }
  | { readonly started: false; readonly result: OperationResult };

export type LaunchRequest =
  /** acceptWarnings: the client accepts the path's release warnings (without it, they refuse the run). */
  | { readonly op: "apply"; readonly to: string; readonly acceptWarnings?: boolean }
  | { readonly op: "resume" }
  | { readonly op: "rollback" };

export class RunLauncher {
  readonly #ctx: LauncherContext;
  readonly #inFlight = new Set<{ abort: AbortController; done: Promise<unknown> }>();
  /** Every run driven here, running or ended: their events came from the executor, not the store. */
  readonly #local = new Set<string>();

  constructor(ctx: LauncherContext) {
    this.#ctx = ctx;
  }

  isLocal(runId: string): boolean {
    return this.#local.has(runId);
  }

  /** Starts the operation; rejects with its error when it fails before the run is under way. */
  async launch(request: LaunchRequest): Promise<Launch> {
    const { cluster, catalog, store, feed } = this.#ctx;
    const events = new RunEvents();
    const abort = new AbortController();
    let named: (runId: string) => void = () => {};
    const underWay = new Promise<string>((resolve) => {
      named = resolve;
    });
    events.on((event) => {
      this.#local.add(event.runId);
      named(event.runId);
      feed.emit(event);
    });
    const options = {
      cluster,
      store,
      events,
      interrupt: abort.signal,
      interruptPastPointOfNoReturn: "stop" as const,
    };
    const operation =
      request.op === "apply"
        ? apply({ ...options, catalog, to: request.to, acceptWarnings: request.acceptWarnings === true })
        : request.op === "resume"
          ? resume(options)
          : rollback(options);
    const entry = { abort, done: operation.catch(() => {}) };
    this.#inFlight.add(entry);
    void entry.done.finally(() => this.#inFlight.delete(entry));

    const first = await Promise.race([
      underWay.then((runId) => ({ started: true, runId }) as const),
      operation.then((result) => ({ started: false, result }) as const),
    ]);
    if (first.started) {
      operation.then(
        (result) => {
          if (!result.succeeded) this.#ctx.report?.(`run ${first.runId}: ${result.message}`);
        },
        (err: unknown) => this.#ctx.report?.(`run ${first.runId}: ${(err as Error).message}`),
      );
    }
    return first;
  }

  /** Interrupts every run started here and waits for each to stop. */
  async close(): Promise<void> {
    const all = [...this.#inFlight];
    for (const entry of all) entry.abort.abort();
    await Promise.all(all.map((entry) => entry.done));
  }

  /** Waits, at most `ms`, for the runs started here to settle: a paused one releases its lock as it ends. */
  async settled(ms: number): Promise<void> {
    const all = [...this.#inFlight].map((entry) => entry.done.catch(() => {}));
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    });
    await Promise.race([Promise.all(all), limit]);
    clearTimeout(timer);
  }

  get running(): number {
    return this.#inFlight.size;
  }
}
