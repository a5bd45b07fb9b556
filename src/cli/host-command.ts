/**
 * `ferry host undo HOST [-c cluster.yaml] [--yes]`: take one host of a stopped run back to the
 * release it ran (DESIGN.md "Repairing one host"); `ferry resume` upgrades it again.
 */
import type { Command } from "commander";
import { type ExitCode, hostUndo, loadCluster, stateFolder } from "../index.js";
import { confirmer, withStore } from "./context.js";
import { runWithSignals } from "./run-command.js";

interface Flags {
  config: string;
  yes?: boolean;
}

export function registerHostCommand(program: Command, setExit: (code: ExitCode) => void): void {
  const host = program.command("host").description("repair one host of a stopped run");
  host
    .command("undo")
    .description(
      "take HOST of the paused or stopped run back to the release it ran (its steps of the current hop undone in reverse, ending undrained and healthy); `ferry resume` upgrades it again",
    )
    .argument("<host>", "the host's name in the cluster file")
    .option("-c, --config <file>", "the cluster file", "cluster.yaml")
    .option("--yes", "do not ask for confirmation")
    .action(async (name: string, flags: Flags) => {
      const cluster = loadCluster(flags.config);
      const confirm = confirmer(flags.yes);
      const code = await withStore(cluster, (store) =>
        runWithSignals({}, stateFolder(cluster), (ctx) =>
          hostUndo({ cluster, store, host: name, ...(confirm ? { confirm } : {}), ...ctx }),
        ),
      );
      setExit(code);
    });
}
