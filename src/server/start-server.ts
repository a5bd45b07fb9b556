/**
 * `ferry serve`: the API and the dashboard on one port, a live feed of every run (those started
 * here through the executor's events, the others through the state store), and metrics. Reads
 * share one look at the hosts, taken at most every 2 s, and again (in turn) after a run moves.
 */

import type { Catalog } from "../catalog/index.js";
import type { Cluster } from "../cluster/cluster.js";
import { EXIT_BUDGET_MS, Notifier } from "../notify/index.js";
import { RunEvents } from "../run/events.js";
import { whoStarted } from "../run/upgrade.js";
import type { StateStore } from "../store/state-store.js";
import { allowedHosts } from "./allowed-hosts.js";
import { createApi } from "./api.js";
import { listen } from "./listen.js";
import { StepDurations } from "./metrics.js";
import { observeHosts } from "./observe-hosts.js";
import { RunLauncher } from "./run-launcher.js";
import { SharedRound } from "./shared-round.js";
import { watchStore } from "./store-watcher.js";

export interface ServerOptions {
  readonly cluster: Cluster;
  readonly catalog: Catalog;
  readonly store: StateStore;
  /** What POST calls must send as `Authorization: Bearer <token>`. */
  readonly token: string;
  /** Default 127.0.0.1: only this machine. */
  readonly host?: string;
  /**
   * Names the server answers to in a request's `Host` besides `host` and loopback (`localhost`,
   * 127.0.0.1, [::1]); any other is refused with 403, against DNS rebinding.
   */
  readonly allowedHosts?: readonly string[];
  /** 0 picks a free port. */
  readonly port: number;
  /** How often the state store is read for runs of other processes; default 500 ms. */
  readonly watchMs?: number;
  /** Where problems of background runs and store reads are reported. */
  readonly report?: (message: string) => void;
}

export interface RunningServer {
  /** `http://127.0.0.1:7070/` */
  readonly url: string;
  readonly port: number;
  /** Every run event the server sees, its own and the store's. */
  readonly feed: RunEvents;
  /** Runs started here and still going. */
  readonly running: () => number;
  /** Stops listening, ends the event streams, interrupts the runs started here and waits for them. */
  close(): Promise<void>;
}

/** How often at most reads ask the hosts (README: "at most one every 2 s"). */
const OBSERVE_EVERY_MS = 2000;

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const { cluster, catalog, store, token } = options;
  const host = options.host ?? "127.0.0.1";
  const names = allowedHosts(host, options.allowedHosts);
  const feed = new RunEvents();
  const durations = new StepDurations();
  feed.on(durations.listener);
  const hosts = new SharedRound(() => observeHosts(cluster), { everyMs: OBSERVE_EVERY_MS });
  // A step that moved may have stopped, switched or started a member: look again before answering.
  feed.on((event) => {
    if (event.type === "start" || event.type === "step" || event.type === "run") hosts.invalidate();
  });
  const launcher = new RunLauncher({
    cluster,
    catalog,
    store,
    feed,
    ...(options.report ? { report: options.report } : {}),
  });
  // The runs started here are notified as the CLI's are; pending deliveries go out while it serves.
  const notifier = new Notifier({
    store,
    cluster: cluster.name,
    receivers: cluster.notify,
    who: whoStarted(),
    ...(options.report ? { warn: (m: string) => options.report?.(`notify: ${m}`) } : {}),
  });
  const stopNotifying = notifier.listen(feed, (runId) => launcher.isLocal(runId));
  await notifier
    .catchUp()
    .catch((err: unknown) => options.report?.(`notify: cannot catch up with the journal: ${String(err)}`));
  const closing = new AbortController();
  const app = createApi({
    cluster,
    catalog,
    store,
    token,
    allowedHosts: names,
    hosts,
    feed,
    launcher,
    durations,
    closing: closing.signal,
  });

  const { server, port } = await listen(app, host, options.port);
  const stopWatching = watchStore({
    store,
    cluster: cluster.name,
    feed,
    isLocal: (runId) => launcher.isLocal(runId),
    ...(options.watchMs ? { intervalMs: options.watchMs } : {}),
    onError: (err) => options.report?.(`reading the state store: ${(err as Error).message}`),
  });
  const shown = host.includes(":") ? `[${host}]` : host;

  return {
    url: `http://${shown}:${port}/`,
    port,
    feed,
    running: () => launcher.running,
    async close() {
      stopWatching();
      closing.abort();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await launcher.close();
      stopNotifying();
      const left = await notifier.close(EXIT_BUDGET_MS).catch(() => undefined);
      for (const { webhook, count, error } of left?.left ?? [])
        options.report?.(
          `notify: ${count} event(s) for ${webhook} not delivered${error ? ` (${error})` : ""}`,
        );
      // Event streams and keep-alive connections would hold close() open.
      if ("closeAllConnections" in server) server.closeAllConnections();
      await closed;
    },
  };
}
