/**
 * How the CLI speaks: `--json` puts exactly one JSON document on stdout (for apply, resume and
 * rollback: one JSON event per line, the last a `result`); everything meant for a person goes to
 * stdout as text, and errors to stderr. Text may quote what hosts printed, so it goes through
 * forTerminal (no escape sequence, no password); JSON keeps it raw but escaped.
 */
import { renameSync, rmSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import {
  exitCodeOf,
  FerryError,
  forTerminal,
  jsonForTerminal,
  maskPasswordsIn,
  PathRefusedError,
  RefusedError,
  UnacceptedWarningsError,
  UserError,
} from "../index.js";

/** Pretty for a document a person may read; compact past a megabyte (a 10,000-host plan), where indentation would triple it. */
const PRETTY_LIMIT = 1 << 20;

export function printJson(value: unknown): void {
  const compact = jsonForTerminal(value);
  process.stdout.write(`${compact.length < PRETTY_LIMIT ? jsonForTerminal(value, 2) : compact}\n`);
}

export function printLines(lines: readonly string[]): void {
  process.stdout.write(`${forTerminal(lines.join("\n"))}\n`);
}

/**
 * Writes a file whole or not at all (beside it, then renamed over it): a reader never opens half of
 * one. A place it cannot be written is bad input, named by the flag that gave it (exit 2).
 */
export function writeWhole(file: string, text: string, flag: string): void {
  const out = resolve(file);
  const partial = `${out}.${process.pid}.tmp`;
  try {
    writeFileSync(partial, text);
    renameSync(partial, out);
  } catch (err) {
    rmSync(partial, { force: true });
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT"
        ? "its folder does not exist"
        : code === "EACCES" || code === "EPERM"
          ? "permission denied"
          : code === "EISDIR"
            ? "it is a folder"
            : (code ?? String(err));
    throw new UserError(`${flag} ${file}: cannot write it: ${why}`);
  }
}

/**
 * Reports an error the way the command was asked to speak, and returns the exit code it means.
 * `json: "stream"`: as the closing `result` event of an event stream, on one line.
 * A stack trace is for ferry's developers, not its operators: it is printed, with the error's
 * causes, only when FERRY_DEBUG=1.
 */
export function reportError(err: unknown, json: boolean | "stream", env = process.env): number {
  const code = exitCodeOf(err);
  const known = err instanceof FerryError;
  let message = err instanceof Error ? err.message : String(err);
  if (err instanceof RefusedError && err.wayOut && !message.includes(err.wayOut))
    message += `. Way out: ${err.wayOut}.`;
  const label = !known ? "internal error" : code === 3 ? "refused" : "error";
  process.stderr.write(`ferry: ${label}: ${forTerminal(message)}\n`);
  if (env.FERRY_DEBUG === "1") process.stderr.write(forTerminal(traceOf(err)));
  else if (!known) {
    process.stderr.write(
      "ferry: this is a failure ferry did not foresee; FERRY_DEBUG=1 shows where it happened (please report it with that)\n",
    );
  }
  if (json) {
    // Raw but for passwords: a message may quote a URL (JSON escapes the rest).
    const detail: Record<string, unknown> = {
      kind: known ? err.kind : "internal",
      exitCode: code,
      message: maskPasswordsIn(message),
    };
    if (err instanceof PathRefusedError) detail.refusal = err.refusal;
    if (err instanceof UnacceptedWarningsError) detail.warnings = err.warnings;
    if (err instanceof UserError && err.problems.length > 0) detail.problems = err.problems;
    if (json === "stream") {
      process.stdout.write(
        `${jsonForTerminal({ type: "result", time: new Date().toISOString(), runId: null, exitCode: code, error: detail })}\n`,
      );
    } else {
      printJson({ error: detail });
    }
  }
  return code;
}

/** The stack of `err` and of each of its causes, for FERRY_DEBUG=1. */
function traceOf(err: unknown): string {
  let text = "";
  for (let e: unknown = err, depth = 0; e !== undefined && depth < 10; depth++) {
    text += `${depth > 0 ? "caused by: " : ""}${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`;
    e = e instanceof Error ? e.cause : undefined;
  }
  return text;
}
