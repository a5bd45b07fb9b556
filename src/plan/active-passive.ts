/**
 * The roll of an active-passive component (StarlingX's controllers, Cinder's volume service) in
 * the order its roles give: the standbys first, one at a time, in the cluster file's order; then a
 * switchover to the first of them; then the host that was active. The plan builder uses it with
 * the active host it predicts; the executor again, when the hop runs, with the one its roles step
 * saw, since a switchover (or an operator's failover) between hops may have made another host
 * active than predicted. Pure: the same pool and active host give the same order.
 *
 * A point of no return put before a host of the component (StarlingX: before the second
 * controller) is a lane of the pool, not a cut between two stages: which host rolls last is only
 * known once the roles are asked, so the mark is placed here, with the rest of the order, before
 * the host the roles make first, last (the one active when the hop started) or the named one.
 */
import type { Lane, PlanStep, Pool } from "./plan.js";

/**
 * `pool` with its lanes in the order for `active`, and its switchover step on the first standby,
 * undone by switching back to `active`. A pool that is not active-passive, or an `active` that is
 * not one of its hosts, is returned as it is.
 *
 * @example orderActivePassive(pool, "h2").lanes.map((l) => l.host) // ["h1", "h3", "h1", "h2"]
 */
export function orderActivePassive(pool: Pool, active: string): Pool {
  const ap = pool.activePassive;
  if (!ap?.hosts.some((h) => h.host === active)) return pool;
  const isSwitchover = (lane: Lane) => lane.steps.some((s) => s.id === ap.switchover);
  const isMark = (lane: Lane) => lane.steps.some((s) => s.id === ap.pointOfNoReturn?.step);
  const switchover = pool.lanes.find(isSwitchover);
  if (!switchover) return pool;
  const laneOf = new Map(pool.lanes.filter((l) => !isSwitchover(l) && !isMark(l)).map((l) => [l.host, l]));
  const standbys = ap.hosts.filter((h) => h.host !== active);
  const next = standbys[0];
  const was = ap.hosts.find((h) => h.host === active);
  if (!next || !was) return pool;
  const step = switchover.steps[0] as PlanStep;
  const retargeted: PlanStep = { ...step, host: next.host, run: [next.switchover], undo: [was.switchover] };
  const lanes = [...standbys.map((h) => h.host), active].flatMap((h) => {
    const lane = laneOf.get(h);
    return lane ? [lane] : [];
  });
  lanes.splice(standbys.length, 0, { ...switchover, host: next.host, steps: [retargeted] });
  const mark = pool.lanes.find(isMark);
  if (mark) lanes.splice(markAt(lanes, ap.pointOfNoReturn?.before, isSwitchover), 0, mark);
  // The lane that closes the roll (its soak and gates) stays at its end.
  return { ...pool, lanes: [...lanes, ...pool.lanes.filter((l) => l.batchEnd)] };
}

/** Where the point of no return goes in the ordered lanes: before the first, the last, or the named host's roll. */
function markAt(
  lanes: readonly Lane[],
  before: string | undefined,
  isSwitchover: (l: Lane) => boolean,
): number {
  if (before === "first") return 0;
  const named = lanes.findIndex((l) => l.host === before && !isSwitchover(l));
  return before !== "last" && named >= 0 ? named : lanes.length - 1;
}
