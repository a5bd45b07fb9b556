/**
 * `ferry host undo HOST [-c cluster.yaml] [--yes]`: take one host of a stopped run back to the
 * release it ran (DESIGN.md "Repairing one host"); `ferry resume` upgrades it again.
 */
import { hostUndo, loadCluster, stateFolder } from "../index.js";
import { confirmer, withStore } from "./context.js";
import type { SetExit } from "./program.js";
import { runWithSignals } from "./run-command.js";

interface Flags {
  config: string;
  yes?: boolean;
}

export async function hostUndoCommand(name: string, flags: Flags, setExit: SetExit): Promise<void> {
  const cluster = loadCluster(flags.config);
  const confirm = confirmer(flags.yes);
  const code = await withStore(cluster, (store) =>
    runWithSignals({}, stateFolder(cluster), (ctx) =>
      hostUndo({ cluster, store, host: name, ...(confirm ? { confirm } : {}), ...ctx }),
    ),
  );
  setExit(code);
}
