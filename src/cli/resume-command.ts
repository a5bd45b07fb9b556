/** `ferry resume [-c cluster.yaml] [--yes]` and `ferry rollback`: finish or undo the unfinished run. */
import { loadCluster, resume, rollback, stateFolder } from "../index.js";
import { confirmer, withStore } from "./context.js";
import { withNotifications } from "./notifications.js";
import type { SetExit } from "./program.js";
import { runWithSignals } from "./run-command.js";

interface Flags {
  config: string;
  yes?: boolean;
  json?: boolean;
}

export async function resumeCommand(
  name: "resume" | "rollback",
  flags: Flags,
  setExit: SetExit,
): Promise<void> {
  const operation = name === "resume" ? resume : rollback;
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
}
