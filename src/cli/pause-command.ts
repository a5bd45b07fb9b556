/** `ferry pause [-c cluster.yaml] [--wait] [--json]`: stop the running run after its steps in flight. */
import { loadCluster, pause, waitUntilStopped, whoStarted } from "../index.js";
import { withStore } from "./context.js";
import { printJson } from "./output.js";

interface Flags {
  config: string;
  wait?: boolean;
  json?: boolean;
}

export async function pauseCommand(flags: Flags): Promise<void> {
  const cluster = loadCluster(flags.config);
  await withStore(cluster, async (store) => {
    // Named as a run's starter is (FERRY_USER, else user@host): the executor and notifications say who asked.
    const request = await pause({ cluster, store, by: whoStarted() });
    const status = flags.wait ? await waitUntilStopped(store, request.runId) : undefined;
    if (flags.json) {
      printJson({ runId: request.runId, heldBy: request.heldBy, ...(status ? { status } : {}) });
      return;
    }
    process.stdout.write(`${request.message}\n`);
    if (status) process.stdout.write(`run ${request.runId} is ${status}\n`);
  });
}
