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
  /** Resolves once stdout and stderr so far (together) match `pattern`; rejects if ferry exits first, or after `ms`. */
  until(pattern: RegExp, ms?: number): Promise<void>;
}

/** bin/ferry started, with its pid, so a test can signal it mid-run when its output says so. */
export function startFerry(args: readonly string[], env: Record<string, string> = {}): StartedFerry {
  const child = spawn(FERRY, args, {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  let exited = false;
  const waiting = new Set<() => void>();
  const heard = () => {
    for (const check of [...waiting]) check();
  };
  child.stdout.on("data", (d) => {
    stdout += d;
    heard();
  });
  child.stderr.on("data", (d) => {
    stderr += d;
    heard();
  });
  const done = new Promise<AsyncResult>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => {
      exited = true;
      heard();
      resolve({ code, signal, stdout, stderr });
    });
  });
  const until = (pattern: RegExp, ms = 20_000) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        waiting.delete(check);
        reject(new Error(`ferry did not print ${pattern} within ${ms} ms:\n${stdout}${stderr}`));
      }, ms);
      const check = () => {
        if (pattern.test(stdout + stderr)) {
          waiting.delete(check);
          clearTimeout(timer);
          resolve();
        } else if (exited) {
          waiting.delete(check);
          clearTimeout(timer);
          reject(new Error(`ferry exited without printing ${pattern}:\n${stdout}${stderr}`));
        }
      };
      waiting.add(check);
      check();
    });
  return { pid: child.pid as number, done, until };
}

export function ferryAsync(args: readonly string[], env: Record<string, string> = {}): Promise<AsyncResult> {
  return startFerry(args, env).done;
}
