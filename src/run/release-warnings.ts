/**
 * Release warnings that must be accepted before `apply` runs a path (DESIGN.md "Release notes"):
 * a warning with `acknowledge: true` on a hop of the path is accepted up front (`--accept-warnings`,
 * an API request's `acceptWarnings`) or at a prompt, else `apply` refuses (exit 3) before anything
 * changes. `--yes` never accepts one. The acceptance is journaled with the run, so a resumed run
 * is not asked again.
 */
import { type PathHop, warningsToAccept } from "../catalog/index.js";
import { RefusedError } from "../errors.js";
import type { WarningAcceptance } from "../store/state-store.js";

/** A warning to accept, with the hop it is shown for (`1.8.0 → 1.9.0`). */
export type PendingWarning = ReturnType<typeof warningsToAccept>[number];

export interface WarningOptions {
  /** Accepted up front: `--accept-warnings`, or an API request's `acceptWarnings: true`. */
  readonly acceptWarnings?: boolean;
  /** Asks the operator (a terminal); false, or absent, refuses. Never skipped by --yes. */
  readonly askWarnings?: (warnings: readonly PendingWarning[]) => Promise<boolean>;
}

/** `apply` refused because release warnings were not accepted; carries them for a client to show. */
export class UnacceptedWarningsError extends RefusedError {
  readonly warnings: readonly PendingWarning[];
  constructor(warnings: readonly PendingWarning[], declined: boolean) {
    const list = warnings
      .map(
        (w) => `${w.release}${w.from ? ` (from ${w.from})` : ""}, for the hop ${w.hop}: "${w.text.trim()}"`,
      )
      .join("; ");
    const what =
      warnings.length === 1
        ? "a release warning that must be accepted"
        : `${warnings.length} release warnings that must be accepted`;
    super(
      `${declined ? "not accepted, so nothing was changed" : `the path has ${what}`}: ${list}`,
      "release-warnings",
      'read them, then accept them with --accept-warnings or at the prompt on a terminal (an API request: "acceptWarnings": true); --yes does not accept warnings',
    );
    this.name = "UnacceptedWarningsError";
    this.warnings = warnings;
  }
}

/**
 * The acceptance of the warnings `hops` carry, to journal with the run; null when none needs
 * accepting. Throws UnacceptedWarningsError when they are neither accepted up front nor at the prompt.
 */
export async function acceptReleaseWarnings(
  hops: readonly PathHop[],
  options: WarningOptions,
  by: string,
): Promise<WarningAcceptance | null> {
  const pending = warningsToAccept(hops);
  if (pending.length === 0) return null;
  let how: WarningAcceptance["how"];
  if (options.acceptWarnings) how = "flag";
  else if (!options.askWarnings) throw new UnacceptedWarningsError(pending, false);
  else if (await options.askWarnings(pending)) how = "prompt";
  else throw new UnacceptedWarningsError(pending, true);
  return {
    by,
    at: new Date().toISOString(),
    how,
    warnings: pending.map(({ hop, release, from, text }) => ({
      hop,
      release,
      ...(from === undefined ? {} : { from }),
      text,
    })),
  };
}

/** One line that says a run's warnings were accepted: who, when and how. */
export function describeAcceptance(a: WarningAcceptance): string {
  const how = a.how === "prompt" ? "at the prompt" : "by flag";
  const which = a.warnings.map((w) => w.release).join(", ");
  return `release warnings of ${which} accepted by ${a.by} at ${a.at} (${how}); not asked again`;
}
