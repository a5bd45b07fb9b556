/**
 * Fault injection at named points, for the crash tests: when FERRY_FAULT names a point that the
 * run reaches, ferry kills itself with SIGKILL right there, as `kill -9` would.
 *
 * Points: `journal#N` (right after the N-th journal write of this process is durable),
 * `STEP_ID:started` (journal says running, the action has not begun), `STEP_ID:finished`,
 * `STEP_ID:failed`, `STEP_ID:undone`, `data-batch#N` (right after a data migration's N-th
 * batch committed), and `notify-sent#N` (right after the N-th notification of this process was
 * answered 2xx, before ferry recorded it delivered). A test first counts the journal writes of a run, then crashes at each.
 */

export interface Faults {
  hit(point: string): void;
}

export const NO_FAULTS: Faults = { hit() {} };

export function faultsFromEnv(env: NodeJS.ProcessEnv = process.env): Faults {
  const wanted = env.FERRY_FAULT;
  if (!wanted) return NO_FAULTS;
  return {
    hit(point) {
      if (point === wanted) process.kill(process.pid, "SIGKILL");
    },
  };
}
