/**
 * `ferry check --to V`: the first hop's preflight, run as `apply` would run it — every member on
 * the hop's start release and healthy, the migration ledger, the target installable on every
 * online host, the operator's own checks — but journaled nowhere and changing nothing. Its steps
 * only look; the phase's hooks and actions, which may act, are left out, and so is a point of no
 * return placed before such an action.
 */
import type { Cluster } from "../cluster/cluster.js";
import { type Phase, type Plan, type PlanStep, POINT_OF_NO_RETURN, phaseSteps } from "../plan/plan.js";
import { MemoryStore } from "../store/memory-store.js";
import type { RunEvents } from "./events.js";
import { Executor, type FailedStep } from "./executor.js";
import { NO_FAULTS } from "./faults.js";
import type { DriverFor } from "./observe.js";
import { databaseOf } from "./upgrade.js";

export interface PreflightResult {
  /** The steps checked, in plan order. */
  readonly checked: readonly string[];
  /** The first that did not pass; absent when all did. */
  readonly failed?: FailedStep;
}

const RUN_ID = "check";

export async function checkPreflight(options: {
  readonly cluster: Cluster;
  readonly plan: Plan;
  readonly driverFor: DriverFor;
  readonly events?: RunEvents;
}): Promise<PreflightResult> {
  const { cluster } = options;
  const first = options.plan.hops[0];
  if (!first) return { checked: [] };
  const phases = first.phases
    .filter((p) => p.name === "preflight")
    .map((p) => ({
      ...p,
      stages: p.stages.filter((s) => !s.pools.some((pool) => pool.lanes.some((l) => mayAct(l.steps)))),
    }));
  // One hop, nothing after its preflight: nothing the executor could reach changes anything.
  // A check does not wait: not for a window, and an alert that would hold the run fails it.
  const { window: _window, ...rest } = options.plan;
  const plan: Plan = { ...rest, onFailure: "rollback", hops: [{ ...first, phases: phases.map(noWaiting) }] };
  const checked = phases.flatMap((p) => phaseSteps(p).map((s) => s.id));
  const store = new MemoryStore();
  await store.init();
  await store.createRun(
    {
      id: RUN_ID,
      cluster: plan.cluster,
      from: plan.from,
      to: first.to,
      path: [first.from, first.to],
      status: "running",
      startedAt: Date.now(),
      startedBy: "ferry check",
      plan,
      files: {},
    },
    // The executor asks whether a failed hop has passed its point of no return: it has not.
    [...checked, `${first.id}/${POINT_OF_NO_RETURN}`],
  );
  const database = databaseOf(cluster, plan, RUN_ID, NO_FAULTS);
  try {
    const outcome = await new Executor({
      store,
      runId: RUN_ID,
      plan,
      driverFor: options.driverFor,
      ...(database.migrations ? { migrations: database.migrations } : {}),
      ...(options.events ? { events: options.events } : {}),
    }).forward();
    return { checked, ...(outcome.failed ? { failed: outcome.failed } : {}) };
  } finally {
    await database.close();
    await store.close();
  }
}

function noWaiting(phase: Phase): Phase {
  const step = (s: PlanStep): PlanStep => ({
    ...s,
    run: s.run.map((a) => (a.type === "alarms" ? { ...a, deadlineMs: 0 } : a)),
  });
  return {
    ...phase,
    stages: phase.stages.map((st) => ({
      pools: st.pools.map((pool) => ({
        ...pool,
        lanes: pool.lanes.map((l) => ({ ...l, steps: l.steps.map(step) })),
      })),
    })),
  };
}

/** Hooks and actions, which may change things, and the point of no return, which only they can follow. */
function mayAct(steps: readonly PlanStep[]): boolean {
  return steps.some(
    (s) =>
      s.name === "before-hook" ||
      s.name === "after-hook" ||
      s.name.startsWith("action/") ||
      s.name === POINT_OF_NO_RETURN,
  );
}
