/** `ferry pause [-c cluster.yaml] [--wait] [--json]`: stop the running run after its steps in flight. */
import type { Command } from "commander";
import { loadCluster, pause, waitUntilStopped, whoStarted } from "../index.js";
import { withStore } from "./context.js";
import { printJson } from "./output.js";

interface Flags {
  config: string;
  wait?: boolean;
  json?: boolean;
}

export function registerPauseCommand(program: Command): void {
  program
    .command("pause")
    .description("let the steps in flight of the running run finish, then stop it resumable (`ferry resume`)")
    .option("-c, --config <file>", "the cluster file", "cluster.yaml")
    .option("--wait", "wait until the run has stopped")
    .option("--json", "print one JSON document")
    .action(async (flags: Flags) => {
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
    });
}
