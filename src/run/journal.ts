/**
 * The journal of one run: every step's record, kept in memory and written through to the state
 * store before the executor moves on (DESIGN.md "Crash safety": before a step starts the journal
 * records it; after it ends, the journal records how).
 */

import { lastLineOf } from "../drivers/driver.js";
import type { RunPatch, StateStore, StepPatch, StepRecord } from "../store/state-store.js";
import type { RunEvents } from "./events.js";
import type { Faults } from "./faults.js";

export class Journal {
  readonly #records = new Map<string, StepRecord>();
  #writes = 0;

  constructor(
    private readonly store: StateStore,
    readonly runId: string,
    records: readonly StepRecord[],
    private readonly faults: Faults,
    private readonly events: RunEvents,
  ) {
    for (const r of records) this.#records.set(r.id, r);
  }

  static async open(store: StateStore, runId: string, faults: Faults, events: RunEvents): Promise<Journal> {
    return new Journal(store, runId, await store.steps(runId), faults, events);
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
    await this.store.updateStep(this.runId, id, patch);
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

  async run(patch: RunPatch): Promise<void> {
    await this.store.updateRun(this.runId, patch);
    this.#wrote();
    if (patch.status) {
      this.events.emit({
        type: "run",
        runId: this.runId,
        status: patch.status,
        ...(patch.error ? { message: patch.error } : {}),
      });
    }
  }

  #wrote(): void {
    this.#writes += 1;
    this.faults.hit(`journal#${this.#writes}`);
  }
}
