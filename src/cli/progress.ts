/**
 * Plain progress: one line per step transition, for logs and terminals alike. (A live tree for
 * terminals comes with the operator-experience work.)
 */
import type { RunEvent } from "../index.js";

export function printProgress(event: RunEvent): void {
  const time = new Date().toISOString().slice(11, 19);
  switch (event.type) {
    case "step": {
      const took = event.durationMs !== undefined ? ` (${(event.durationMs / 1000).toFixed(1)}s)` : "";
      const why = event.error ? `: ${event.error}` : "";
      process.stdout.write(`${time} ${event.state.padEnd(8)} ${event.id}${took}${why}\n`);
      break;
    }
    case "run":
      process.stdout.write(`${time} run ${event.runId} ${event.status}\n`);
      break;
    case "note":
      process.stdout.write(`${time} ${event.message}\n`);
      break;
    case "output":
      break;
  }
}
