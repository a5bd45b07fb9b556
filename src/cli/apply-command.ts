/** `ferry apply [-c cluster.yaml] [--to V] [--yes] [--accept-warnings] [--json]`: upgrade the cluster. */
import { apply, DriverPool, onlineHosts, type PathHop, stateFolder } from "../index.js";
import { confirmer, loadClusterAndCatalog, warningAsker, withStore } from "./context.js";
import { withNotifications } from "./notifications.js";
import { printLines } from "./output.js";
import type { SetExit } from "./program.js";
import { pathNoteLines } from "./release-notes.js";
import { runWithSignals } from "./run-command.js";

export interface ApplyFlags {
  config: string;
  to?: string;
  yes?: boolean;
  acceptWarnings?: boolean;
  json?: boolean;
}

/** The path's release notes and warnings, before any question; nothing when it has none. */
function showReleaseNotes(hops: readonly PathHop[]): void {
  const lines = pathNoteLines(hops);
  if (lines.length > 0) printLines(lines);
}

export async function applyCommand(flags: ApplyFlags, setExit: SetExit): Promise<void> {
  const { cluster, catalog } = loadClusterAndCatalog(flags);
  const confirm = confirmer(flags.yes);
  const askWarnings = warningAsker();
  // The hosts are dialled first, so that opening the journal goes on while their sshds answer
  // (logging in runs nothing on a host); the run takes the outcome up where it starts.
  const pool = new DriverPool(onlineHosts(cluster));
  pool.connectAll().catch(() => {});
  try {
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
              pool,
              ...(flags.to ? { to: flags.to } : {}),
              ...(confirm ? { confirm } : {}),
              ...(flags.acceptWarnings ? { acceptWarnings: true } : askWarnings ? { askWarnings } : {}),
              // With --json, stdout holds events only: the notes are in the start event's hops.
              ...(flags.json ? {} : { showReleaseNotes }),
              ...ctx,
            }),
          events,
        ),
      ),
    );
    setExit(code);
  } finally {
    await pool.close();
  }
}
