/**
 * The gates' steps in a hop's plan (DESIGN.md "Gates"): an alarm check in every hop's preflight
 * and before every component's roll, and the approvals a component asks for around its roll.
 * They are plain steps with a host of none (they run on this machine): journaled, resumed (a
 * resumed approval waits again, or goes on if it was given meanwhile), and with nothing to undo.
 *
 * Without `batches` a component is one batch, so `approve: after-first-batch` and
 * `between-batches` both wait once, when the component's roll is done.
 */
import type { Component } from "../cluster/cluster.js";
import { type HopContext, localStep } from "./hop-context.js";
import type { PlanStep, Pool, Stage } from "./plan.js";

/** `HOP/preflight/alarms`, or `HOP/roll/COMPONENT/alarms`: no firing alert; none without `alarms:`. */
export function alarmStep(ctx: HopContext, id: string): PlanStep | undefined {
  const alarms = ctx.cluster.alarms;
  if (!alarms) return undefined;
  return localStep(ctx, id, [
    {
      type: "alarms",
      alertmanager: alarms.alertmanager,
      ignore: alarms.ignore,
      deadlineMs: alarms.deadlineMs,
      intervalMs: alarms.intervalMs,
    },
  ]);
}

/** A step that waits for `ferry approve`: `question` is what the approver is shown. */
export function approvalStep(ctx: HopContext, id: string, question: string): PlanStep {
  return localStep(ctx, id, [{ type: "approval", question }]);
}

/**
 * What runs just before the components of one `order` roll, side by side per component: its
 * approval (`approve: before`), then the alarm check. No stage when none has any.
 */
export function beforeRollStages(ctx: HopContext, components: readonly Component[]): Stage[] {
  const pools = components.flatMap((c): Pool[] => {
    const steps = [
      ...(c.approve === "before"
        ? [approvalStep(ctx, `roll/${c.name}/approve/before`, approvalQuestion(ctx, c, "before"))]
        : []),
      ...optional(alarmStep(ctx, `roll/${c.name}/alarms`)),
    ];
    return steps.length > 0 ? [{ limit: 1, lanes: [{ steps }] }] : [];
  });
  return pools.length > 0 ? [{ pools }] : [];
}

/**
 * The approvals once the components of one `order` have rolled (one batch each, without batches).
 * A component with `batches` has them in its batches instead (batchGateSteps).
 */
export function afterRollStages(ctx: HopContext, components: readonly Component[]): Stage[] {
  const pools = components.flatMap((c): Pool[] => {
    if (c.batches) return [];
    if (c.approve !== "after-first-batch" && c.approve !== "between-batches") return [];
    const step = approvalStep(
      ctx,
      `roll/${c.name}/approve/${c.approve}`,
      approvalQuestion(ctx, c, c.approve),
    );
    return [{ limit: 1, lanes: [{ steps: [step] }] }];
  });
  return pools.length > 0 ? [{ pools }] : [];
}

/** An offline hop's approvals: one per component that asks for any, before everything stops. */
export function offlineApprovalStages(ctx: HopContext): Stage[] {
  const pools = ctx.cluster.components.flatMap((c): Pool[] =>
    c.approve
      ? [
          {
            limit: 1,
            lanes: [
              { steps: [approvalStep(ctx, `stop/${c.name}/approve`, approvalQuestion(ctx, c, "before"))] },
            ],
          },
        ]
      : [],
  );
  return pools.length > 0 ? [{ pools }] : [];
}

/**
 * What closes batch `batch` of `batches` of a component with `batches`, after its soak and metric
 * gates: the approval it asks for there (`after-first-batch`: after the first; `between-batches`:
 * after each but the last, or after the one there is), then, before a next batch, the alarm check
 * (DESIGN.md: no firing alert before each batch). Ids `V/roll/C/batch-N/approve`, `…/alarms`.
 */
export function batchGateSteps(ctx: HopContext, c: Component, batch: number, batches: number): PlanStep[] {
  if (!c.batches) return [];
  const last = batch === batches;
  const approve =
    (c.approve === "after-first-batch" && batch === 1) ||
    (c.approve === "between-batches" && (!last || batches === 1));
  const id = (what: string) => `roll/${c.name}/batch-${batch}/${what}`;
  return [
    ...(approve
      ? [
          approvalStep(
            ctx,
            id("approve"),
            approvalQuestion(ctx, c, last ? "rolled" : `after batch ${batch} of ${batches}`),
          ),
        ]
      : []),
    ...(last ? [] : optional(alarmStep(ctx, id("alarms")))),
  ];
}

function approvalQuestion(ctx: HopContext, c: Component, where: string): string {
  const what =
    where === "before"
      ? "before its hosts change"
      : where.startsWith("after batch")
        ? `${where}, before its next hosts change`
        : "now that its hosts have rolled";
  return `approve ${c.name} ${what} in hop ${ctx.hop.from} → ${ctx.hop.to}: \`ferry approve\` goes on, \`ferry reject\` rolls the hop back`;
}

function optional<T>(x: T | undefined): T[] {
  return x === undefined ? [] : [x];
}
