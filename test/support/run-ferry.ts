/** Runs the real `bin/ferry` (the compiled CLI, built by `npm test` before the tests run). */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const FERRY = `${ROOT}bin/ferry`;

export interface FerryResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function ferry(args: readonly string[], options: { cwd?: string } = {}): FerryResult {
  const r = spawnSync(FERRY, args, {
    cwd: options.cwd ?? ROOT,
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1" },
  });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs a shell command line with bin/ on PATH, as a reader of the README would. */
export function shell(line: string): FerryResult {
  const r = spawnSync("sh", ["-c", line], {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1", PATH: `${ROOT}bin:${process.env.PATH}` },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
