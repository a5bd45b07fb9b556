/**
 * What most commands start from: the cluster file (-c), its catalog, and its state store; and the
 * operator's confirmation.
 */
import { createInterface } from "node:readline/promises";
import {
  type Catalog,
  type Cluster,
  checkVersionInCatalog,
  clusterMembers,
  type DriverFor,
  DriverPool,
  loadCatalog,
  loadCluster,
  observe,
  observeActives,
  onlineHosts,
  openStateStore,
  type PendingWarning,
  requireOneVersion,
  type StateStore,
  UserError,
} from "../index.js";
import { acceptanceQuestion } from "./release-notes.js";

export interface ClusterFlags {
  readonly config: string;
}

/** The cluster file and its catalog, each valid and the file's `version:` one of the catalog's releases. */
export function loadClusterAndCatalog(flags: ClusterFlags): { cluster: Cluster; catalog: Catalog } {
  const cluster = loadCluster(flags.config);
  const catalog = loadCatalog(cluster.catalog);
  checkVersionInCatalog(cluster, catalog);
  return { cluster, catalog };
}

/** Opens the cluster's state store for the length of `body`, and closes it whatever happens. */
export async function withStore<T>(cluster: Cluster, body: (store: StateStore) => Promise<T>): Promise<T> {
  const store = await openStateStore(cluster.state, cluster.dir);
  try {
    return await body(store);
  } finally {
    await store.close();
  }
}

/**
 * Asks on a terminal; with --yes, or when the answer cannot be asked, decides without asking.
 * Off a terminal without --yes nothing is changed: a run must be meant.
 */
export function confirmer(yes: boolean | undefined): ((question: string) => Promise<boolean>) | undefined {
  if (yes) return undefined;
  return async (question) => {
    if (!process.stdin.isTTY) {
      throw new UserError(
        `${question}\nstandard input is not a terminal, so ferry cannot ask: pass --yes to go ahead`,
      );
    }
    return askYesNo(question);
  };
}

/**
 * Asks for the release warnings to be accepted, on a terminal only: --yes does not answer it
 * (DESIGN.md), and off a terminal nothing can, so `apply` refuses unless --accept-warnings.
 */
export function warningAsker(): ((warnings: readonly PendingWarning[]) => Promise<boolean>) | undefined {
  if (!process.stdin.isTTY) return undefined;
  return (warnings) => askYesNo(acceptanceQuestion(warnings));
}

/** A yes/no question on the terminal; anything but y or yes, and Ctrl-C, is a no. */
async function askYesNo(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return await new Promise<boolean>((resolve) => {
      // Ctrl-C at the prompt is a no, not a hang.
      rl.on("SIGINT", () => resolve(false));
      rl.question(`${question} [y/N] `).then(
        (answer) => resolve(/^y(es)?$/i.test(answer.trim())),
        () => resolve(false),
      );
    });
  } finally {
    rl.close();
  }
}

/** One driver per online host for the length of `body`: every host reached, every key checked, first. */
export async function withClusterDrivers<T>(
  cluster: Cluster,
  body: (driverFor: DriverFor) => Promise<T>,
): Promise<T> {
  const pool = new DriverPool(onlineHosts(cluster));
  try {
    await pool.connectAll();
    return await body(pool.driverFor);
  } finally {
    await pool.close();
  }
}

/**
 * Where the cluster stands, asked of it through `driverFor` (or drivers of its own): the release
 * every member reports, which must be one of the catalog's, and, with `actives`, the active host of
 * each active-passive component.
 */
export async function observedStart(
  cluster: Cluster,
  catalog: Catalog,
  options: { actives: boolean } = { actives: false },
  driverFor?: DriverFor,
): Promise<{ version: string; actives: Map<string, string> }> {
  if (!driverFor) return withClusterDrivers(cluster, (d) => observedStart(cluster, catalog, options, d));
  const seen = await observe(clusterMembers(cluster), driverFor, { health: false });
  const version = requireOneVersion(seen, cluster.name, "pass --from to name the release yourself", catalog);
  return { version, actives: options.actives ? await observeActives(cluster, driverFor) : new Map() };
}
