/**
 * What `apply`, `resume` and `rollback` share at the edge: signals, progress lines, the closing
 * report, and the exit code the outcome means.
 */
import { ExitCode, type OperationResult, RunEvents } from "../index.js";
import { printJson } from "./output.js";
import { printProgress } from "./progress.js";

export interface RunFlags {
  readonly json?: boolean;
}

/**
 * Runs `operation` with SIGINT/SIGTERM turned into an interrupt request (the executor decides:
 * roll back before the point of no return, stop resumable after it) and reports the outcome.
 */
export async function runWithSignals(
  flags: RunFlags,
  operation: (ctx: { events: RunEvents; interrupt: AbortSignal }) => Promise<OperationResult>,
): Promise<ExitCode> {
  const events = new RunEvents();
  if (!flags.json) events.on(printProgress);
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      process.stderr.write(
        `ferry: ${signal} again: still finishing; kill -9 abandons it, and \`ferry resume\` picks it up\n`,
      );
      return;
    }
    process.stderr.write(`ferry: ${signal}: finishing the steps in flight\n`);
    controller.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    const result = await operation({ events, interrupt: controller.signal });
    if (flags.json) {
      printJson({
        runId: result.runId,
        status: result.status,
        reason: result.reason,
        message: result.message,
        ...(result.failed ? { failed: result.failed } : {}),
      });
    } else {
      process.stdout.write(`${result.message}\n`);
    }
    if (result.interrupted) return ExitCode.interrupted;
    if (result.succeeded) return ExitCode.ok;
    return result.refused ? ExitCode.refused : ExitCode.failed;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}
