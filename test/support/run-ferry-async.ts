/** Runs bin/ferry without blocking, so several runs can go side by side. */
import { spawn } from "node:child_process";
import { FERRY, ROOT } from "./run-ferry.js";

export interface AsyncResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface StartedFerry {
  readonly pid: number;
  /** Settles when it has exited. */
  readonly done: Promise<AsyncResult>;
  /** What it printed so far, stdout and stderr together. */
  output(): string;
  /**
   * Resolves once its output (either stream) matches `pattern`: the named point where a test acts
   * on a run in progress. Rejects if it exits first, or after `ms`.
   */
  waitFor(pattern: RegExp, ms?: number): Promise<void>;
}

/**
 * bin/ferry started, with its pid, so a test can signal it mid-run; `done` when it has exited.
 * `cwd`: where it runs (default the repository), for a cluster whose commands are relative to it.
 */
export function startFerry(
  args: readonly string[],
  env: Record<string, string> = {},
  options: { cwd?: string } = {},
): StartedFerry {
  const child = spawn(FERRY, args, {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, NO_COLOR: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  let both = "";
  const waiters = new Set<() => void>();
  const heard = () => {
    for (const w of waiters) w();
  };
  child.stdout.on("data", (d) => {
    stdout += d;
    both += d;
    heard();
  });
  child.stderr.on("data", (d) => {
    stderr += d;
    both += d;
    heard();
  });
  let exited = false;
  const done = new Promise<AsyncResult>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => {
      exited = true;
      heard();
      resolve({ code, signal, stdout, stderr });
    });
  });
  return {
    pid: child.pid as number,
    done,
    output: () => both,
    waitFor(pattern, ms = 30_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => finish(new Error(`no output matching ${pattern} within ${ms} ms:\n${both}`)),
          ms,
        );
        const finish = (err?: Error) => {
          waiters.delete(check);
          clearTimeout(timer);
          if (err) reject(err);
          else resolve();
        };
        const check = () => {
          if (pattern.test(both)) finish();
          else if (exited) finish(new Error(`ferry exited before printing ${pattern}:\n${both}`));
        };
        waiters.add(check);
        check();
      });
    },
  };
}

export function ferryAsync(
  args: readonly string[],
  env: Record<string, string> = {},
  options: { cwd?: string } = {},
): Promise<AsyncResult> {
  return startFerry(args, env, options).done;
}
