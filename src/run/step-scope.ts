/**
 * The StepContext the executor hands a kind for one action. A class, not an object literal: a
 * run of thousands of hosts makes one per action, and a literal of closures and getters cost each
 * of them a dozen objects. What is the run's, not the step's, the executor gives once (RunParts).
 */
import type { Driver } from "../drivers/driver.js";
import type { Member, PlannedHop, PlanStep } from "../plan/plan.js";
import type { Measurement, RunNote } from "../store/state-store.js";
import type { RunEvents } from "./events.js";
import type { MigrationRunner } from "./migration-runner.js";
import type { DriverFor, Observation } from "./observe.js";
import type { StepContext } from "./steps/step-kind.js";
import type { WaitingSlot } from "./waiting.js";

/** The run's side of every step's context, made once per run. */
export interface RunParts {
  readonly runId: string;
  readonly events: RunEvents;
  readonly members: readonly Member[];
  readonly driverFor: DriverFor;
  env(hop: PlannedHop, member: Member | undefined, back: boolean): Readonly<Record<string, string>>;
  /** Handed to kinds as they are (StepContext.database): a function that needs no `this`. */
  readonly database: () => Promise<MigrationRunner>;
  markerOf(step: PlanStep): string;
  measured(m: Measurement): Promise<void>;
  waitingSlot(step: string): WaitingSlot;
  readonly notes: () => Promise<RunNote[]>;
}

export class StepScope implements StepContext {
  readonly #run: RunParts;
  readonly #hop: PlannedHop;
  readonly database: () => Promise<MigrationRunner>;
  readonly notes: () => Promise<RunNote[]>;

  constructor(
    run: RunParts,
    hop: PlannedHop,
    readonly step: PlanStep,
    readonly member: Member | undefined,
    readonly driver: Driver,
    readonly signal: AbortSignal,
    readonly since: number,
    readonly attempt: number,
    readonly known: Observation | undefined,
  ) {
    this.#run = run;
    this.#hop = hop;
    // The run's own functions, which a kind may take out of the context (`{ database }`).
    this.database = run.database;
    this.notes = run.notes;
  }

  get runId(): string {
    return this.#run.runId;
  }

  get events(): RunEvents {
    return this.#run.events;
  }

  get members(): readonly Member[] {
    return this.#run.members;
  }

  get driverFor(): DriverFor {
    return this.#run.driverFor;
  }

  env(back: boolean): Readonly<Record<string, string>> {
    return this.#run.env(this.#hop, this.member, back);
  }

  /** Made when a kind asks: most actions (a health probe, a mark) need no marker. */
  get marker(): string {
    return this.#run.markerOf(this.step);
  }

  measured(m: Omit<Measurement, "step" | "attempt">): Promise<void> {
    return this.#run.measured({ ...m, step: this.step.id, attempt: this.attempt });
  }

  /** Made when a kind asks: only a gate that holds the run needs it. */
  get waiting(): WaitingSlot {
    return this.#run.waitingSlot(this.step.id);
  }
}
