/**
 * Typed events of a run. Side concerns (progress lines, logs, later the dashboard and metrics)
 * listen to these instead of being written into the executor.
 */
import type { RunStatus, StepState } from "../store/state-store.js";

export type RunEvent =
  | { readonly type: "run"; readonly runId: string; readonly status: RunStatus; readonly message?: string }
  | {
      readonly type: "step";
      readonly runId: string;
      readonly id: string;
      readonly state: StepState;
      readonly host?: string;
      readonly component?: string;
      readonly durationMs?: number;
      readonly error?: string;
    }
  | { readonly type: "output"; readonly runId: string; readonly id: string; readonly text: string }
  | { readonly type: "note"; readonly runId: string; readonly message: string };

export type RunListener = (event: RunEvent) => void;

/** A list of listeners; a listener that throws is a bug in it and must not stop the run. */
export class RunEvents {
  readonly #listeners = new Set<RunListener>();

  on(listener: RunListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  emit(event: RunEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (err) {
        process.emitWarning(`a run event listener threw: ${String(err)}`);
      }
    }
  }
}
