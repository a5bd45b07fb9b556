/**
 * How the CLI speaks: `--json` puts exactly one JSON document on stdout; everything meant for a
 * person goes to stdout as text, and errors to stderr.
 */
import { exitCodeOf, FerryError, PathRefusedError, UserError } from "../index.js";

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function printLines(lines: readonly string[]): void {
  process.stdout.write(`${lines.join("\n")}\n`);
}

/** Reports an error the way the command was asked to speak, and returns the exit code it means. */
export function reportError(err: unknown, json: boolean): number {
  const code = exitCodeOf(err);
  const known = err instanceof FerryError;
  const message = err instanceof Error ? err.message : String(err);
  const label = !known ? "internal error" : code === 3 ? "refused" : "error";
  process.stderr.write(`ferry: ${label}: ${message}\n`);
  if (!known && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  if (json) {
    const detail: Record<string, unknown> = { kind: known ? err.kind : "internal", exitCode: code, message };
    if (err instanceof PathRefusedError) detail.refusal = err.refusal;
    if (err instanceof UserError && err.problems.length > 0) detail.problems = err.problems;
    printJson({ error: detail });
  }
  return code;
}
