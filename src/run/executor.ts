/**
 * The executor: walks a plan step by step, recording every step in the journal before and after
 * it runs, and undoes what it did when a step fails before the hop's point of no return.
 *
 * It is started on a run already in the journal, so the same code serves `apply` (all steps
 * pending), `resume` (some done, one perhaps found running after a crash) and `rollback`.
 * A step found `running` is checked: if its effect is already there it is marked done, otherwise
 * it runs again (steps are idempotent, as Ganeti's are). First, what its command may have left
 * running when ferry died is found by its marker and ended, so no command runs twice at once.
 *
 * What a step does is not here: each action of a step is handed to its kind (./steps), looked up
 * by the action's type. The executor only walks, journals, undoes, pauses and handles signals.
 */
import { createHash } from "node:crypto";
import { setMaxListeners } from "node:events";
import { FerryError, OperationError, RefusedError } from "../errors.js";
import { WindowGate } from "../gates/window-gate.js";
import { orderActivePassive } from "../plan/active-passive.js";
import { memberKey } from "../plan/build-plan.js";
import {
  type Action,
  type Lane,
  type Member,
  type Plan,
  type PlannedHop,
  type PlanStep,
  POINT_OF_NO_RETURN,
  type Pool,
  planSteps,
  poolSteps,
} from "../plan/plan.js";
import { LockLostError } from "../store/lock-lost-error.js";
import type { RunStatus, StateStore, StepRecord, Waiting } from "../store/state-store.js";
import { RunEvents } from "./events.js";
import { type Faults, NO_FAULTS } from "./faults.js";
import { Journal } from "./journal.js";
import type { MigrationRunner } from "./migration-runner.js";
import type { DriverFor, Observation } from "./observe.js";
import { RedundancyGroups } from "./redundancy-groups.js";
import { type RunParts, StepScope } from "./step-scope.js";
import { CommandEnvs, failed, runAction, type StepContext, type StepResult } from "./steps/index.js";
import type { WaitingSlot } from "./waiting.js";

export interface ExecutorOptions {
  readonly store: StateStore;
  readonly runId: string;
  readonly plan: Plan;
  readonly driverFor: DriverFor;
  /** The product's database, opened when a step first needs it; absent when the cluster has none. */
  readonly migrations?: () => Promise<MigrationRunner>;
  readonly events?: RunEvents;
  readonly faults?: Faults;
  /** How often a forward run asks the state store whether a pause was requested; default 250 ms. */
  readonly pausePollMs?: number;
  /**
   * The token of the run lock this executor holds: the journal's writes are fenced with it, so a
   * write after another ferry took the lock is refused, and the run stops as on lockLost().
   */
  readonly lockToken?: string;
  /** Epoch milliseconds now, for gates that keep time (windows, deadlines); for unit tests only. */
  readonly clock?: () => number;
  /**
   * What `apply` observed of the cluster just before the run began, and the step that would ask
   * the same again (the first hop's preflight): that step takes it instead, once.
   */
  readonly observedAtStart?: { readonly step: string; readonly observation: Observation };
}

export interface FailedStep {
  readonly id: string;
  readonly host?: string;
  readonly component?: string;
  readonly error: string;
  readonly exitCode: number | null;
  readonly output: string;
}

export interface RunOutcome {
  /** How the run stands now; `done` and `rolled-back` are finished. */
  readonly status: RunStatus;
  readonly reason:
    | "completed"
    | "step-failed"
    | "interrupted"
    | "paused"
    | "lock-lost"
    | "rollback-failed"
    | "cannot-undo"
    | "rolled-back"
    | "host-undone";
  readonly failed?: FailedStep;
  /** What happened, what state it left, and what to run next. */
  readonly message: string;
}

/** What `ferry host undo` asks of the executor (src/run/host-undo.ts chooses the steps). */
export interface HostUndoRequest {
  readonly host: string;
  /** The host's steps of the current hop that ran or may have run, in the order to undo them. */
  readonly steps: readonly string[];
  /** Who asked, for the run's history. */
  readonly by: string;
  /** The run's status (stopped or paused), which the undo leaves as it is. */
  readonly status: RunStatus;
  /** Aborted (a signal): the undo in flight finishes, and no other starts. */
  readonly stop?: AbortSignal;
}

/**
 * A lane's last step end (its `done` record), issued but not yet awaited: the lane's next step
 * issues its `running` record beside it and awaits both before its command starts, so a store that
 * groups the writes of one tick commits the two at once; the lane awaits it before it ends.
 */
interface LaneWrites {
  ending: Promise<void> | undefined;
}

/** `rejected`: an approval was refused (`ferry reject`): the run rolls back as on an interrupt. */
type Halt = "failure" | "interrupt" | "pause" | "lock-lost" | "journal" | "rejected";

/** How undoing a list of steps ended (#undoSteps). */
type Undone =
  | { readonly kind: "undone" }
  /** Stopped (a second signal; any signal during a host undo): the undo in flight finished, no other started. */
  | { readonly kind: "stopped" }
  | { readonly kind: "lock-lost" }
  /** The step's undo cannot be done (an action without undo); its state is as it was. */
  | {
      readonly kind: "irreversible";
      readonly step: PlanStep;
      readonly record: StepRecord;
      readonly error: string;
    }
  /** The step's undo failed; it is journaled failed. */
  | { readonly kind: "failed"; readonly step: PlanStep; readonly error: string };

const OUTPUT_KEEP = 4096;
const PAUSE_POLL_MS = 250;

export class Executor {
  readonly events: RunEvents;
  readonly #o: ExecutorOptions;
  readonly #members: ReadonlyMap<string, Member>;
  #observedAtStart: ExecutorOptions["observedAtStart"];
  readonly #hopOf = new Map<string, PlannedHop>();
  /** The run's side of every step's context (StepScope). */
  readonly #parts: RunParts;
  readonly #steps = new Map<string, PlanStep>();
  /** Each step's place in the plan, which is its number in the journal. */
  readonly #planSeq = new Map<string, number>();
  /** Where a step stands in the order it runs: the plan's, but for an active-passive pool (#ordered). */
  readonly #runSeq = new Map<string, number>();
  readonly #abort = new AbortController();
  /** Aborted once the run halts for any reason: a gate that holds the run stops waiting. */
  readonly #halted = new AbortController();
  readonly #env: CommandEnvs;
  readonly #faults: Faults;
  /** The durable record that the run rolls back, written as soon as that is decided. */
  #decision: Promise<void> | undefined;
  #journalError: unknown;
  #journal: Journal | undefined;
  #halt: Halt | undefined;
  #failed: FailedStep | undefined;
  #rollingBack = false;
  /** A second signal came: no new step and no new undo starts. */
  #stopping = false;
  readonly #groups = new RedundancyGroups();
  /** The maintenance window no step starts outside of, when the plan has one. */
  #window: WindowGate | undefined;
  /** Who asked for the pause being carried out. */
  #pausedBy: string | undefined;
  /** Why a step asked the run to pause (a gate without data), for its message. */
  #pauseWhy: string | undefined;
  /** The index of the hop a signal past its point of no return lets finish; the run stops after it. */
  #carryOn: number | undefined;

  constructor(options: ExecutorOptions) {
    this.#o = options;
    this.#observedAtStart = options.observedAtStart;
    this.events = options.events ?? new RunEvents();
    this.#faults = options.faults ?? NO_FAULTS;
    this.#env = new CommandEnvs(options.plan, options.runId);
    // Every command in flight listens to this one signal; hundreds at once is the point, not a leak.
    setMaxListeners(0, this.#abort.signal);
    this.#members = new Map(options.plan.members.map((m) => [memberKey(m.host, m.component), m]));
    this.#parts = {
      runId: options.runId,
      events: this.events,
      members: options.plan.members,
      driverFor: options.driverFor,
      env: (hop, member, back) => this.#env.of(hop, member, back),
      database: () => this.#database(),
      markerOf: (step) => this.#markerOf(step),
      measured: (m) => this.#j.measured(m),
      waitingSlot: (step) => this.#waitingSlot(step),
      notes: () => options.store.notes(options.runId),
    };
    for (const [seq, { hop, step }] of [...planSteps(options.plan)].entries()) {
      this.#hopOf.set(step.id, hop);
      this.#steps.set(step.id, step);
      this.#planSeq.set(step.id, seq);
    }
  }

  /**
   * SIGINT/SIGTERM (DESIGN.md "Crash safety", after Ganeti): before the point of no return the
   * run rolls back. After it, `finish-hop` ignores the signal and carries the hop to its end; the
   * run then stops resumable before the next hop, or is done after the last. `stop` (ferry serve
   * going down) lets the steps in flight finish and stops resumable. A second signal is `stop()`.
   * Returns what will happen, for the operator.
   */
  interrupt(whenPast: "finish-hop" | "stop" = "finish-hop"): string {
    if (this.#rollingBack) return "already rolling back";
    const hop =
      whenPast === "finish-hop" && this.#halt === undefined && this.#carryOn === undefined
        ? this.#crossing()
        : undefined;
    if (hop === undefined) return this.#halting("interrupt") ? "rolling back" : "stopping";
    this.#carryOn = this.#o.plan.hops.indexOf(hop);
    return `ignoring the signal and continuing to the end of hop ${hop.from} → ${hop.to} (a second one stops after the steps in flight)`;
  }

  /**
   * A second SIGINT/SIGTERM: the steps in flight finish (an undo too), and the run stops there,
   * resumable, without undoing anything more; a rollback it was in stays journaled as one, so
   * `ferry resume` or `ferry rollback` finishes it.
   */
  stop(): void {
    this.#halting("interrupt");
    this.#stopping = true;
  }

  /** Another ferry took the lock over: stop at once, kill commands in flight, write nothing more. */
  lockLost(): void {
    if (this.#halt === "lock-lost") return;
    this.#halt = "lock-lost";
    this.#abort.abort();
    this.#halted.abort();
    this.events.emit({
      type: "note",
      runId: this.#o.runId,
      message: "lost the run lock: stopping at once, ending the commands in flight, writing nothing more",
    });
  }

  #lockLostOutcome(status: RunStatus): RunOutcome {
    return {
      status,
      reason: "lock-lost",
      message: `ferry lost the lock of ${this.#o.plan.cluster} (another ferry took it over once its lease ran out, or it could not be renewed in time): it stopped at once, ended the commands in flight and wrote nothing more to run ${this.#o.runId}. \`ferry status\` shows who holds it now; if nobody does, \`ferry resume\` continues the run.`,
    };
  }

  /** Runs every step not yet done, in plan order; on failure, rolls back or stops as the rules say. */
  async forward(): Promise<RunOutcome> {
    return this.#guard(async () => {
      const journal = await this.#openJournal();
      this.#announce("forward");
      await journal.run({ status: "running", error: null });
      const stopWatching = this.#watchForPause();
      try {
        for (const [i, hop] of this.#o.plan.hops.entries()) {
          if (this.#carryOn !== undefined && i > this.#carryOn) return this.#stopBefore(hop);
          for (const phase of hop.phases) {
            for (const stage of phase.stages) {
              await Promise.all(stage.pools.map((pool) => this.#runPool(pool)));
              if (this.#halt) return this.#stop(hop);
            }
          }
        }
        return this.#finish();
      } finally {
        stopWatching();
      }
    });
  }

  /**
   * A pause is asked for through the state store (`ferry pause` in another process, the API), so
   * the store is polled, on a timer rather than before each step: a read per step would cost a
   * SQLite commit of the writes queued for group commit. Once seen, no new step starts.
   */
  #watchForPause(): () => void {
    let asking = false;
    const timer = setInterval(async () => {
      if (asking || this.#halt) return;
      asking = true;
      try {
        const by = await this.#o.store.pauseRequest(this.#o.runId);
        if (by !== null && !this.#halt) {
          this.#pausedBy = by;
          this.#halting("pause");
          this.events.emit({
            type: "note",
            runId: this.#o.runId,
            message: `pause requested by ${by}: the steps in flight finish, then the run stops`,
          });
        }
      } catch {
        // Asked again on the next tick; a store that stays down fails the journal's own writes.
      } finally {
        asking = false;
      }
    }, this.#o.pausePollMs ?? PAUSE_POLL_MS);
    timer.unref();
    return () => clearInterval(timer);
  }

  async #finish(): Promise<RunOutcome> {
    await this.#j.run({ status: "done", endedAt: Date.now(), error: null });
    return {
      status: "done",
      reason: "completed",
      message: `${this.#o.plan.cluster} runs ${this.#o.plan.to}`,
    };
  }

  /**
   * The state store failing under a run is reported as what it is, with what state it left: the
   * steps in flight have finished, the journal may lag behind them, and resume sorts that out.
   */
  async #guard(body: () => Promise<RunOutcome>): Promise<RunOutcome> {
    try {
      const outcome = await body();
      if (this.#journalError !== undefined) throw this.#journalError;
      return outcome;
    } catch (err) {
      // A journal write refused because the lock is gone: the same stop as a loss seen by the lock.
      if (err instanceof LockLostError)
        return this.#lockLostOutcome(this.#rollingBack ? "rolling-back" : "running");
      if (err instanceof FerryError) throw err;
      throw new OperationError(
        `the journal could not be written (${(err as Error).message}); run ${this.#o.runId} is left as it was, and once the state store works again \`ferry resume\` continues it`,
        { cause: err },
      );
    }
  }

  /**
   * Stops new steps for `why`. When that means rolling back (before the point of no return, on an
   * interrupt or with onFailure: rollback), it is written to the journal at once, while the steps
   * in flight finish: a crash in between must not turn a rollback into a resumed upgrade.
   * Returns whether the run will roll back.
   */
  #halting(why: Halt): boolean {
    if (this.#halt) return this.#decision !== undefined;
    this.#halt = why;
    this.#halted.abort();
    // Before the journal is open nothing has run: forward() will find the halt and roll back nothing.
    if (!this.#journal) return why === "interrupt";
    const hop = this.#currentHop();
    const back =
      hop !== undefined &&
      !this.#pastPointOfNoReturn(hop) &&
      (why === "interrupt" ||
        why === "rejected" ||
        (why === "failure" && this.#o.plan.onFailure === "rollback"));
    if (back) {
      this.#decision = this.#j
        .run({
          status: "rolling-back",
          error: `${why === "interrupt" ? "interrupted" : why === "rejected" ? "rejected" : "a step failed"}; rolling back`,
        })
        .catch((err) => {
          this.#journalError ??= err;
        });
    }
    return back;
  }

  /**
   * Undoes the current hop's steps in reverse plan order, unless it has passed its point of no return.
   * Earlier hops of the run are complete and stay.
   */
  async rollback(why: string = "rollback requested"): Promise<RunOutcome> {
    return this.#guard(async () => {
      await this.#openJournal();
      this.#announce("rollback");
      const hop = this.#currentHop();
      if (!hop) {
        // Every step is done (an interrupt came during the last one): the run has finished.
        const done = await this.#finish();
        return {
          ...done,
          message: `${done.message}: every step had finished, so there was nothing to roll back`,
        };
      }
      if (this.#pastPointOfNoReturn(hop)) {
        throw new RefusedError(
          `run ${this.#o.runId} cannot be rolled back: hop ${hop.from} → ${hop.to} has passed its point of no return`,
          "point-of-no-return",
          "fix the cause and finish it with `ferry resume`",
        );
      }
      return this.#undoHop(hop, why);
    });
  }

  /**
   * `ferry host undo HOST`: takes one host of a stopped run back to the release it ran, by undoing
   * its steps as a rollback would (the same undo of each, journaled `undoing` before it runs), and
   * notes in the run's history who did it and when. The run keeps its status: the undone steps
   * are what `ferry resume` runs again, so it upgrades the host once more. A step whose undo
   * cannot be done (an action without undo whose check says its effect is there) is refused
   * before anything is journaled.
   */
  async undoHost(request: HostUndoRequest): Promise<RunOutcome> {
    return this.#guard(async () => {
      const j = await this.#openJournal();
      const { host, status } = request;
      const hop = this.#hopOf.get(request.steps[0] ?? "") as PlannedHop;
      // A switchover among them is the one its roles step chose: retarget it as the roll did.
      this.#followRoles(hop);
      const steps = request.steps.map((id) => this.#steps.get(id) as PlanStep);
      for (const step of steps) {
        if (!step.undo?.some((a) => a.type === "irreversible")) continue;
        const result = await this.#perform(step, step.undo);
        if (!result.ok) {
          throw new RefusedError(
            `${host} cannot be taken back to ${hop.from}: ${step.id} cannot be undone: ${result.error}`,
            "host-undo-irreversible",
            `fix ${host} where it is and run \`ferry resume\``,
          );
        }
      }
      const onStop = () => {
        this.#stopping = true;
      };
      if (request.stop?.aborted) onStop();
      request.stop?.addEventListener("abort", onStop, { once: true });
      try {
        this.#announce("host-undo");
        await j.note({
          at: Date.now(),
          by: request.by,
          kind: "host-undo",
          text: `ferry host undo ${host}: undoing its ${steps.length} step(s) of hop ${hop.from} → ${hop.to} in reverse, back to ${hop.from}`,
        });
        const undone = await this.#undoSteps(steps.map((s) => j.record(s.id)));
        const again = `\`ferry host undo ${host}\` finishes the undo, or \`ferry resume\` upgrades ${host} again from where it is`;
        switch (undone.kind) {
          case "undone":
            return {
              status,
              reason: "host-undone",
              message: `${host} is back on ${hop.from}: its ${steps.length} step(s) of hop ${hop.from} → ${hop.to} are undone, and run ${this.#o.runId} is ${status} as it was. Fix what failed on ${host}, then \`ferry resume\` upgrades it again and carries the run on.`,
            };
          case "stopped": {
            const left = steps.filter((s) => j.record(s.id).state !== "undone").length;
            return {
              status,
              reason: "interrupted",
              message: `Stopped at a signal while undoing ${host}, with ${left} of its steps still to undo and none in flight: ${again}.`,
            };
          }
          case "lock-lost":
            return this.#lockLostOutcome(status);
          case "irreversible": {
            await j.step(
              undone.step.id,
              { state: undone.record.state, error: `cannot be undone: ${undone.error}` },
              aboutStep(undone.step),
            );
            return {
              status,
              reason: "cannot-undo",
              message: `Undoing ${host} stopped at ${undone.step.id}, which cannot be undone: ${undone.error}. The steps after it are undone; \`ferry resume\` upgrades ${host} again.`,
            };
          }
          case "failed":
            return {
              status,
              reason: "rollback-failed",
              message: `Undoing ${host}, undoing ${undone.step.id} failed: ${undone.error}. Fix the cause, then ${again}.`,
            };
        }
      } finally {
        request.stop?.removeEventListener("abort", onStop);
      }
    });
  }

  async #openJournal(): Promise<Journal> {
    const token = this.#o.lockToken;
    this.#journal ??= await Journal.open(
      this.#o.store,
      this.#o.runId,
      this.#o.plan.cluster,
      this.#faults,
      this.events,
      token === undefined ? undefined : { token, onLost: () => this.lockLost() },
    );
    return this.#journal;
  }

  /** Tells the listeners the plan and where each step stands, before anything is done. */
  #announce(operation: "forward" | "rollback" | "host-undo"): void {
    const states = new Map([...this.#j.records()].map((r) => [r.id, r.state] as const));
    this.events.emit({ type: "start", runId: this.#o.runId, operation, plan: this.#o.plan, states });
  }

  get #j(): Journal {
    if (!this.#journal) throw new Error("executor: journal not open");
    return this.#journal;
  }

  /** The hop of the first step that is not done; undefined when all are. */
  #currentHop(): PlannedHop | undefined {
    if (!this.#journal) return this.#o.plan.hops[0];
    for (const { hop, step } of planSteps(this.#o.plan)) {
      if (this.#j.record(step.id).state !== "done") return hop;
    }
    return undefined;
  }

  #pastPointOfNoReturn(hop: PlannedHop): boolean {
    return this.#j.record(`${hop.id}/${POINT_OF_NO_RETURN}`).state === "done";
  }

  /** The current hop when it is crossing or has crossed its point of no return (the mark running or done). */
  #crossing(): PlannedHop | undefined {
    if (!this.#journal) return undefined;
    const hop = this.#currentHop();
    const mark = hop && this.#j.record(`${hop.id}/${POINT_OF_NO_RETURN}`).state;
    return mark === "done" || mark === "running" ? hop : undefined;
  }

  /** A signal past the point of no return of the hop before `next` let that hop finish: stop here, resumable. */
  async #stopBefore(next: PlannedHop): Promise<RunOutcome> {
    const done = this.#o.plan.hops[this.#carryOn as number] as PlannedHop;
    const message = `Interrupted past the point of no return of hop ${done.from} → ${done.to}, so ferry carried that hop to its end: ${this.#o.plan.cluster} runs ${done.to}. Stopped before hop ${next.from} → ${next.to}; \`ferry resume\` goes on with it.`;
    await this.#j.run({ status: "stopped", error: message });
    return { status: "stopped", reason: "interrupted", message };
  }

  /**
   * A sliding window: a new lane starts as soon as one finishes, never more than `limit` at once,
   * and never one whose host shares a redundancy group with a host out of service now; such a lane
   * waits, and the next free lane in plan order goes first.
   */
  async #runPool(planned: Pool): Promise<void> {
    const pool = this.#ordered(planned);
    for (const lanes of batchesOf(pool.lanes)) {
      if (this.#halt) return;
      const hosts = lanes.filter((l) => !l.batchEnd);
      await this.#runWindow(hosts, Math.min(pool.limit, hosts.length));
      // What closes a batch (its soak, its gates) starts once every host of the batch has ended.
      for (const end of lanes.filter((l) => l.batchEnd)) if (!this.#halt) await this.#runLane(end);
    }
  }

  async #runWindow(lanes: readonly Lane[], limit: number): Promise<void> {
    const pending = [...lanes];
    const worker = async () => {
      while (!this.#halt && pending.length > 0) {
        const i = pending.findIndex((l) => this.#groups.tryTake(l.host ?? "", l.groups ?? []));
        if (i < 0) {
          await this.#groups.released();
          continue;
        }
        const [lane] = pending.splice(i, 1) as [Lane];
        try {
          await this.#runLane(lane);
        } finally {
          this.#groups.release(lane.host ?? "", lane.groups ?? []);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, limit) }, worker));
  }

  /**
   * An active-passive pool in the order its roles step saw when the hop ran (journaled, so a resume
   * keeps it, whoever is active by then); the plan's order was a prediction. The pool's steps take
   * its numbers in the journal in the order they run now, for the undo; the switchover its host.
   */
  #ordered(pool: Pool): Pool {
    const ap = pool.activePassive;
    const active = ap && this.#journal?.record(ap.roles).observed?.active;
    if (!active) return pool;
    const ordered = orderActivePassive(pool, active);
    const seqs = poolSteps(pool)
      .map((s) => this.#planSeq.get(s.id) as number)
      .sort((a, b) => a - b);
    poolSteps(ordered).forEach((step, i) => {
      this.#runSeq.set(step.id, seqs[i] as number);
      this.#steps.set(step.id, step);
    });
    return ordered;
  }

  /** Every active-passive pool of `hop` ordered by its journaled roles: the undo goes by that order. */
  #followRoles(hop: PlannedHop): void {
    for (const phase of hop.phases) {
      for (const stage of phase.stages) for (const pool of stage.pools) this.#ordered(pool);
    }
  }

  async #runLane(lane: Lane): Promise<void> {
    const writes: LaneWrites = { ending: undefined };
    try {
      for (const step of lane.steps) {
        if (this.#halt) break;
        // Without a window no step waits for one, and no await is added between steps.
        if (this.#o.plan.window) {
          await this.#settled(writes);
          if (!(await this.#windowOpen(step))) break;
        }
        if (!(await this.#runStep(step, writes))) break;
      }
      await this.#settled(writes);
    } catch (err) {
      // The journal cannot be written: no new step may start, since none could be recorded.
      await writes.ending?.catch(() => {});
      this.#journalError ??= err;
      this.#halt ??= "journal";
    }
  }

  /** Waits for the lane's last step end to be durable (see LaneWrites). */
  async #settled(writes: LaneWrites): Promise<void> {
    const ending = writes.ending;
    writes.ending = undefined;
    await ending;
  }

  /** Whether `step` may start: no window, a step already done, or the window open (waited for). */
  async #windowOpen(step: PlanStep): Promise<boolean> {
    const window = this.#o.plan.window;
    if (!window || this.#j.record(step.id).state === "done") return true;
    this.#window ??= new WindowGate(window, this.#waitingSlot(null));
    return (await this.#window.open()) && !this.#halt;
  }

  /**
   * Runs one step unless the journal says it is done; true when it is done now. Its end is left
   * in `writes`, written but not awaited, for the lane's next step to await with its own start.
   */
  async #runStep(step: PlanStep, writes: LaneWrites): Promise<boolean> {
    const j = this.#j;
    const about = aboutStep(step);
    const record = j.record(step.id);
    // The lane's previous step end, still being written: taken over here, awaited on every path.
    const before = writes.ending;
    writes.ending = undefined;
    if (record.state !== "pending" && record.state !== "undone") await before;
    if (record.state === "done") return true;
    const stuck = record.state === "running" ? await this.#endLeftover(step, record) : undefined;
    if (record.state === "running" && step.check && !stuck) {
      const there = await this.#perform(step, [step.check]);
      if (there.ok) {
        await j.step(step.id, { state: "done", endedAt: Date.now(), error: null }, about);
        return true;
      }
    }
    const starting = j.step(
      step.id,
      {
        state: "running",
        // A step taken up again keeps when it began: a soak resumed waits only what is left of it.
        startedAt: (record.state === "running" ? record.startedAt : null) ?? Date.now(),
        endedAt: null,
        undoneAt: null,
        exitCode: null,
        output: null,
        error: null,
        attempts: record.attempts + 1,
      },
      about,
    );
    // The previous step's end and this start, issued together, commit together: one durable
    // write per step on the lane's way, and the command starts only once both are recorded.
    await Promise.all([before, starting]);
    this.#faults.hit(`${step.id}:started`);
    const result = stuck ?? (await this.#perform(step, step.run));
    if (this.#halt === "lock-lost") return false;
    if (!result.ok && result.halted) {
      // It stopped waiting because the run halts: it did not happen, so nothing is to undo.
      await j.step(step.id, { state: "pending", startedAt: null, endedAt: null, error: null }, about);
      return false;
    }
    if (result.ok) {
      writes.ending = j
        .step(
          step.id,
          {
            state: "done",
            endedAt: Date.now(),
            exitCode: result.exitCode,
            output: tail(result.output),
            ...(result.observed ? { observed: result.observed } : {}),
          },
          about,
        )
        .then(() => this.#faults.hit(`${step.id}:finished`));
      return true;
    }
    // A wait ended by the halt: not a failure; it stays running, and a resume takes it up.
    if (result.cut) return false;
    if (result.pause !== undefined) return this.#pauseFor(step, result.pause, result.error, result.output);
    this.#failed ??= {
      id: step.id,
      ...about,
      error: result.error,
      exitCode: result.exitCode,
      output: tail(result.output),
    };
    // The decision to roll back is made durable before the failure is: a crash between the two
    // then leaves a run that resume rolls back, never one it would carry on with.
    this.#halting(!result.ok && result.rollback ? "rejected" : "failure");
    await this.#decision;
    await j.step(
      step.id,
      {
        state: "failed",
        endedAt: Date.now(),
        exitCode: result.exitCode,
        output: tail(result.output),
        error: result.error,
      },
      about,
    );
    this.#faults.hit(`${step.id}:failed`);
    return false;
  }

  /**
   * A step asks the run to stop as `ferry pause` stops it (a gate that cannot decide for want of
   * data): the steps in flight finish, the run is paused and resumable, and the step is left
   * pending with its reason, to run again from the start on resume.
   */
  async #pauseFor(step: PlanStep, by: string, why: string, output: string): Promise<boolean> {
    if (!this.#halt) {
      this.#pausedBy = by;
      this.#pauseWhy = why;
    }
    this.#halting("pause");
    this.events.emit({
      type: "note",
      runId: this.#o.runId,
      message: `${why}: the steps in flight finish, then the run pauses`,
    });
    await this.#j.step(
      step.id,
      { state: "pending", endedAt: Date.now(), output: tail(output), error: why },
      aboutStep(step),
    );
    return false;
  }

  /** After a failure or an interrupt: roll back, pause or stop, by the rules. */
  async #stop(hop: PlannedHop): Promise<RunOutcome> {
    await this.#decision;
    if (this.#journalError !== undefined) throw this.#journalError;
    if (this.#currentHop() === undefined) return this.#finish();
    const halt = this.#halt;
    const f = this.#failed;
    const what = f ? `${f.id} failed: ${f.error}` : "interrupted";
    if (halt === "lock-lost") return this.#lockLostOutcome("running");
    if (halt === "pause") return this.#paused(hop);
    const reason = halt === "interrupt" && !f ? "interrupted" : "step-failed";
    if (this.#pastPointOfNoReturn(hop)) {
      const message = `${what}. Hop ${hop.from} → ${hop.to} is past its point of no return, so ferry stopped here and does not go back by itself: fix the cause, then run \`ferry resume\`.`;
      await this.#j.run({ status: "stopped", error: message });
      return { status: "stopped", reason, ...(f ? { failed: f } : {}), message };
    }
    if (halt === "failure" && this.#o.plan.onFailure === "pause") {
      const message = `${what}. Paused (onFailure: pause): fix the cause, then \`ferry resume\` runs it again, or \`ferry rollback\` undoes the hop.`;
      await this.#j.run({ status: "paused", error: message });
      return { status: "paused", reason, failed: f as FailedStep, message };
    }
    if (this.#stopping) return this.#stoppedRollingBack(hop, what);
    const outcome = await this.#undoHop(hop, what);
    return {
      ...outcome,
      ...(f ? { failed: f } : {}),
      reason: outcome.status === "rolled-back" ? reason : outcome.reason,
    };
  }

  /** Stopped by a second signal before the hop was undone: the journal says rolling-back, for resume. */
  async #stoppedRollingBack(hop: PlannedHop, why: string): Promise<RunOutcome> {
    const left = [...this.#j.records()].filter(
      (r) => this.#hopOf.get(r.id) === hop && r.state !== "pending" && r.state !== "undone",
    ).length;
    const message = `${why}. Stopped at a second signal while rolling back hop ${hop.from} → ${hop.to}, with ${left} step(s) still to undo and none in flight: \`ferry resume\` or \`ferry rollback\` finishes the rollback.`;
    await this.#j.run({ status: "rolling-back", error: message });
    return { status: "rolling-back", reason: "interrupted", message };
  }

  /** A requested pause: the steps in flight have finished; the run stays resumable, the mark is cleared. */
  async #paused(hop: PlannedHop): Promise<RunOutcome> {
    const records = [...this.#j.records()];
    const done = records.filter((r) => r.state === "done").length;
    const back = this.#pastPointOfNoReturn(hop)
      ? `hop ${hop.from} → ${hop.to} is past its point of no return, so it can only go forward`
      : `\`ferry rollback\` undoes hop ${hop.from} → ${hop.to}`;
    const f = this.#failed;
    // A step in flight may have failed after the pause was asked for: it is left failed, and resume runs it again.
    const failure = f ? ` Meanwhile ${f.id} failed: ${f.error}.` : "";
    const asked = this.#pauseWhy
      ? `${this.#pauseWhy}. Paused`
      : `Paused at the request of ${this.#pausedBy ?? "an operator"}`;
    const message = `${asked}, ${done} of ${records.length} steps done; the steps in flight finished and none is running.${failure} \`ferry resume\` continues it; ${back}.`;
    await this.#j.run({ status: "paused", error: message }, this.#pausedBy);
    await this.#o.store.clearPause(this.#o.runId);
    return { status: "paused", reason: "paused", ...(f ? { failed: f } : {}), message };
  }

  /** Undoes every step of `hop` that ran or may have run, in reverse plan order, one at a time. */
  async #undoHop(hop: PlannedHop, why: string): Promise<RunOutcome> {
    this.#rollingBack = true;
    const j = this.#j;
    await j.run({ status: "rolling-back", error: why });
    const touched = [...j.records()].filter(
      (r) => this.#hopOf.get(r.id) === hop && r.state !== "pending" && r.state !== "undone",
    );
    this.#followRoles(hop);
    touched.sort((a, b) => this.#seqOf(b) - this.#seqOf(a));
    const undone = await this.#undoSteps(touched);
    switch (undone.kind) {
      case "stopped":
        return this.#stoppedRollingBack(hop, why);
      case "lock-lost":
        return this.#lockLostOutcome("rolling-back");
      case "irreversible":
        return this.#cannotUndo(hop, undone.step, undone.record, why, undone.error);
      case "failed": {
        const message = `${why}. Rolling back, undoing ${undone.step.id} failed: ${undone.error}. Fix the cause and run \`ferry rollback\` again.`;
        await j.run({ status: "failed", error: message });
        return { status: "failed", reason: "rollback-failed", message };
      }
      case "undone":
        break;
    }
    const message = `${why}. Rolled back: ${this.#o.plan.cluster} is back at ${hop.from}.`;
    await j.run({ status: "rolled-back", endedAt: Date.now(), error: message });
    return { status: "rolled-back", reason: "rolled-back", message };
  }

  /**
   * Undoes `records`, in the order given, one at a time: each is journaled `undoing` before its
   * undo runs, then `undone`, or `failed` with the undo's error. Ends early, leaving the rest as
   * they are, at a second signal (none in flight then), a lost lock, a step that cannot be undone
   * (its state kept) or a failed undo. The run's status is the caller's to write.
   */
  async #undoSteps(records: readonly StepRecord[]): Promise<Undone> {
    const j = this.#j;
    for (const record of records) {
      if (this.#stopping) return { kind: "stopped" };
      const step = this.#steps.get(record.id) as PlanStep;
      const about = aboutStep(step);
      const stuck = await this.#endLeftover(step, record);
      await j.step(step.id, { state: "undoing" }, about);
      const result =
        stuck ??
        (step.undo
          ? await this.#perform(step, step.undo)
          : ({ ok: true, exitCode: null, output: "" } as const));
      if (this.#halt === "lock-lost") return { kind: "lock-lost" };
      if (!result.ok && result.irreversible)
        return { kind: "irreversible", step, record, error: result.error };
      if (!result.ok) {
        await j.step(
          step.id,
          {
            state: "failed",
            undoneAt: Date.now(),
            error: `undo: ${result.error}`,
            output: tail(result.output),
          },
          about,
        );
        return { kind: "failed", step, error: result.error };
      }
      await j.step(step.id, { state: "undone", undoneAt: Date.now() }, about);
      this.#faults.hit(`${step.id}:undone`);
    }
    return { kind: "undone" };
  }

  /**
   * A step whose undo cannot be done (an operator's action without `undo`): the rollback stops
   * there, the step keeps the state it had, and the run is left stopped, which `resume` carries
   * forward and `rollback` tries again from this step.
   */
  async #cannotUndo(
    hop: PlannedHop,
    step: PlanStep,
    record: StepRecord,
    why: string,
    error: string,
  ): Promise<RunOutcome> {
    await this.#j.step(
      step.id,
      { state: record.state, error: `cannot be undone: ${error}` },
      aboutStep(step),
    );
    const message = `${why}. Rolling back hop ${hop.from} → ${hop.to} stopped at ${step.id}, which cannot be undone: ${error}. The steps after it are undone; the ones before it are not.`;
    await this.#j.run({ status: "stopped", error: message });
    return { status: "stopped", reason: "cannot-undo", message };
  }

  /**
   * A step found running or undoing was left so by a ferry that died: its command may run still.
   * Whatever carries its markers (the attempt's found running, and its undo's) is ended and gone
   * before the step is checked, run or undone again, so no command runs twice at once. A failed
   * step's are ended before its undo too: a timed-out command's stragglers, or one that could not
   * be ended. Returns a failure when that cannot be done: the step must not run beside it.
   */
  async #endLeftover(step: PlanStep, record: StepRecord): Promise<StepResult | undefined> {
    if (!["running", "undoing", "failed"].includes(record.state)) return undefined;
    // Only commands are marked; a step of probes alone leaves nothing running.
    const commands = [...step.run, ...(step.check ? [step.check] : []), ...(step.undo ?? [])];
    if (!commands.some((a) => a.type === "exec")) return undefined;
    const where = step.host ?? "this machine";
    const markers = [
      processMarker(this.#o.runId, step.id, record.attempts),
      processMarker(this.#o.runId, step.id),
    ];
    try {
      const ended = await this.#o.driverFor(step.host).endMarked(markers);
      if (ended.groups.length > 0) {
        const groups = `process group${ended.groups.length > 1 ? "s" : ""} ${ended.groups.join(", ")}`;
        const how = ended.killed ? "did not end on SIGTERM and was killed" : "ended on SIGTERM";
        this.events.emit({
          type: "note",
          runId: this.#o.runId,
          message: `${step.id}: what its command left running on ${where} (${groups}) ${how}, before the step goes on`,
        });
      }
      return undefined;
    } catch (err) {
      return failed(
        `${step.id}: what its command may have left running on ${where} could not be ended, so it is not run again beside it: ${(err as Error).message}`,
      );
    }
  }

  /**
   * Undo order is this, reversed: the plan's order, but an active-passive pool's in the order its
   * roles gave. A host's steps are contiguous and ran in that order; hosts side by side are
   * independent; phases and stages come in the order they ran. So no clock is needed, and one that
   * jumped (or a resume on another machine) cannot reorder undos.
   */
  #seqOf(record: StepRecord): number {
    return this.#runSeq.get(record.id) ?? record.seq;
  }

  async #perform(step: PlanStep, actions: readonly Action[]): Promise<StepResult> {
    let output = "";
    let exitCode: number | null = null;
    let observed: Record<string, string> | undefined;
    for (const action of actions) {
      const r = await this.#act(step, action);
      output = r.output ? tail(output + r.output) : output;
      exitCode = r.exitCode;
      if (!r.ok) return { ...r, output };
      if (r.observed) observed = { ...observed, ...r.observed };
    }
    return { ok: true, exitCode, output, ...(observed ? { observed } : {}) };
  }

  /** Hands one action to its kind (src/run/steps); a kind that throws fails the step, naming where. */
  async #act(step: PlanStep, action: Action): Promise<StepResult> {
    const ctx = this.#context(step);
    try {
      return await runAction(action, ctx);
    } catch (err) {
      return failed(`${step.host ?? "this machine"}: ${(err as Error).message}`);
    }
  }

  /**
   * The marker of what `step` runs now: its undo's while undoing, else its latest attempt's (a
   * check on resume runs before the new attempt is recorded: under the one it checks).
   */
  #markerOf(step: PlanStep): string {
    const record = this.#j.record(step.id);
    return processMarker(this.#o.runId, step.id, record.state === "undoing" ? undefined : record.attempts);
  }

  /** What a kind gets to act for `step`: only the parts of the run it may touch. */
  #context(step: PlanStep): StepContext {
    const member =
      step.host && step.component ? this.#members.get(memberKey(step.host, step.component)) : undefined;
    const record = this.#j.record(step.id);
    const start = this.#observedAtStart;
    const known = start?.step === step.id ? start.observation : undefined;
    if (known) this.#observedAtStart = undefined;
    return new StepScope(
      this.#parts,
      this.#hopOf.get(step.id) as PlannedHop,
      step,
      member,
      this.#o.driverFor(step.host),
      this.#abort.signal,
      record.startedAt ?? Date.now(),
      record.attempts,
      known,
    );
  }

  /**
   * The run's waiting state as a step (or, with null, the walker between steps) sees it. A wait
   * for the same thing at the same step as the journal's (a resume after a crash) keeps its since.
   */
  #waitingSlot(step: string | null): WaitingSlot {
    const now = this.#o.clock ?? Date.now;
    return {
      halted: this.#halted.signal,
      now,
      start: async (what) => {
        const was = this.#j.waiting;
        const same = was !== null && was.for === what.for && was.step === step;
        const waiting: Waiting = {
          for: what.for,
          detail: what.detail,
          step,
          since: same ? was.since : now(),
        };
        if (!same || was.detail !== what.detail) await this.#j.wait(waiting);
        else this.events.emit({ type: "wait", runId: this.#o.runId, waiting });
        return waiting;
      },
      end: (how) => this.#j.endWait(step, how),
    };
  }

  async #database(): Promise<MigrationRunner> {
    const open = this.#o.migrations;
    if (!open) throw new Error("this plan migrates a database, but the cluster file names none (database:)");
    return open();
  }
}

/**
 * FERRY_PROCESS of a step's commands: of its `attempt` (its check and run), or of its undo. Derived
 * from what the journal holds before the command starts, so that nothing more need be written for
 * a resume to find what a command left running (Driver.endMarked); unique to the run, the step
 * and the attempt, so that no other command carries it. 16 hex digits.
 */
export function processMarker(runId: string, stepId: string, attempt?: number): string {
  return createHash("sha256")
    .update(`${runId}\n${stepId}\n${attempt ?? "undo"}`)
    .digest("hex")
    .slice(0, 16);
}

/** A pool's lanes by batch, in order; a pool without batches is one. */
function batchesOf(lanes: readonly Lane[]): Lane[][] {
  const batches: Lane[][] = [];
  for (const lane of lanes) {
    const last = batches[batches.length - 1];
    if (last && last[0]?.batch === lane.batch) last.push(lane);
    else batches.push([lane]);
  }
  return batches;
}

function aboutStep(step: PlanStep): { host?: string; component?: string } {
  return {
    ...(step.host ? { host: step.host } : {}),
    ...(step.component ? { component: step.component } : {}),
  };
}

function tail(text: string): string {
  return text.length > OUTPUT_KEEP ? text.slice(-OUTPUT_KEEP) : text;
}
