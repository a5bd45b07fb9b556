/**
 * Typed events of a run. Side concerns (progress display, the JSON stream, the per-run log, later
 * the dashboard and metrics) listen to these instead of being written into the executor.
 */
import type { Plan } from "../plan/plan.js";
import type { Measurement, RunStatus, StepState, Waiting } from "../store/state-store.js";

export type RunEvent =
  /**
   * The executor has opened the run's journal and is about to act: the plan it follows and where
   * each step stands (a resumed run has steps done already). `operation` is what it was asked to do.
   */
  | {
      readonly type: "start";
      readonly runId: string;
      /** `host-undo`: `ferry host undo` undoing one host's steps of a stopped run. */
      readonly operation: "forward" | "rollback" | "host-undo";
      readonly plan: Plan;
      readonly states: ReadonlyMap<string, StepState>;
    }
  | {
      readonly type: "run";
      readonly runId: string;
      readonly status: RunStatus;
      readonly message?: string;
      /** Who asked for this (a pause requested by `ferry pause` or the API), when someone did. */
      readonly by?: string;
      /** What the run waits for as it takes this status (a resume finds a wait journaled). */
      readonly waiting?: Waiting;
    }
  | {
      readonly type: "step";
      readonly runId: string;
      readonly id: string;
      readonly state: StepState;
      readonly host?: string;
      readonly component?: string;
      readonly durationMs?: number;
      readonly error?: string;
      /** When the step has just ended (done, failed, undone): its last command's exit code, if it had one. */
      readonly exitCode?: number | null;
      /** When the step has just ended: the last non-empty line of its output, if any. */
      readonly lastLine?: string;
    }
  /** One line of a step's command output (without its newline), as it arrives. */
  | { readonly type: "output"; readonly runId: string; readonly id: string; readonly line: string }
  | { readonly type: "note"; readonly runId: string; readonly message: string }
  /** A metric gate's measurement, journaled. */
  | { readonly type: "measurement"; readonly runId: string; readonly measurement: Measurement }
  /** The run waits now (an approval, a window, an alarm…), or what it waits on changed. */
  | { readonly type: "wait"; readonly runId: string; readonly waiting: Waiting }
  /** The run no longer waits for `waiting`: `how` it ended (`approved by ann`); `at` epoch ms. */
  | {
      readonly type: "wait-ended";
      readonly runId: string;
      readonly waiting: Waiting;
      readonly how: string;
      readonly at: number;
    };

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

/**
 * Turns a command's output chunks into whole lines for `emit`; `end()` emits an unfinished last
 * line. Carriage returns (progress bars) count as line ends, so a redraw shows up as a line.
 */
export function lineSplitter(emit: (line: string) => void): { push(chunk: string): void; end(): void } {
  let rest = "";
  return {
    push(chunk) {
      let text = rest + chunk;
      // A chunk ending in \r may be the first half of \r\n: hold it until the next chunk says.
      const held = text.endsWith("\r");
      if (held) text = text.slice(0, -1);
      const parts = text.split(/\r\n|\r|\n/);
      rest = (parts.pop() ?? "") + (held ? "\r" : "");
      for (const line of parts) emit(line);
    },
    end() {
      const last = rest.endsWith("\r") ? rest.slice(0, -1) : rest;
      if (last !== "") emit(last);
      rest = "";
    },
  };
}

/** How many of a starting run's steps are done already (a resumed run has some). */
export function stepsDone(start: Extract<RunEvent, { type: "start" }>): number {
  let done = 0;
  for (const state of start.states.values()) if (state === "done") done++;
  return done;
}
