/**
 * One round of the server's look at the hosts: everything a read of status, plan or metrics asks
 * of them, asked once (see shared-round.ts for how often). Every online member's version command
 * and health probe, and, when the cluster has active-passive components, their role commands.
 */
import { type Cluster, onlineHosts } from "../cluster/cluster.js";
import { DriverPool } from "../drivers/driver-pool.js";
import { clusterMembers } from "../plan/build-plan.js";
import { type Observation, observe, observeActives } from "../run/observe.js";

export interface HostsSeen {
  readonly members: Observation;
  /** The active host of each active-passive component, or why that could not be told. */
  readonly actives: { readonly hosts: Map<string, string> } | { readonly error: unknown };
}

export async function observeHosts(cluster: Cluster): Promise<HostsSeen> {
  const pool = new DriverPool(onlineHosts(cluster));
  try {
    const members = await observe(clusterMembers(cluster), pool.driverFor, { health: true });
    const actives = cluster.components.some((c) => c.activePassive)
      ? await observeActives(cluster, pool.driverFor).then(
          (hosts) => ({ hosts }),
          (error: unknown) => ({ error }),
        )
      : { hosts: new Map<string, string>() };
    return { members, actives };
  } finally {
    await pool.close();
  }
}
