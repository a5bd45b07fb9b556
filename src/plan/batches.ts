/**
 * Batch sizes read as Ansible reads its `serial` list: each entry is a number of hosts or a
 * percentage of the component's hosts (rounded up, at least one); the last entry repeats until
 * every host is in a batch; a batch never takes more hosts than are left. Pure.
 */
import type { BatchSize } from "../cluster/cluster-schema.js";

/**
 * The number of hosts in each batch, in order; they add up to `hosts`.
 *
 * @example splitBatches([1, "25%", "100%"], 10) // [1, 3, 6]
 * @example splitBatches([1, 2], 7) // [1, 2, 2, 2]
 */
export function splitBatches(sizes: readonly BatchSize[], hosts: number): number[] {
  if (sizes.length === 0) throw new Error("splitBatches: no batch sizes");
  const batches: number[] = [];
  let left = hosts;
  for (let i = 0; left > 0; i++) {
    const size = sizes[Math.min(i, sizes.length - 1)] as BatchSize;
    const n = Math.min(left, Math.max(1, hostsOf(size, hosts)));
    batches.push(n);
    left -= n;
  }
  return batches;
}

function hostsOf(size: BatchSize, hosts: number): number {
  if (typeof size === "number") return size;
  // Rounded to a tenth of a host first, so that 33.3% of 3 hosts is 1 host, not 2 by a float's error.
  return Math.ceil(Math.round((Number.parseFloat(size) / 100) * hosts * 1e6) / 1e6);
}
