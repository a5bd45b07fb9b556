/**
 * The driver contract: how a command reaches a host. Local (sh -c on this machine), SSH, and an
 * in-memory twin for tests. Each implementation passes test/contract/driver.contract.ts.
 *
 * A command that runs and exits non-zero is a result, not an error: exec() rejects only when the
 * driver cannot run the command at all (a dead connection, a missing shell), and then it never
 * retries it by itself.
 */

export interface ExecOptions {
  /** Extra environment variables for the command (the FERRY_* values). */
  readonly env?: Readonly<Record<string, string>>;
  /** Kill the command (its whole process group) after this long; default: no limit. */
  readonly timeoutMs?: number;
  /** How long after SIGTERM to wait before SIGKILL, on timeout or abort; default 2000. */
  readonly killGraceMs?: number;
  /** Aborting kills the command like a timeout does. */
  readonly signal?: AbortSignal;
  /** Called with each chunk of output (stdout and stderr together), as it arrives. */
  readonly onOutput?: (chunk: string) => void;
}

export interface ExecResult {
  /** null when the command was ended by a signal. */
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly timedOut: boolean;
  readonly aborted: boolean;
  /** The last OUTPUT_TAIL_BYTES of stdout and stderr, interleaved as they arrived. */
  readonly output: string;
  readonly durationMs: number;
}

export const OUTPUT_TAIL_BYTES = 4096;

/** The environment variable by which endMarked() finds a command's processes. */
export const MARKER_VARIABLE = "FERRY_PROCESS";

/** What endMarked() ended: the process groups (none when no process carried the marker), and how. */
export interface MarkedEnd {
  readonly groups: readonly number[];
  /** Whether SIGTERM was not enough and SIGKILL was sent. */
  readonly killed: boolean;
}

export interface Driver {
  /** The host's name in the cluster file. */
  readonly host: string;
  exec(command: string, options?: ExecOptions): Promise<ExecResult>;
  /**
   * Ends what commands left running on this host, maybe under a ferry that has died since: every
   * process group in which a process carries `FERRY_PROCESS=<one of the markers>` in its
   * environment gets SIGTERM, then after `graceMs` (default 2 s) SIGKILL; resolves once none of
   * their processes is left. Rejects when that cannot be done or told.
   */
  endMarked(markers: readonly string[], options?: { readonly graceMs?: number }): Promise<MarkedEnd>;
  /** Ends connections and kills nothing that has finished; idempotent. */
  close(): Promise<void>;
}

/** "exit 127: command not found", "killed by SIGKILL", "timed out after 5s (killed by SIGTERM)". */
export function describeExit(
  r: Pick<ExecResult, "exitCode" | "signal" | "timedOut" | "aborted">,
  timeoutMs?: number,
): string {
  const how =
    r.signal !== null
      ? `killed by ${r.signal}`
      : r.exitCode === null
        ? "ended without an exit code"
        : exitWords(r.exitCode);
  if (r.timedOut) return `timed out${timeoutMs ? ` after ${formatMs(timeoutMs)}` : ""} (${how})`;
  if (r.aborted) return `interrupted (${how})`;
  return how;
}

/** What the shell's exit codes mean; made once, as every command's end is described with it. */
const EXIT_MEANINGS: Readonly<Record<number, string>> = {
  0: "exit 0",
  1: "exit 1",
  2: "exit 2: misuse of a shell builtin",
  126: "exit 126: command not executable",
  127: "exit 127: command not found",
  130: "exit 130: interrupted (SIGINT)",
  137: "exit 137: killed (SIGKILL)",
  143: "exit 143: terminated (SIGTERM)",
};

function exitWords(code: number): string {
  return EXIT_MEANINGS[code] ?? `exit ${code}`;
}

export function formatMs(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const s = ms / 1000;
  return s < 120 ? `${Number.isInteger(s) ? s : s.toFixed(1)}s` : `${Math.round(s / 60)}m`;
}

/** The last non-empty line of a command's output, trimmed; undefined when there is none. */
export function lastLineOf(output: string | null | undefined): string | undefined {
  if (!output) return undefined;
  const lines = output.split(/\r\n|\r|\n/);
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]?.trim();
    if (line) return line;
  }
  return undefined;
}
