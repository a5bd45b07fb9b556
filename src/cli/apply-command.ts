/** `ferry apply [-c cluster.yaml] [--to V] [--yes] [--json]`: upgrade the cluster. */
import type { Command } from "commander";
import { apply, type ExitCode, stateFolder } from "../index.js";
import { confirmer, loadClusterAndCatalog, withStore } from "./context.js";
import { withNotifications } from "./notifications.js";
import { runWithSignals } from "./run-command.js";

interface ApplyFlags {
  config: string;
  to?: string;
  yes?: boolean;
  json?: boolean;
}

export function registerApplyCommand(program: Command, setExit: (code: ExitCode) => void): void {
  program
    .command("apply")
    .description("upgrade the cluster to a release, hop by hop (without --to: the file's `version`)")
    .option("-c, --config <file>", "the cluster file", "cluster.yaml")
    .option("--to <version>", "the release to reach")
    .option("--yes", "do not ask for confirmation")
    .option("--json", "print one JSON event per line (NDJSON), the last one the outcome")
    .action(async (flags: ApplyFlags) => {
      const { cluster, catalog } = loadClusterAndCatalog(flags);
      const confirm = confirmer(flags.yes);
      const code = await withStore(cluster, (store) =>
        withNotifications(cluster, store, (events) =>
          runWithSignals(
            flags,
            stateFolder(cluster),
            (ctx) =>
              apply({
                cluster,
                catalog,
                store,
                ...(flags.to ? { to: flags.to } : {}),
                ...(confirm ? { confirm } : {}),
                ...ctx,
              }),
            events,
          ),
        ),
      );
      setExit(code);
    });
}
