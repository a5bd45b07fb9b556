/**
 * `ferry serve -f fleet.yaml`: the fleet's API and dashboard (fleet-api.ts) on one port, reading
 * the fleet's store and, for a cluster's run, the cluster's own state store.
 */

import type { Fleet } from "../fleet/fleet-file.js";
import { openFleetStore } from "../fleet/open-fleet-store.js";
import { StoreCache } from "../fleet/run-cluster-run.js";
import type { StateStore } from "../store/state-store.js";
import { allowedHosts } from "./allowed-hosts.js";
import { createFleetApi } from "./fleet-api.js";
import { listen } from "./listen.js";

export interface FleetServerOptions {
  readonly fleet: Fleet;
  /** Default 127.0.0.1: only this machine. */
  readonly host?: string;
  readonly allowedHosts?: readonly string[];
  /** 0 picks a free port. */
  readonly port: number;
}

export interface RunningFleetServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function startFleetServer(options: FleetServerOptions): Promise<RunningFleetServer> {
  const { fleet } = options;
  const host = options.host ?? "127.0.0.1";
  const fleets = await openFleetStore(fleet.state, { dir: fleet.dir });
  // Clusters that share a state store share one open store; each opened on first look, kept till close.
  const cache = new StoreCache();
  const opened = new Map<string, Promise<StateStore>>();
  const app = createFleetApi({
    fleet,
    fleets,
    allowedHosts: allowedHosts(host, options.allowedHosts),
    storeOf: (cluster) => {
      let store = opened.get(cluster.name);
      if (!store) {
        store = cache.open(cluster);
        // A store that would not open is tried again on the next look.
        store.catch(() => opened.delete(cluster.name));
        opened.set(cluster.name, store);
      }
      return store;
    },
  });
  let listening: Awaited<ReturnType<typeof listen>>;
  try {
    listening = await listen(app, host, options.port);
  } catch (err) {
    await fleets.close();
    throw err;
  }
  const { server, port } = listening;
  const shown = host.includes(":") ? `[${host}]` : host;
  return {
    url: `http://${shown}:${port}/`,
    port,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      if ("closeAllConnections" in server) server.closeAllConnections();
      await closed;
      const stores = await Promise.allSettled(opened.values());
      for (const s of stores) if (s.status === "fulfilled") await cache.release(s.value);
      await fleets.close();
    },
  };
}
