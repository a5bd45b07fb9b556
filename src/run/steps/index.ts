/**
 * The step kinds: what each type of plan `Action` does, one small module per kind, looked up here
 * by the action's `type`. Adding a kind is adding its file and a line to `STEP_KINDS`; the map
 * `satisfies` every type of the union, so a type without a kind does not compile.
 *
 * Kept under src/run/ because carrying out a step is part of running a plan (DESIGN.md's layout
 * gives run/ the executor); the executor itself only walks, journals, undoes and handles signals,
 * as Terraform's runner knows none of its providers and Nomad looks its drivers up by name.
 */
import type { Action } from "../../plan/plan.js";
import { alarmCheck } from "./alarm-check.js";
import { approvalGate } from "./approval-gate.js";
import { clusterIs } from "./cluster-is.js";
import { dbBackup, dbRestore, migrate, migrated, migrationsReady, schemaMark } from "./database-steps.js";
import { gatesAnswer } from "./gates-answer.js";
import { healthGate } from "./health-gate.js";
import { irreversible } from "./irreversible.js";
import { mark } from "./mark.js";
import { memberTraffic } from "./member-traffic.js";
import { metricGate } from "./metric-gate.js";
import { roles } from "./roles.js";
import { runCommand } from "./run-command.js";
import { soak } from "./soak.js";
import type { ActionOf, StepContext, StepKind, StepResult } from "./step-kind.js";
import { versionIs } from "./version-is.js";
import { waitUntil } from "./wait-until.js";

export { CommandEnvs } from "./command-env.js";
export { failed, type StepContext, type StepKind, type StepResult } from "./step-kind.js";

const STEP_KINDS = {
  exec: runCommand,
  health: healthGate,
  traffic: memberTraffic,
  "version-is": versionIs,
  "cluster-is": clusterIs,
  "wait-until": waitUntil,
  mark,
  irreversible,
  "migrations-ready": migrationsReady,
  migrate,
  migrated,
  "schema-mark": schemaMark,
  "db-backup": dbBackup,
  "db-restore": dbRestore,
  roles,
  soak,
  "metric-gate": metricGate,
  "gates-answer": gatesAnswer,
  approval: approvalGate,
  alarms: alarmCheck,
} satisfies { readonly [T in Action["type"]]: StepKind<ActionOf<T>> };

/** Carries out one action by its kind. */
export function runAction(action: Action, ctx: StepContext): Promise<StepResult> {
  // The map pairs each type with the kind of that type, which TypeScript cannot follow through an
  // index by a union: the lookup is widened to the kind of any action.
  const kind: StepKind<Action> = STEP_KINDS[action.type];
  return kind.run(action, ctx);
}
