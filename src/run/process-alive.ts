/**
 * Whether a process on this machine is alive. `kill(pid, 0)` alone is not enough: it succeeds for
 * a zombie, a process that has exited but whose parent has not reaped it yet (a supervisor that
 * does not wait for its children, or an init that reaps only now and then), and a zombie holds
 * nothing: no lock, no port, no work.
 */
import { existsSync, readFileSync } from "node:fs";

/**
 * @example
 * processAlive(process.pid); // true
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: it exists, under another user; /proc still tells whether it runs.
    if ((err as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  return !procSaysDead(pid);
}

/** /proc/PID/stat shows a zombie, or no longer exists. Without /proc (not Linux) it says nothing. */
function procSaysDead(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ENOENT" && existsSync("/proc/self/stat");
  }
  // The process name, in parentheses, may itself hold ") ": the state letter follows the last one.
  return stat[stat.lastIndexOf(")") + 2] === "Z";
}
