/**
 * Which steps `ferry host undo HOST` undoes, and when it refuses (DESIGN.md "Repairing one host";
 * StarlingX: "temporarily downgrading the host, addressing the issues and then upgrading the host
 * again"). Pure: the run's plan and its journal in; the steps to undo out, or a RefusedError that
 * says why and the way out. Nothing here runs a command or writes the journal.
 *
 * A host's steps of a hop are its own lanes' steps (ids `V/PHASE/COMPONENT/HOST/…`): its roll
 * (drain → stop → install → activate → start → health → undrain, with the component's actions at
 * their points, and the switchover it made as the new active one) and its after-unpin actions.
 * Undone in reverse plan order they put it back: undrain's undo drains, start's undo stops,
 * activate's undo activates the old release, stop's undo starts it and waits for health, and
 * drain's undo undrains. The cluster's own steps that merely ran there (a cluster action `on` the
 * host, a preflight check) are not the host's and stay.
 */
import { RefusedError } from "../errors.js";
import { orderActivePassive } from "../plan/active-passive.js";
import type { Lane, Phase, Plan, PlannedHop, PlanStep, Pool } from "../plan/plan.js";
import type { StepRecord, StepState } from "../store/state-store.js";

export interface HostUndoSteps {
  /** The run's current hop: the first with a step not done. */
  readonly hop: PlannedHop;
  /** The host's steps of that hop that ran or may have run, in the order to undo them (reverse plan order). */
  readonly steps: readonly PlanStep[];
}

/**
 * The steps that take `host` back to the release it ran before the run's current hop.
 *
 * Refused (nothing changed): a host not in the run's plan, or not touched by the current hop; an
 * offline hop (its releases do not run side by side); a hop that has unpinned or begun its data or
 * contract migrations (a host on the old release could not rejoin); nothing to undo (its steps
 * pending or undone already); a step whose undo is an action without `undo` nor a `check`; and a
 * host whose undo would put more hosts out of service at once than the plan allows, counting the
 * hosts the stopped run left out of service (a roll begun and not finished).
 */
export function hostUndoSteps(
  runId: string,
  plan: Plan,
  records: readonly StepRecord[],
  host: string,
): HostUndoSteps {
  const states = new Map(records.map((r) => [r.id, r.state]));
  const observed = new Map(records.map((r) => [r.id, r.observed]));
  // An active-passive pool runs in the order its roles step saw, as the executor orders it.
  const ordered = (pool: Pool): Pool => {
    const active = pool.activePassive && observed.get(pool.activePassive.roles)?.active;
    return active ? orderActivePassive(pool, active) : pool;
  };
  const stateOf = (id: string): StepState => states.get(id) ?? "pending";
  if (!plan.hosts.some((h) => h.name === host)) {
    const offline = (plan.offline ?? []).includes(host) ? ", which left it out as offline" : "";
    throw new RefusedError(
      `${host} is not in the plan of run ${runId}${offline}: the run changed nothing there to undo`,
      "host-undo-in-plan",
      "name a host the run upgrades (`ferry status` lists the run's steps)",
    );
  }
  const hop = plan.hops.find((h) => hopSteps(h).some((s) => stateOf(s.id) !== "done"));
  if (!hop) {
    throw new RefusedError(
      `every step of run ${runId} is done: there is no hop in progress to take ${host} back from`,
      "host-undo-in-hop",
      "`ferry resume` finishes the run",
    );
  }
  const hopName = `hop ${hop.from} → ${hop.to}`;
  if (hop.mode === "offline") {
    throw new RefusedError(
      `${hopName} of run ${runId} is offline: its releases do not run side by side, so ${host} cannot go back to ${hop.from} alone`,
      "host-undo-offline",
      `fix ${host} where it is and run \`ferry resume\`${pastPointOfNoReturn(hop, stateOf) ? "" : ", or `ferry rollback` takes every host back"}`,
    );
  }
  const lanes = hostLanes(hop, host, ordered);
  const steps = lanes.flatMap(({ lane }) => lane.steps);
  if (steps.length === 0) {
    throw new RefusedError(
      `${host} is not touched by ${hopName} of run ${runId}: it has no steps there to undo`,
      "host-undo-in-hop",
      "name a host the hop upgrades (`ferry plan` lists each host's steps)",
    );
  }
  const beyond = beyondTheRoll(hop, stateOf);
  if (beyond) {
    throw new RefusedError(
      `${hopName} has gone beyond its roll (${beyond.id} is ${beyond.state}): once unpinned or migrated, ${host} on ${hop.from} could not rejoin the cluster`,
      "host-undo-after-roll",
      `fix ${host} where it is and run \`ferry resume\``,
    );
  }
  const ran = steps.filter((s) => stateOf(s.id) !== "pending" && stateOf(s.id) !== "undone");
  if (ran.length === 0) {
    const begun = steps.some((s) => stateOf(s.id) === "undone");
    throw new RefusedError(
      `nothing to undo: ${host}'s steps of ${hopName} are ${begun ? "undone already" : "all pending (its roll has not begun)"}`,
      "host-undo-nothing",
      `\`ferry resume\` ${begun ? "upgrades it again" : "upgrades it"} with the rest of the run`,
    );
  }
  const irreversible = ran.find((s) =>
    s.undo?.some((a) => a.type === "irreversible" && a.check === undefined),
  );
  if (irreversible) {
    throw new RefusedError(
      `${host} cannot be taken back to ${hop.from}: ${irreversible.id} is an action without undo (nor a check to tell that its effect is gone)`,
      "host-undo-irreversible",
      `fix ${host} where it is and run \`ferry resume\``,
    );
  }
  const busy = outOfServiceBeside(hop, host, stateOf, ordered);
  if (busy) {
    throw new RefusedError(
      `undoing ${host} takes it out of service, and ${busy.host} is out of service already (the run stopped with ${busy.step} ${stateOf(busy.step)}); ${busy.why}`,
      "host-undo-redundancy",
      `take ${busy.host} back first (\`ferry host undo ${busy.host}\`), or fix it and run \`ferry resume\``,
    );
  }
  return { hop, steps: ran.reverse() };
}

function hopSteps(hop: PlannedHop): PlanStep[] {
  return hop.phases.flatMap(phaseSteps);
}

function phaseSteps(phase: Phase): PlanStep[] {
  return phase.stages.flatMap((st) => st.pools.flatMap((p) => p.lanes.flatMap((l) => l.steps)));
}

/** A lane of the hop that is one host's own (every step's id `PHASE/COMPONENT/HOST/…`), and where it is. */
interface HostLane {
  readonly phase: Phase;
  readonly pool: Pool;
  readonly lane: Lane;
}

/** The host's own lanes in the hop, in plan order; the preflight's checks change nothing and are left out. */
function hostLanes(hop: PlannedHop, host: string | undefined, ordered: (pool: Pool) => Pool): HostLane[] {
  return hop.phases
    .filter((phase) => phase.name !== "preflight")
    .flatMap((phase) =>
      phase.stages.flatMap((stage) =>
        stage.pools.map(ordered).flatMap((pool) =>
          pool.lanes
            .filter((lane) => lane.host !== undefined && (host === undefined || lane.host === host))
            .filter((lane) => lane.steps.every((s) => ownStep(phase, s, lane.host as string)))
            .map((lane) => ({ phase, pool, lane })),
        ),
      ),
    );
}

/**
 * A cluster action that runs on each host (`V/PHASE/action/NAME/HOST`) is the cluster's, not the
 * host's; the switchover (`V/roll/COMPONENT/switchover`) is the host's that it made active.
 */
function ownStep(phase: Phase, step: PlanStep, host: string): boolean {
  return (
    step.host === host &&
    step.component !== undefined &&
    (step.id.startsWith(`${phase.id}/${step.component}/${host}/`) ||
      step.id === `${phase.id}/${step.component}/switchover`)
  );
}

function pastPointOfNoReturn(hop: PlannedHop, stateOf: (id: string) => StepState): boolean {
  return stateOf(`${hop.id}/point-of-no-return`) === "done";
}

/**
 * The first step showing that the hop has left its roll behind in a way an old host cannot follow:
 * its unpin (components speak only the new protocol), or its data or contract migrations.
 */
function beyondTheRoll(
  hop: PlannedHop,
  stateOf: (id: string) => StepState,
): { id: string; state: StepState } | undefined {
  const marks = hop.phases.flatMap((p) =>
    p.name === "data" || p.name === "contract"
      ? phaseSteps(p)
      : phaseSteps(p).filter((s) => s.id === `${hop.id}/activate/unpin`),
  );
  const begun = marks.find((s) => stateOf(s.id) !== "pending");
  return begun && { id: begun.id, state: stateOf(begun.id) };
}

/**
 * Another host the stopped run left out of service (its roll begun and not finished) that may not
 * be out at once with `host`: they share a redundancy group, or their component allows no more
 * hosts out at once (its window, as the plan has it). Only what the journal says is counted: a
 * host that is down for another reason is not known here.
 */
function outOfServiceBeside(
  hop: PlannedHop,
  host: string,
  stateOf: (id: string) => StepState,
  ordered: (pool: Pool) => Pool,
): { host: string; step: string; why: string } | undefined {
  const roll = hostLanes(hop, undefined, ordered).filter(({ phase }) => phase.name === "roll");
  const mine = roll.filter(({ lane }) => lane.host === host);
  const open = (lane: Lane) =>
    lane.steps.some((s) => stateOf(s.id) !== "pending" && stateOf(s.id) !== "undone") &&
    lane.steps.some((s) => stateOf(s.id) !== "done");
  const out = roll.filter(({ lane }) => lane.host !== host && open(lane));
  for (const other of out) {
    const step = other.lane.steps.find((s) => stateOf(s.id) !== "done")?.id ?? "";
    const group = (other.lane.groups ?? []).find((g) => mine.some(({ lane }) => lane.groups?.includes(g)));
    if (group) return { host: other.lane.host as string, step, why: `they share redundancy group ${group}` };
    const component = other.pool.component;
    if (!component || !mine.some(({ pool }) => pool.component === component)) continue;
    const limit = Math.max(
      ...roll.filter(({ pool }) => pool.component === component).map(({ pool }) => pool.limit),
    );
    const outOfC = new Set(
      out.filter(({ pool }) => pool.component === component).map(({ lane }) => lane.host),
    );
    if (outOfC.size + 1 > limit) {
      return {
        host: other.lane.host as string,
        step,
        why: `${component} allows at most ${limit} of its hosts out of service at once`,
      };
    }
  }
  return undefined;
}
