/**
 * How the CLI speaks: `--json` puts exactly one JSON document on stdout (for apply, resume and
 * rollback: one JSON event per line, the last a `result`); everything meant for a person goes to
 * stdout as text, and errors to stderr.
 */
import {
  exitCodeOf,
  FerryError,
  PathRefusedError,
  RefusedError,
  UnacceptedWarningsError,
  UserError,
} from "../index.js";

/** Pretty for a document a person may read; compact past a megabyte (a 10,000-host plan), where indentation would triple it. */
const PRETTY_LIMIT = 1 << 20;

export function printJson(value: unknown): void {
  const compact = JSON.stringify(value);
  process.stdout.write(`${compact.length < PRETTY_LIMIT ? JSON.stringify(value, null, 2) : compact}\n`);
}

export function printLines(lines: readonly string[]): void {
  process.stdout.write(`${lines.join("\n")}\n`);
}

/**
 * Reports an error the way the command was asked to speak, and returns the exit code it means.
 * `json: "stream"`: as the closing `result` event of an event stream, on one line.
 */
export function reportError(err: unknown, json: boolean | "stream"): number {
  const code = exitCodeOf(err);
  const known = err instanceof FerryError;
  let message = err instanceof Error ? err.message : String(err);
  if (err instanceof RefusedError && err.wayOut && !message.includes(err.wayOut))
    message += `. Way out: ${err.wayOut}.`;
  const label = !known ? "internal error" : code === 3 ? "refused" : "error";
  process.stderr.write(`ferry: ${label}: ${message}\n`);
  if (!known && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  if (json) {
    const detail: Record<string, unknown> = { kind: known ? err.kind : "internal", exitCode: code, message };
    if (err instanceof PathRefusedError) detail.refusal = err.refusal;
    if (err instanceof UnacceptedWarningsError) detail.warnings = err.warnings;
    if (err instanceof UserError && err.problems.length > 0) detail.problems = err.problems;
    if (json === "stream") {
      process.stdout.write(
        `${JSON.stringify({ type: "result", time: new Date().toISOString(), runId: null, exitCode: code, error: detail })}\n`,
      );
    } else {
      printJson({ error: detail });
    }
  }
  return code;
}
