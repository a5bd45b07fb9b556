/**
 * The journal of one run: every step's record, kept in memory and written through to the state
 * store before the executor moves on (DESIGN.md "Crash safety": before a step starts the journal
 * records it; after it ends, the journal records how).
 *
 * Its writes are fenced with the token of the run lock: once another ferry has taken the lock,
 * the store refuses them (LockLostError), and the journal says so to `fence.onLost` at once.
 */

import { lastLineOf } from "../drivers/driver.js";
import { LockLostError } from "../store/lock-lost-error.js";
import type {
  Measurement,
  RunNote,
  RunPatch,
  StateStore,
  StepPatch,
  StepRecord,
  Waiting,
} from "../store/state-store.js";
import type { RunEvents } from "./events.js";
import type { Faults } from "./faults.js";

/** The lock a journal's writes are fenced with, and who to tell when a write finds it lost. */
export interface JournalFence {
  readonly token: string;
  onLost(): void;
}

export class Journal {
  readonly #records = new Map<string, StepRecord>();
  #writes = 0;
  #waiting: Waiting | null;

  constructor(
    private readonly store: StateStore,
    readonly runId: string,
    records: readonly StepRecord[],
    private readonly faults: Faults,
    private readonly events: RunEvents,
    private readonly fence?: JournalFence,
    waiting: Waiting | null = null,
  ) {
    this.#waiting = waiting;
    for (const r of records) this.#records.set(r.id, r);
  }

  /**
   * `cluster`: the run's cluster, whose run summaries say what the run waits for. The summary,
   * not getRun's record: that carries the plan, which the executor has already and which for a
   * fleet of thousands of hosts takes tens of milliseconds to read back.
   */
  static async open(
    store: StateStore,
    runId: string,
    cluster: string,
    faults: Faults,
    events: RunEvents,
    fence?: JournalFence,
  ): Promise<Journal> {
    const [runs, steps] = await Promise.all([store.listRuns(cluster), store.steps(runId)]);
    // A run journaled under another name than its plan's cluster (a test's) is read whole.
    const run = runs.find((r) => r.id === runId) ?? (await store.getRun(runId));
    return new Journal(store, runId, steps, faults, events, fence, run?.waiting ?? null);
  }

  record(id: string): StepRecord {
    const r = this.#records.get(id);
    if (!r) throw new Error(`journal of run ${this.runId} has no step ${id}`);
    return r;
  }

  records(): IterableIterator<StepRecord> {
    return this.#records.values();
  }

  /** Durably records the step's new state, then tells the listeners. */
  async step(
    id: string,
    patch: StepPatch,
    about: { host?: string; component?: string } = {},
  ): Promise<StepRecord> {
    const previous = this.record(id);
    const next = { ...previous, ...patch };
    await this.#fenced(this.store.updateStep(this.runId, id, patch, this.fence?.token));
    this.#records.set(id, next);
    this.#wrote();
    // A duration only for a step that ends a run of it; an undo's span is not the step's.
    const ended = previous.state === "running" && next.state !== "running";
    const durationMs =
      ended && next.endedAt !== null && next.startedAt !== null ? next.endedAt - next.startedAt : undefined;
    // An undo's own output is not kept (only a failed undo's), so an undone step reports none.
    const finished = next.state === "done" || next.state === "failed";
    const lastLine = finished ? lastLineOf(next.output) : undefined;
    this.events.emit({
      type: "step",
      runId: this.runId,
      id,
      state: next.state,
      ...about,
      ...(durationMs !== undefined ? { durationMs } : {}),
      ...(next.error && (next.state === "failed" || next.state === "undone") ? { error: next.error } : {}),
      ...(finished ? { exitCode: next.exitCode } : {}),
      ...(lastLine !== undefined ? { lastLine } : {}),
    });
    return next;
  }

  /** What the run waits for, as journaled; null when it does not wait. */
  get waiting(): Waiting | null {
    return this.#waiting;
  }

  /** Durably marks the run waiting (or with a new detail), then tells the listeners. */
  async wait(waiting: Waiting): Promise<void> {
    await this.#fenced(this.store.updateRun(this.runId, { waiting }, this.fence?.token));
    this.#waiting = waiting;
    this.#wrote();
    this.events.emit({ type: "wait", runId: this.runId, waiting });
  }

  /**
   * Durably ends the wait of `step` (null: the run's wait between steps), saying how; nothing when
   * the run waits for something else now (another lane's gate took the mark over).
   */
  async endWait(step: string | null, how: string): Promise<void> {
    const waiting = this.#waiting;
    if (waiting === null || waiting.step !== step) return;
    await this.#fenced(this.store.updateRun(this.runId, { waiting: null }, this.fence?.token));
    this.#waiting = null;
    this.#wrote();
    this.events.emit({ type: "wait-ended", runId: this.runId, waiting, how, at: Date.now() });
  }

  /**
   * Durably records the run's new state, then tells the listeners; `by`: who asked for it. A run
   * that stops running stops waiting too.
   */
  async run(given: RunPatch, by?: string): Promise<void> {
    const stops = given.status !== undefined && given.status !== "running" && this.#waiting !== null;
    const patch: RunPatch = stops ? { ...given, waiting: null } : given;
    await this.#fenced(this.store.updateRun(this.runId, patch, this.fence?.token));
    const waited = this.#waiting;
    if (stops) this.#waiting = null;
    this.#wrote();
    if (stops && waited)
      this.events.emit({
        type: "wait-ended",
        runId: this.runId,
        waiting: waited,
        how: `the run is ${patch.status}`,
        at: Date.now(),
      });
    if (patch.status) {
      this.events.emit({
        type: "run",
        runId: this.runId,
        status: patch.status,
        ...(patch.error ? { message: patch.error } : {}),
        ...(by ? { by } : {}),
        ...(this.#waiting ? { waiting: this.#waiting } : {}),
      });
    }
  }

  /** Durably adds a note to the run's history (who did what, when), then tells the listeners. */
  async note(note: RunNote): Promise<void> {
    await this.#fenced(this.store.addNote(this.runId, note, this.fence?.token));
    this.#wrote();
    this.events.emit({ type: "note", runId: this.runId, message: `${note.text} (${note.by})` });
  }

  /** Durably adds a gate's measurement to the run, then tells the listeners. */
  async measured(m: Measurement): Promise<void> {
    await this.#fenced(this.store.addMeasurement(this.runId, m, this.fence?.token));
    this.#wrote();
    this.events.emit({ type: "measurement", runId: this.runId, measurement: m });
  }

  async #fenced(write: Promise<void>): Promise<void> {
    try {
      await write;
    } catch (err) {
      if (err instanceof LockLostError) this.fence?.onLost();
      throw err;
    }
  }

  #wrote(): void {
    this.#writes += 1;
    this.faults.hit(`journal#${this.#writes}`);
  }
}
