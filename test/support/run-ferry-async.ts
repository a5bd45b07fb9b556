/** Runs bin/ferry without blocking, so several runs can go side by side. */
import { spawn } from "node:child_process";
import { FERRY, ROOT } from "./run-ferry.js";

export interface AsyncResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** bin/ferry started, with its pid, so a test can signal it mid-run; `done` when it has exited. */
export function startFerry(
  args: readonly string[],
  env: Record<string, string> = {},
): { pid: number; done: Promise<AsyncResult> } {
  const child = spawn(FERRY, args, {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => {
    stdout += d;
  });
  child.stderr.on("data", (d) => {
    stderr += d;
  });
  const done = new Promise<AsyncResult>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { pid: child.pid as number, done };
}

export function ferryAsync(args: readonly string[], env: Record<string, string> = {}): Promise<AsyncResult> {
  return startFerry(args, env).done;
}
