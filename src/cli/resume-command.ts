/** `ferry resume [-c cluster.yaml] [--yes]` and `ferry rollback`: finish or undo the unfinished run. */
import type { Command } from "commander";
import { type ExitCode, loadCluster, resume, rollback, stateFolder } from "../index.js";
import { confirmer, withStore } from "./context.js";
import { withNotifications } from "./notifications.js";
import { runWithSignals } from "./run-command.js";

interface Flags {
  config: string;
  yes?: boolean;
  json?: boolean;
}

export function registerResumeCommands(program: Command, setExit: (code: ExitCode) => void): void {
  for (const [name, description, operation] of [
    [
      "resume",
      "finish the unfinished run (after a crash, a pause or a stop), with the plan it started with",
      resume,
    ],
    [
      "rollback",
      "undo the unfinished run's current hop, unless it has passed its point of no return",
      rollback,
    ],
  ] as const) {
    program
      .command(name)
      .description(description)
      .option("-c, --config <file>", "the cluster file", "cluster.yaml")
      .option("--yes", "do not ask for confirmation")
      .option("--json", "print one JSON event per line (NDJSON), the last one the outcome")
      .action(async (flags: Flags) => {
        const cluster = loadCluster(flags.config);
        const confirm = confirmer(flags.yes);
        const code = await withStore(cluster, (store) =>
          withNotifications(cluster, store, (events) =>
            runWithSignals(
              flags,
              stateFolder(cluster),
              (ctx) => operation({ cluster, store, ...(confirm ? { confirm } : {}), ...ctx }),
              events,
            ),
          ),
        );
        setExit(code);
      });
  }
}
