/**
 * Fault injection at named points, for the crash tests: a `Faults` made by `faultAt(point)` kills
 * the process with SIGKILL when the run reaches that point, as `kill -9` would there.
 *
 * Points: `journal#N` (right after the N-th journal write of this process is durable),
 * `STEP_ID:started` (journal says running, the action has not begun), `STEP_ID:finished`,
 * `STEP_ID:failed`, `STEP_ID:undone`, `data-batch#N` (right after a data migration's N-th batch
 * committed), and `notify-sent#N` (right after the N-th notification of this process was answered
 * 2xx, before ferry recorded it delivered). A test first counts the journal writes of a run, then
 * crashes at each.
 *
 * The library never reads the environment for it: only the CLI's apply, resume and rollback turn
 * FERRY_FAULT into a `Faults` and pass it in, so a server or the demo, which run upgrades in a
 * long-lived process, cannot be killed by a variable left in their environment.
 */

export interface Faults {
  hit(point: string): void;
}

export const NO_FAULTS: Faults = { hit() {} };

/** Faults that SIGKILL this process at `point`; no faults for an empty or absent point. */
export function faultAt(point: string | undefined): Faults {
  if (!point) return NO_FAULTS;
  return {
    hit(reached) {
      if (reached === point) process.kill(process.pid, "SIGKILL");
    },
  };
}
