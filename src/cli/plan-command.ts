/** `ferry plan [-c cluster.yaml] --to V [--from V] [--json]`: every step of every hop, nothing run. */
import {
  buildPlan,
  describeWindow,
  type Lane,
  migrationsFor,
  type Plan,
  type PlanStep,
  POINT_OF_NO_RETURN,
  planPath,
  type Stage,
  targetOf,
} from "../index.js";
import { loadClusterAndCatalog, observedStart } from "./context.js";
import { printJson, printLines } from "./output.js";
import { releaseNoteLines } from "./release-notes.js";

export interface PlanFlags {
  config: string;
  to?: string;
  from?: string;
  json?: boolean;
}

export async function planCommand(flags: PlanFlags): Promise<void> {
  const { cluster, catalog } = loadClusterAndCatalog(flags);
  const to = targetOf(cluster, flags.to);
  // With --from nothing is asked of the cluster: an active-passive component starts from its first host.
  const { version: from, actives } = flags.from
    ? { version: flags.from, actives: new Map<string, string>() }
    : await observedStart(cluster, catalog, { actives: true });
  const plan = buildPlan(
    cluster,
    planPath(catalog, from, to),
    migrationsFor(cluster.database, catalog),
    actives,
  );
  if (flags.json) printJson(plan);
  else printLines(renderPlan(plan));
}

/**
 * The plan as a tree: hops, phases, and per host the steps it takes, in order. A component whose
 * roll the point of no return cuts in two shows its hosts before it, then `continued` after it.
 */
export function renderPlan(plan: Plan): string[] {
  let steps = 0;
  const lines: string[] = [];
  for (const hop of plan.hops) {
    lines.push(`hop ${hop.from} → ${hop.to}  ${hop.kind}, ${hop.mode}`, ...releaseNoteLines(hop, "  "));
    for (const phase of hop.phases) {
      lines.push(`  ${phase.name}`);
      for (const [i, stage] of phase.stages.entries()) {
        // A component's roll that the point of no return cuts in two: its pool before the mark and after it.
        const cut = isMark(phase.stages[i - 1]) ? phase.stages[i - 2] : undefined;
        for (const pool of stage.pools) {
          const side = stage.pools.length > 1 ? " (side by side)" : "";
          if (pool.component) {
            const again = cut?.pools.some((p) => p.component === pool.component) ? ", continued" : "";
            // An active-passive pool has a lane for its switchover too, on a host that has one already.
            // The point of no return may be a lane of an active-passive pool too, on no host.
            const hosts = new Set(pool.lanes.flatMap((l) => (l.host ? [l.host] : []))).size;
            const counted = `${hosts} host${hosts === 1 ? "" : "s"}`;
            const sizes = batchSizes(pool.lanes);
            const window =
              sizes.length > 1 || (sizes.length === 1 && pool.limit >= hosts && hosts > 1)
                ? `in batches of ${sizes.join(", ")}, each batch side by side`
                : `at most ${pool.limit} at once`;
            lines.push(`    ${pool.component}${again}: ${counted}, ${window}${side}`);
          }
          for (const lane of pool.lanes) {
            steps += lane.steps.length;
            if (lane.batchEnd) {
              lines.push(`      after batch ${lane.batch}: ${lane.steps.map(describeBatchStep).join(" → ")}`);
            } else if (lane.host && pool.component) {
              const groups = lane.groups ? ` [${lane.groups.join(", ")}]` : "";
              const batch = lane.batch !== undefined ? `batch ${lane.batch} ` : "";
              lines.push(`      ${batch}${lane.host}${groups}: ${lane.steps.map((s) => s.name).join(" → ")}`);
            } else {
              const indent = pool.component ? "      " : "    ";
              for (const s of lane.steps) lines.push(`${indent}${s.id}${describeStep(s)}`);
            }
          }
        }
      }
    }
  }
  const offline = plan.offline.length > 0 ? [`left out, marked offline: ${plan.offline.join(", ")}`] : [];
  const window = plan.window ? [`window: ${describeWindow(plan.window)}; no step starts outside it`] : [];
  return [
    `${plan.cluster} ${plan.from} → ${plan.to} through ${plan.path.join(" → ")}: ${steps} steps`,
    ...window,
    ...offline,
    ...lines,
  ];
}

/** How many hosts each batch of a pool has (its lanes that close a batch left out); none without batches. */
function batchSizes(lanes: readonly Lane[]): number[] {
  const sizes = new Map<number, number>();
  for (const l of lanes) {
    if (l.batch === undefined || l.batchEnd) continue;
    sizes.set(l.batch, (sizes.get(l.batch) ?? 0) + 1);
  }
  return [...sizes.values()];
}

/** `soak 30s`, `gate error-rate (sum(rate(…)) below 0.01, 3 × 10s)`. */
function describeBatchStep(step: PlanStep): string {
  const a = step.run[0];
  if (a?.type === "soak") return `soak ${a.ms / 1000}s`;
  if (a?.type === "metric-gate") {
    const g = a.gate;
    return `gate ${g.name} (${g.prometheus.query} ${g.prometheus.bound} ${g.prometheus.threshold}, ${g.count} × ${g.intervalMs / 1000}s)`;
  }
  return step.name;
}

function isMark(stage: Stage | undefined): boolean {
  return stage?.pools[0]?.lanes[0]?.steps[0]?.name === POINT_OF_NO_RETURN;
}

function describeStep(step: PlanStep): string {
  if (step.name === POINT_OF_NO_RETURN) return "  (from here on, ferry never undoes this hop by itself)";
  const gate = step.run[0];
  if (gate?.type === "approval") return "  (waits for `ferry approve`)";
  if (gate?.type === "alarms") return `  (waits while an alert fires in ${gate.alertmanager})`;
  const first = step.run[0];
  const where = step.host ? ` on ${step.host}` : "";
  return `${where}${first?.type === "exec" ? `  $ ${first.command}` : ""}`;
}
