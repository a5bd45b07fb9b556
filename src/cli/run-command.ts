/**
 * What `apply`, `resume` and `rollback` share at the edge: signals, the progress display (a live
 * tree on a terminal, plain lines elsewhere, events with --json), the per-run log, the closing
 * report, and the exit code the outcome means.
 */
import {
  attachRunLog,
  ExitCode,
  type Faults,
  faultAt,
  forTerminal,
  type OperationResult,
  RunEvents,
} from "../index.js";
import { jsonStream } from "./json-stream.js";
import { type ProgressSink, plainProgress } from "./progress.js";
import { colorsFor, isLiveTerminal } from "./terminal.js";

export interface RunFlags {
  readonly json?: boolean;
}

/**
 * Runs `operation` with SIGINT/SIGTERM turned into an interrupt request (the executor decides:
 * roll back before the point of no return; after it, carry the hop to its end) and a second one
 * into a stop (the steps in flight finish, then the run stops resumable), and reports the outcome.
 * The run's log goes to `<stateFolder>/logs/<run id>.jsonl`. FERRY_FAULT (the crash tests' named
 * kill point, src/run/faults.ts) is read here, at the edge, and nowhere in the library.
 */
export async function runWithSignals(
  flags: RunFlags,
  stateFolder: string,
  operation: (ctx: {
    events: RunEvents;
    interrupt: AbortSignal;
    stop: AbortSignal;
    faults: Faults;
  }) => Promise<OperationResult>,
  events: RunEvents = new RunEvents(),
): Promise<ExitCode> {
  const stream = flags.json ? jsonStream() : undefined;
  // The live tree's packages (log-update, string-width's Unicode tables) cost tens of milliseconds
  // to load: only a terminal that shows it loads them, not --json or a log file.
  const sink: ProgressSink =
    stream ??
    (isLiveTerminal(process.stdout)
      ? (await import("./progress-tree.js")).progressTree(process.stdout, colorsFor(process.stdout))
      : plainProgress(process.stdout));
  events.on(sink.listener);
  const log = attachRunLog(events, stateFolder);
  const controller = new AbortController();
  const stopping = new AbortController();
  // DESIGN.md "Crash safety": the first signal rolls back (or, past the point of no return, carries
  // the hop to its end; the executor's note says which); a second finishes the steps in flight and
  // stops, resumable, whatever was under way.
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping.signal.aborted) {
      sink.note(
        `ferry: ${signal} again: still finishing the steps in flight; kill -9 abandons them, and \`ferry resume\` picks the run up`,
      );
    } else if (controller.signal.aborted) {
      sink.note(`ferry: ${signal} again: finishing the steps in flight, then stopping, resumable`);
      stopping.abort();
    } else {
      sink.note(`ferry: ${signal}`);
      controller.abort();
    }
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    const faults = faultAt(process.env.FERRY_FAULT);
    const result = await operation({ events, interrupt: controller.signal, stop: stopping.signal, faults });
    const code = exitCodeOf(result);
    sink.finish();
    if (stream) {
      stream.result({
        runId: result.runId,
        status: result.status,
        reason: result.reason,
        message: result.message,
        ...(result.failed ? { failed: result.failed } : {}),
        exitCode: code,
      });
    } else {
      process.stdout.write(`${forTerminal(result.message)}\n`);
    }
    return code;
  } finally {
    sink.finish();
    log.close();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

/** A failed preflight is a refusal (exit 3): a precondition did not hold and nothing changed. */
function exitCodeOf(result: OperationResult): ExitCode {
  if (result.interrupted) return ExitCode.interrupted;
  if (result.succeeded) return ExitCode.ok;
  return result.refused ? ExitCode.refused : ExitCode.failed;
}
