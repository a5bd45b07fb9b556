/**
 * The plan: plain, serialisable data that says every step of every hop, in order, and what may run
 * side by side. The builder (build-plan.ts) makes it without I/O; the executor walks it; the
 * journal keeps it with the run, so a resumed run follows the plan it started with.
 *
 * A phase is a list of stages run one after another. A stage holds pools run side by side (one
 * per component of an `order`); a pool runs its lanes (one per host) in a sliding window of at
 * most `limit` at once; a lane's steps run in sequence.
 */
import type { HopKind, HopMode, HopNote, HopWarning } from "../catalog/index.js";
import type { HealthCheck, HealthGate, MetricGate } from "../cluster/cluster.js";
import type { PhaseName } from "../cluster/cluster-schema.js";
import type { HostRef } from "../drivers/ssh-settings.js";
import type { Window } from "../gates/window.js";
import type { MigrationFile } from "../migrate/migration-files.js";
import type { DrainSpec } from "../probes/traffic-drain.js";

export type { PhaseName };

/**
 * What a step does, checks or undoes. Where it runs comes from its step's host. Each type is
 * carried out by its step kind in src/run/steps/.
 */
export type Action =
  /** A shell command. `back`: rendered and run with the values of the way back ({{version}} is the hop's from). */
  | { readonly type: "exec"; readonly command: string; readonly back?: true }
  /** The step's member passes its health gate. */
  | { readonly type: "health" }
  /** The step's member is taken out of its load balancer, or put back (its `drain`). */
  | { readonly type: "traffic"; readonly op: "drain" | "undrain" }
  /** The step's member reports `version`. */
  | { readonly type: "version-is"; readonly version: string }
  /** Every member reports `version`, and passes a health probe when `healthy`. */
  | { readonly type: "cluster-is"; readonly version: string; readonly healthy: boolean }
  /** Runs `command` on this machine until it exits 0, every `intervalMs`, for at most `deadlineMs`. */
  | {
      readonly type: "wait-until";
      readonly command: string;
      readonly deadlineMs: number;
      readonly intervalMs: number;
    }
  /** Records a moment, such as the point of no return. */
  | { readonly type: "mark" }
  /**
   * The undo of an operator's action that has none (`action`: its name): it cannot be done, so a
   * rollback that reaches it stops there, unless the action's `check` (rendered) says its effect
   * is not there, in which case there is nothing to undo.
   */
  | { readonly type: "irreversible"; readonly action: string; readonly check?: string }
  /** Preflight: the ledger's checksums hold and every data migration up to `release` is complete. */
  | { readonly type: "migrations-ready"; readonly release: string }
  /** Runs one migration file (`1.1.0/expand/0001-add.sql`); a data migration until no row is left. */
  | { readonly type: "migrate"; readonly file: string }
  /** Whether the ledger says the file has run to the end. */
  | { readonly type: "migrated"; readonly file: string }
  /** Records that `release` runs now: data migrations up to it may run (`ferry db online-migrations`). */
  | { readonly type: "schema-mark"; readonly release: string }
  /** A backup of the product's database with its own tool, named after the run and the hop; and back. */
  | { readonly type: "db-backup"; readonly name: string }
  | { readonly type: "db-restore"; readonly name: string }
  /** Asks every member of an active-passive component its role; exactly one must say `active`. */
  | { readonly type: "roles"; readonly component: string }
  /** Waits `ms` after a batch is healthy; a resume waits only what is left of it. */
  | { readonly type: "soak"; readonly ms: number }
  /** Preflight: every gate's Prometheus answers its query (no data is fine yet; an error is not). */
  | { readonly type: "gates-answer"; readonly gates: readonly MetricGate[] }
  /** Measures a metric `count` times and passes or fails the batch by it (src/gates). */
  | { readonly type: "metric-gate"; readonly gate: MetricGate }
  /** Waits for `ferry approve` of this step (`ferry reject` rolls the hop back); `question`: what is asked. */
  | { readonly type: "approval"; readonly question: string }
  /** Waits while Alertmanager has a firing alert that is not ignored; fails after `deadlineMs`. */
  | {
      readonly type: "alarms";
      readonly alertmanager: string;
      readonly ignore: readonly string[];
      readonly deadlineMs: number;
      readonly intervalMs: number;
    };

export interface PlanStep {
  /** The path id: `1.0.1/roll/api/h2/activate`. Keys the journal, the log and the API. */
  readonly id: string;
  /** What it is within its lane, as `plan` shows it: the id's last part (`activate`), `action/NAME` for an action. */
  readonly name: string;
  /** The host it runs on; absent: this machine. */
  readonly host?: string;
  readonly component?: string;
  readonly run: readonly Action[];
  /** Tells whether the effect is already there (asked on resume of a step found running). */
  readonly check?: Action;
  /** Reverses it; absent when there is nothing to reverse. */
  readonly undo?: readonly Action[];
  /** The longest any one command of the step may run. */
  readonly timeoutMs: number;
}

export interface Lane {
  readonly host?: string;
  /**
   * The batch it belongs to (1, 2, …), in a pool that rolls in batches: its lanes of one batch run
   * side by side (within the pool's limit), and the next batch starts once they all have ended.
   */
  readonly batch?: number;
  /** The lane that closes its batch (no host): its steps (soak, gates) run after the batch's hosts. */
  readonly batchEnd?: true;
  /** Redundancy groups its host is in: no two hosts of one group are out of service at once. */
  readonly groups?: readonly string[];
  readonly steps: readonly PlanStep[];
}

export interface Pool {
  readonly component?: string;
  /** At most this many lanes at once (maxUnavailable). */
  readonly limit: number;
  readonly lanes: readonly Lane[];
  /**
   * An active-passive component's roll: `lanes` are in the order predicted when the run was
   * planned. When the hop runs, its `roles` step asks every host its role, and the lanes run in
   * the order that answer gives (orderActivePassive), which the journal keeps for a resume.
   */
  readonly activePassive?: ActivePassive;
}

export interface ActivePassive {
  /** The id of the step that asks the roles, in a stage before this pool. */
  readonly roles: string;
  /** The id of the switchover step, whose host is the standby that takes over. */
  readonly switchover: string;
  /** Every online host of the component in the cluster file's order, with the command that makes it active. */
  readonly hosts: readonly { readonly host: string; readonly switchover: Action }[];
  /**
   * The hop's point of no return, when the cluster file puts it before a host of this component:
   * the id of the mark step, a lane of this pool, and the host it goes before (`first`, `last`
   * or a name), placed again whenever the lanes are ordered by the roles.
   */
  readonly pointOfNoReturn?: { readonly step: string; readonly before: string };
}

export interface Stage {
  readonly pools: readonly Pool[];
}

export interface Phase {
  readonly id: string;
  readonly name: PhaseName | "point-of-no-return";
  readonly stages: readonly Stage[];
}

export interface PlannedHop {
  /** The hop's target version, which prefixes its ids. */
  readonly id: string;
  readonly from: string;
  readonly to: string;
  readonly kind: HopKind;
  readonly mode: HopMode;
  /** The notes and warnings of the releases it enters, from its path (absent in plans journaled before). */
  readonly notes?: readonly HopNote[];
  readonly warnings?: readonly HopWarning[];
  readonly phases: readonly Phase[];
}

/** One component on one host: what ferry observes and probes. */
export interface Member {
  readonly host: string;
  readonly component: string;
  readonly address: string;
  /** The version command, rendered for this member. */
  readonly versionCommand: string;
  readonly health?: { readonly check: HealthCheck; readonly gate: HealthGate };
  /** An active-passive member's role command, rendered: prints `active` or `standby`. */
  readonly roleCommand?: string;
  /** How to take it out of traffic, rendered for this member. */
  readonly drain?: DrainSpec;
  /** Its vars: the cluster's, overridden by the component's, overridden by the host's. */
  readonly vars: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
}

export interface Plan {
  readonly cluster: string;
  /** The cluster file's rule when a step fails, as it was when the run started. */
  readonly onFailure: "rollback" | "pause";
  readonly from: string;
  readonly to: string;
  readonly path: readonly string[];
  /** Where each host is and how to reach it (no secrets: a passphrase is only named). */
  readonly hosts: readonly HostRef[];
  /** Hosts marked offline, left out of the plan. */
  readonly offline: readonly string[];
  readonly members: readonly Member[];
  /** The cluster's vars, for commands that run on this machine. */
  readonly vars: Readonly<Record<string, string>>;
  /**
   * The catalog's release order and every migration for the product's database, as they were when
   * the run was planned; null when the cluster names no database.
   */
  readonly database: {
    readonly releases: readonly string[];
    readonly files: readonly MigrationFile[];
  } | null;
  readonly hops: readonly PlannedHop[];
  /** The maintenance window no step starts outside of; absent: any time (and in plans journaled before). */
  readonly window?: Window;
}

export const POINT_OF_NO_RETURN = "point-of-no-return";

/** Every step of the plan, in plan order (the order the journal numbers them). */
export function* planSteps(plan: Plan): Generator<{ hop: PlannedHop; phase: Phase; step: PlanStep }> {
  for (const hop of plan.hops) {
    for (const phase of hop.phases) {
      for (const stage of phase.stages) {
        for (const pool of stage.pools) {
          for (const lane of pool.lanes) {
            for (const step of lane.steps) yield { hop, phase, step };
          }
        }
      }
    }
  }
}

/** Every step of one phase, in plan order. */
export function phaseSteps(phase: Phase): PlanStep[] {
  return phase.stages.flatMap((st) => st.pools.flatMap(poolSteps));
}

/** Every step of one pool, lane after lane. */
export function poolSteps(pool: Pool): PlanStep[] {
  return pool.lanes.flatMap((l) => l.steps);
}

/** A hop as the dashboard and the event stream show it: its phases and their step ids, no actions. */
export interface HopOutline {
  readonly id: string;
  readonly from: string;
  readonly to: string;
  readonly kind: HopKind;
  readonly mode: HopMode;
  readonly phases: readonly {
    readonly id: string;
    readonly name: Phase["name"];
    readonly steps: readonly string[];
  }[];
}

export function hopOutlines(plan: Plan): HopOutline[] {
  return plan.hops.map((hop) => ({
    id: hop.id,
    from: hop.from,
    to: hop.to,
    kind: hop.kind,
    mode: hop.mode,
    phases: hop.phases.map((phase) => ({
      id: phase.id,
      name: phase.name,
      steps: phaseSteps(phase).map((s) => s.id),
    })),
  }));
}
