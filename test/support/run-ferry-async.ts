/** Runs bin/ferry without blocking, so several runs can go side by side. */
import { spawn } from "node:child_process";
import { FERRY, ROOT } from "./run-ferry.js";

export interface AsyncResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * bin/ferry started, with its pid, so a test can signal it mid-run; `done` when it has exited;
 * `saw(pattern)` once what it printed (either stream) matches.
 */
export function startFerry(
  args: readonly string[],
  env: Record<string, string> = {},
): { pid: number; done: Promise<AsyncResult>; saw(pattern: RegExp): Promise<void> } {
  const child = spawn(FERRY, args, {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  const watchers: { pattern: RegExp; resolve: () => void }[] = [];
  const check = () => {
    for (const w of [...watchers]) {
      if (w.pattern.test(stdout) || w.pattern.test(stderr)) {
        watchers.splice(watchers.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  child.stdout.on("data", (d) => {
    stdout += d;
    check();
  });
  child.stderr.on("data", (d) => {
    stderr += d;
    check();
  });
  const done = new Promise<AsyncResult>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  const saw = (pattern: RegExp) =>
    new Promise<void>((resolve, reject) => {
      watchers.push({ pattern, resolve });
      check();
      void done.then(() =>
        reject(new Error(`ferry exited without printing ${pattern}:\n${stdout}${stderr}`)),
      );
    });
  return { pid: child.pid as number, done, saw };
}

export function ferryAsync(args: readonly string[], env: Record<string, string> = {}): Promise<AsyncResult> {
  return startFerry(args, env).done;
}
