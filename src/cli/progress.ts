/**
 * How `apply`, `resume` and `rollback` show a run as it goes. On a terminal, the live tree
 * (progress-tree.ts); elsewhere (a pipe, a file, CI) one plain line per step transition, with no
 * escape codes; with --json, the event stream (json-stream.ts).
 */
import { forTerminal, type RunEvent, type RunListener, waitEndedLine, waitingLine } from "../index.js";

/** A listener to the run's events, with a way to say something beside them and a last word. */
export interface ProgressSink {
  readonly listener: RunListener;
  /** A line from the command itself (a signal received), shown where the progress shows. */
  note(text: string): void;
  /** The run is over: draw the last frame, write what is buffered. */
  finish(): void;
}

/** How a run's first line names what it does: `upgrade demo 1.0.0 → 1.0.1`. */
export const OPERATION_VERBS: Record<Extract<RunEvent, { type: "start" }>["operation"], string> = {
  forward: "upgrade",
  rollback: "rollback of",
  "host-undo": "host undo in",
};

/** One plain line per step transition, for logs and pipes. */
export function plainProgress(out: NodeJS.WritableStream = process.stdout): ProgressSink {
  return {
    listener: (event) => {
      const line = plainLine(event);
      // One line per transition, whatever the error quoted: a host's line ends are spaces here.
      if (line !== undefined)
        out.write(`${new Date().toISOString().slice(11, 19)} ${forTerminal(line).replace(/\n/g, " ")}\n`);
    },
    note: (text) => process.stderr.write(`${forTerminal(text)}\n`),
    finish: () => {},
  };
}

function plainLine(event: RunEvent): string | undefined {
  switch (event.type) {
    case "start": {
      const { plan } = event;
      const verb = OPERATION_VERBS[event.operation];
      return `run ${event.runId} ${verb} ${plan.cluster} ${plan.path.join(" → ")}: ${event.states.size} steps`;
    }
    case "step": {
      const took = event.durationMs !== undefined ? ` (${formatSeconds(event.durationMs)})` : "";
      const why = event.error ? `: ${event.error}` : "";
      return `${event.state.padEnd(8)} ${event.id}${took}${why}`;
    }
    case "run":
      return `run ${event.runId} ${event.status}`;
    case "note":
      return event.message;
    case "output":
      return undefined;
    case "measurement": {
      const m = event.measurement;
      return `measured ${m.step}: ${m.verdict} (${m.detail})`;
    }
    case "wait":
      return waitingLine(event.waiting);
    case "wait-ended":
      return waitEndedLine(event.waiting, event.how, event.at);
  }
}

/** 0.4s, 12.4s, 3m05s, 1h02m. */
export function formatSeconds(ms: number): string {
  const s = Math.max(0, ms) / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.floor(s % 60)).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}
