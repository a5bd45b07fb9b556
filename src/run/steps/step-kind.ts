/**
 * The contract of a step kind: how one type of plan `Action` is carried out. The executor walks
 * the plan and journals; it hands each action to its kind (index.ts) with a `StepContext`, and
 * records the `StepResult`. A kind knows nothing of the journal, of undo order or of signals.
 *
 * A step's verbs are in the plan (`run`, `check`, `undo`: lists of actions), so a kind has one
 * function, `run`: checking or undoing is carrying out the actions the plan lists for that verb.
 */
import type { Driver } from "../../drivers/driver.js";
import type { Action, Member, PlanStep } from "../../plan/plan.js";
import type { Measurement, RunNote } from "../../store/state-store.js";
import type { RunEvents } from "../events.js";
import type { MigrationRunner } from "../migration-runner.js";
import type { DriverFor, Observation } from "../observe.js";
import type { HoldResult, WaitingSlot } from "../waiting.js";

/** What a kind may use while it acts: the step, where it runs, and the run's shared parts. */
export interface StepContext {
  readonly runId: string;
  readonly step: PlanStep;
  /** The component on the step's host; absent for a step of the whole cluster or of this machine. */
  readonly member: Member | undefined;
  /** The driver of the step's host (of this machine when the step has none). */
  readonly driver: Driver;
  /** Aborted when the run must stop at once (its lock was lost): commands in flight are killed. */
  readonly signal: AbortSignal;
  /** The run's listeners, for what a step has to say while it runs (its output lines). */
  readonly events: RunEvents;
  /**
   * The FERRY_* values of the step's member (or this machine) in its hop; `back`: the way back's.
   * A method of the context (`ctx.env(…)`), not a function to take out of it.
   */
  env(this: StepContext, back: boolean): Readonly<Record<string, string>>;
  /** Every member of the plan and the driver of any host, for a step about the whole cluster. */
  readonly members: readonly Member[];
  readonly driverFor: DriverFor;
  /** The product's database, opened on first use; rejects when the cluster file names none. */
  readonly database: () => Promise<MigrationRunner>;
  /**
   * FERRY_PROCESS for the step's commands: derived from the run, the step and its attempt (or its
   * undo), so that a resume after ferry died finds what they left running (Driver.endMarked).
   */
  readonly marker: string;
  /**
   * When this step began: for a step taken up again after ferry stopped (found running), when it
   * first began, so that a soak resumed waits only what is left of it.
   */
  readonly since: number;
  /** The step's attempt (1, 2, …): a measurement is journaled with it. */
  readonly attempt: number;
  /** Journals a gate's measurement with the run (durable before it resolves) and tells the listeners. A method, as env. */
  measured(this: StepContext, m: Omit<Measurement, "step" | "attempt">): Promise<void>;
  /** The run's waiting state, for a gate that holds the run (src/run/waiting.ts: `hold`). */
  readonly waiting: WaitingSlot;
  /** The run's notes so far (an approval's answer is one), oldest first. */
  readonly notes: () => Promise<RunNote[]>;
  /**
   * What the run's start observed of the cluster an instant before this step, which asks the
   * same (the first hop's preflight, once, in the process that started the run); absent otherwise.
   */
  readonly known?: Observation;
}

/**
 * How an action went: its exit code (when a command had one) and output; an error when it failed.
 * `observed`: what it saw that later steps follow (a roles step: the active host), journaled.
 */
export type StepResult =
  | {
      readonly ok: true;
      readonly exitCode: number | null;
      readonly output: string;
      readonly observed?: Readonly<Record<string, string>>;
    }
  | {
      readonly ok: false;
      readonly error: string;
      readonly exitCode: number | null;
      readonly output: string;
      /** An undo that cannot be done at all: trying again cannot help, so the rollback stops there. */
      readonly irreversible?: true;
      /**
       * A wait in progress ended because the run halts (`waiting.halted`): not a failure, and unlike
       * `halted` it did partly happen; the step stays running, and a resume takes it up from `since`.
       */
      readonly cut?: true;
      /** The run must stop as `ferry pause` stops it (a gate without data): who or what asks, for the message. */
      readonly pause?: string;
      /**
       * The step did not happen: it stopped waiting because the run halts (a pause, a signal).
       * It goes back to pending, and a resume runs it again.
       */
      readonly halted?: true;
      /** The run rolls back (before its point of no return) whatever `onFailure` says: a rejection. */
      readonly rollback?: true;
    };

export interface StepKind<A extends Action> {
  /** Carries out `action`. Throwing fails the step as a returned error does, naming its host. */
  run(action: A, ctx: StepContext): Promise<StepResult>;
}

/** The action of one `type`: `ActionOf<"exec">` is `{ type: "exec"; command; back? }`. */
export type ActionOf<T extends Action["type"]> = Extract<Action, { readonly type: T }>;

export function passed(output = "", exitCode: number | null = null): StepResult {
  return { ok: true, exitCode, output };
}

/** How a step kind's `hold` ended, as its result (a halt leaves the step to be run again). */
export function holdResult(r: HoldResult): StepResult {
  if (r.kind === "go") return passed(`${r.how}\n`);
  if (r.kind === "halted")
    return { ok: false, error: "stopped waiting: the run halts", exitCode: null, output: "", halted: true };
  return failed(r.error);
}

export function failed(error: string, output = "", exitCode: number | null = null): StepResult {
  return { ok: false, error, exitCode, output };
}
