/**
 * ferry's errors as HTTP answers, always `{ "error": "…" }` with what a client needs besides:
 * bad input 400 (naming the field when one is at fault), a conflicting run 409 (so too release
 * warnings the request did not accept, listed), another refusal 422, anything else 500.
 */
import { FerryError, RefusedError, UserError } from "../errors.js";
import { type PendingWarning, UnacceptedWarningsError } from "../run/release-warnings.js";

export interface ErrorBody {
  readonly error: string;
  readonly field?: string;
  readonly rule?: string;
  readonly wayOut?: string;
  /** The release warnings a request must accept (acceptWarnings: true). */
  readonly warnings?: readonly PendingWarning[];
}

/** Refusals that mean "another run is in the way, or not the one you named". */
const CONFLICTS = new Set([
  "lock",
  "open-run",
  "no-open-run",
  "not-running",
  "point-of-no-return",
  // The run waits for no approval, or its approval has its answer already.
  "not-waiting",
  "answered",
  // The path has release warnings the request did not accept: it must say acceptWarnings.
  "release-warnings",
]);

export function errorAnswer(err: unknown): { status: 400 | 409 | 422 | 500; body: ErrorBody } {
  if (err instanceof UserError) {
    // releaseIndex and friends start the message with the field they checked: `to: …`.
    const field = /^(to|from): /.exec(err.message)?.[1];
    return { status: 400, body: { error: err.message, ...(field ? { field } : {}) } };
  }
  if (err instanceof RefusedError) {
    const body = {
      error: err.message,
      rule: err.rule,
      ...(err.wayOut ? { wayOut: err.wayOut } : {}),
      ...(err instanceof UnacceptedWarningsError ? { warnings: err.warnings } : {}),
    };
    return { status: CONFLICTS.has(err.rule) ? 409 : 422, body };
  }
  if (err instanceof FerryError) return { status: 500, body: { error: err.message } };
  return {
    status: 500,
    body: { error: `internal error: ${err instanceof Error ? err.message : String(err)}` },
  };
}
