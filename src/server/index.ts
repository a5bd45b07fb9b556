/** The HTTP API, the dashboard and the metrics of `ferry serve`. */
import type { RunningServer, ServerOptions } from "./start-server.js";

export { allowedHostProblem } from "./allowed-hosts.js";
export { checkBearer, generateToken, tokenProblem } from "./bearer-auth.js";
export type { RunningServer, ServerOptions };

/**
 * Starts the server; resolves once it listens.
 *
 * @example const server = await startServer({ cluster, catalog, store, token, port: 7070 })
 */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  // Loaded on use: every other command would otherwise pay for the HTTP server's packages at start.
  const { startServer: start } = await import("./start-server.js");
  return start(options);
}

/** Starts `ferry serve -f fleet.yaml`'s server; resolves once it listens. */
export async function startFleetServer(
  options: import("./start-fleet-server.js").FleetServerOptions,
): Promise<import("./start-fleet-server.js").RunningFleetServer> {
  const { startFleetServer: start } = await import("./start-fleet-server.js");
  return start(options);
}
