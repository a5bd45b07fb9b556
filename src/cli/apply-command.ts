/** `ferry apply [-c cluster.yaml] [--to V] [--yes] [--accept-warnings] [--json]`: upgrade the cluster. */
import type { Command } from "commander";
import { apply, type ExitCode, type PathHop, stateFolder } from "../index.js";
import { confirmer, loadClusterAndCatalog, warningAsker, withStore } from "./context.js";
import { withNotifications } from "./notifications.js";
import { printLines } from "./output.js";
import { pathNoteLines } from "./release-notes.js";
import { runWithSignals } from "./run-command.js";

interface ApplyFlags {
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

export function registerApplyCommand(program: Command, setExit: (code: ExitCode) => void): void {
  program
    .command("apply")
    .description("upgrade the cluster to a release, hop by hop (without --to: the file's `version`)")
    .option("-c, --config <file>", "the cluster file", "cluster.yaml")
    .option("--to <version>", "the release to reach")
    .option("--yes", "do not ask for confirmation (release warnings are still asked, or refused)")
    .option("--accept-warnings", "accept the release warnings of the path (journaled with the run)")
    .option("--json", "print one JSON event per line (NDJSON), the last one the outcome")
    .action(async (flags: ApplyFlags) => {
      const { cluster, catalog } = loadClusterAndCatalog(flags);
      const confirm = confirmer(flags.yes);
      const askWarnings = warningAsker();
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
    });
}
