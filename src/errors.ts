/**
 * The few error types ferry throws, and the exit code each one means.
 *
 * The core throws these; only the CLI's edge turns them into exit codes (DESIGN.md "The command
 * line"): 0 done, 1 the operation failed, 2 invalid input, 3 refused by policy or a precondition,
 * 130 interrupted.
 */

export const ExitCode = {
  ok: 0,
  failed: 1,
  invalid: 2,
  refused: 3,
  interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Where in a file a problem is: enough for an editor to jump there. */
export interface SourceProblem {
  readonly file: string;
  /** 1-based; absent when the problem is the file as a whole. */
  readonly line?: number;
  readonly column?: number;
  /** The field's path as a user writes it: `releases[3].version`, `policy.stepwise`. */
  readonly field?: string;
  readonly message: string;
}

export function formatProblem(p: SourceProblem): string {
  const where = p.line === undefined ? p.file : `${p.file}:${p.line}${p.column ? `:${p.column}` : ""}`;
  return p.field ? `${where}: ${p.field}: ${p.message}` : `${where}: ${p.message}`;
}

export abstract class FerryError extends Error {
  abstract readonly exitCode: ExitCode;
  /** A stable, machine-readable name of the kind of error, used in `--json` output. */
  abstract readonly kind: string;
}

/** Bad input: a file that does not validate, a bad flag, an unknown version. Exit 2. */
export class UserError extends FerryError {
  readonly exitCode = ExitCode.invalid;
  readonly kind = "invalid";
  readonly problems: readonly SourceProblem[];

  constructor(message: string, problems: readonly SourceProblem[] = []) {
    super(message);
    this.name = "UserError";
    this.problems = problems;
  }

  /** One error for one or more problems found in files, each on its own line. */
  static fromProblems(problems: readonly SourceProblem[]): UserError {
    const lines = problems.map(formatProblem);
    const head = problems.length === 1 ? "" : `${problems.length} problems:\n  `;
    return new UserError(head + lines.join("\n  "), problems);
  }
}

/**
 * A refusal: the input is well formed, but a rule forbids what was asked (a version path the
 * catalog's policy does not allow, a failed preflight, a lock held by another run). Exit 3.
 * `rule` names the rule and `wayOut` says what the operator can do instead.
 */
export class RefusedError extends FerryError {
  readonly exitCode = ExitCode.refused;
  readonly kind = "refused";
  readonly rule: string;
  readonly wayOut: string | undefined;

  constructor(message: string, rule: string, wayOut?: string) {
    super(message);
    this.name = "RefusedError";
    this.rule = rule;
    this.wayOut = wayOut;
  }
}

/**
 * The operation could not be carried out, for a reason outside the input and the rules: a state
 * store that cannot be reached, a host that cannot be asked. Exit 1; the message says what to do.
 */
export class OperationError extends FerryError {
  readonly exitCode: ExitCode = ExitCode.failed;
  readonly kind: string = "failed";

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "OperationError";
  }
}

/** The exit code an error ends the process with; anything not ours is a bug, and fails (1). */
export function exitCodeOf(err: unknown): ExitCode {
  return err instanceof FerryError ? err.exitCode : ExitCode.failed;
}
