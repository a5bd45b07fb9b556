/**
 * How a worker runs one claimed cluster: through the same operations as `ferry apply` and `ferry
 * resume` (src/run/upgrade.ts), with the cluster's own state store, journal, lock and gates.
 *
 * The cluster and its catalog are read from the copies kept with the fleet run, so a worker on a
 * machine without the files runs it; the copies' passwords are masked (no password is ever kept in
 * the store), so a `state:` URL without one takes the worker's own store credentials when it names
 * the same server and user, else PGPASSWORD as pg reads it.
 *
 * A cluster whose journal has an unfinished run is resumed (a lapsed claim taken over: the run of a
 * worker that died), with a note in its history saying who took it over from whom; otherwise it is
 * applied to the fleet's target, which does nothing on a cluster already there.
 */
import { parseCatalog } from "../catalog/catalog.js";
import { type Cluster, parseCluster } from "../cluster/cluster.js";
import { RunEvents } from "../run/events.js";
import type { DriverFor } from "../run/observe.js";
import { apply, type OperationResult, resume } from "../run/upgrade.js";
import { openStateStore } from "../store/open-store.js";
import type { StateStore } from "../store/state-store.js";
import type { ClaimedClusterRun } from "./fleet-store.js";
import type { ClusterRunContext, RunCluster } from "./worker.js";

export interface ClusterRunnerOptions {
  /** The worker's store URL, whose credentials a masked `state:` of the same server takes. */
  readonly workerState?: string;
  /** Who the worker is, for the takeover note. */
  readonly workerId: string;
  /** Where commands run; default each host's own driver (the benchmark gives the in-memory one). */
  readonly driverFor?: (cluster: Cluster) => DriverFor;
  /** Around each run, with the run's events (the CLI adds notifications and a log line per run). */
  readonly around?: (
    cluster: Cluster,
    store: StateStore,
    body: (events: RunEvents) => Promise<OperationResult>,
  ) => Promise<OperationResult>;
  /** Opens a cluster's state store; default openStateStore, one per run (StoreCache shares them). */
  readonly stores?: StoreOpener;
}

export interface StoreOpener {
  open(cluster: Cluster): Promise<StateStore>;
  release(store: StateStore): Promise<void>;
}

/** Opens a store per run and closes it after. */
export const storePerRun: StoreOpener = {
  open: (cluster) => openStateStore(cluster.state, cluster.dir),
  release: (store) => store.close(),
};

/**
 * Shares one open store between the runs that name the same location (clusters sharing the fleet's
 * store), closing it once the last of them ends, so a worker holds no idle pools between claims.
 */
export class StoreCache implements StoreOpener {
  private readonly open_ = new Map<string, { store: Promise<StateStore>; users: number }>();
  private readonly keyOf = new Map<StateStore, string>();

  async open(cluster: Cluster): Promise<StateStore> {
    const key = `${cluster.dir}\u0000${cluster.state}`;
    let entry = this.open_.get(key);
    if (!entry) {
      entry = { store: openStateStore(cluster.state, cluster.dir), users: 0 };
      this.open_.set(key, entry);
    }
    entry.users++;
    try {
      const store = await entry.store;
      this.keyOf.set(store, key);
      return store;
    } catch (err) {
      entry.users--;
      if (this.open_.get(key) === entry) this.open_.delete(key);
      throw err;
    }
  }

  async release(store: StateStore): Promise<void> {
    const key = this.keyOf.get(store);
    const entry = key === undefined ? undefined : this.open_.get(key);
    if (!entry || key === undefined) return store.close();
    entry.users--;
    if (entry.users > 0) return;
    this.open_.delete(key);
    this.keyOf.delete(store);
    await store.close();
  }
}

/** A masked password in a `state:` URL, filled from the worker's own URL when it names the same server and user. */
export function withStateCredentials(state: string, workerState: string | undefined): string {
  if (!/^postgres(ql)?:\/\//i.test(state)) return state;
  let url: URL;
  try {
    url = new URL(state);
  } catch {
    return state;
  }
  if (decodeURIComponent(url.password) !== "***") return state;
  let own: URL | undefined;
  try {
    own = workerState ? new URL(workerState) : undefined;
  } catch {
    own = undefined;
  }
  url.password = own && own.host === url.host && own.username === url.username ? own.password : "";
  return url.toString();
}

export function clusterRunner(options: ClusterRunnerOptions): RunCluster {
  const stores = options.stores ?? storePerRun;
  // A claim retried while the dead worker's lock lapses is noted once.
  const noted = new WeakSet<ClaimedClusterRun>();
  return async (claim: ClaimedClusterRun, ctx: ClusterRunContext) => {
    const parsed = parseCluster(claim.file, claim.clusterText);
    const cluster: Cluster = { ...parsed, state: withStateCredentials(parsed.state, options.workerState) };
    const catalog = parseCatalog(claim.catalogFile, claim.catalogText);
    const store = await stores.open(cluster);
    try {
      const body = async (events: RunEvents) => {
        let marked = false;
        events.on((e) => {
          if (e.type === "start" && !marked) {
            marked = true;
            ctx.markRunning(e.runId, e.plan.from ?? null);
          }
        });
        const common = {
          cluster,
          store,
          events,
          interrupt: ctx.interrupt,
          stop: ctx.stop,
          ...(options.driverFor ? { driverFor: options.driverFor(cluster) } : {}),
        };
        const open = await store.unfinishedRun(cluster.name);
        if (open && !noted.has(claim)) {
          noted.add(claim);
          const from = claim.tookOverFrom
            ? `worker ${claim.tookOverFrom}, whose claim lapsed`
            : "an earlier worker";
          await store.addNote(open.id, {
            at: Date.now(),
            by: options.workerId,
            kind: "fleet-takeover",
            text: `fleet run ${claim.fleetRunId}: worker ${options.workerId} resumes this run, taken over from ${from}`,
          });
        }
        if (open) return resume(common);
        return apply({
          ...common,
          catalog,
          to: claim.target,
          startedBy: `fleet ${claim.fleetRunId} (${options.workerId})`,
        });
      };
      return options.around ? await options.around(cluster, store, body) : await body(new RunEvents());
    } finally {
      await stores.release(store);
    }
  };
}
