/**
 * The per-run log: one JSON object per line in `<state folder>/logs/<run id>.jsonl`, written by
 * listening to the run's events. Every line has `time`, `runId`, `event` and `step` (the step's
 * path id, or null for a line about the whole run); step lines add host, state, exit code and the
 * output's last line, and each line a command prints is logged too. A resumed run appends to the
 * same file.
 *
 * A line about a step or the run is written at once (a plain write to the page cache, never a
 * sync: the journal's commit just before it costs far more), so a `kill -9` leaves the log as far
 * as the journal. Command output, which may come fast, is gathered and written every FLUSH_MS or
 * with the next step line; close() writes what is left, and so does the process's `exit` (an
 * uncaught error). A log that cannot be written is reported once and never stops a run.
 */
import { closeSync, mkdirSync, openSync, writeSync } from "node:fs";
import { join } from "node:path";
import { planSteps } from "../plan/plan.js";
import { jsonForTerminal } from "../terminal-text.js";
import { type RunEvent, type RunEvents, stepsDone } from "./events.js";
import { waitingJson } from "./waiting.js";

const FLUSH_MS = 100;

export interface RunLog {
  /** The files written so far (one per run the events were about). */
  readonly files: readonly string[];
  /** Writes what is buffered and closes the files; the log stops listening. */
  close(): void;
}

/** Where the log of `runId` lives under a cluster's state folder. */
export function runLogFile(stateFolder: string, runId: string): string {
  return join(stateFolder, "logs", `${runId}.jsonl`);
}

export function attachRunLog(events: RunEvents, stateFolder: string): RunLog {
  const fds = new Map<string, number>();
  const files: string[] = [];
  const hostOf = new Map<string, string>();
  let pending: { fd: number; text: string }[] = [];
  let timer: NodeJS.Timeout | undefined;
  let broken = false;

  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    const batch = pending;
    pending = [];
    // One write per file: the lines of a batch go in together, in order.
    const byFd = new Map<number, string>();
    for (const { fd, text } of batch) byFd.set(fd, (byFd.get(fd) ?? "") + text);
    for (const [fd, text] of byFd) {
      try {
        writeSync(fd, text);
      } catch (err) {
        fail(err);
      }
    }
  };

  const fail = (err: unknown) => {
    if (!broken)
      process.emitWarning(`the run log cannot be written, so it stops here: ${(err as Error).message}`);
    broken = true;
  };

  const fdOf = (runId: string): number | undefined => {
    let fd = fds.get(runId);
    if (fd === undefined && !broken) {
      try {
        const file = runLogFile(stateFolder, runId);
        mkdirSync(join(stateFolder, "logs"), { recursive: true });
        fd = openSync(file, "a");
        fds.set(runId, fd);
        files.push(file);
      } catch (err) {
        fail(err);
      }
    }
    return fd;
  };

  const write = (event: RunEvent) => {
    if (event.type === "start") {
      for (const { step } of planSteps(event.plan)) if (step.host) hostOf.set(step.id, step.host);
    }
    const fd = fdOf(event.runId);
    if (fd === undefined) return;
    // Output is logged as the host printed it (the log is a record), but escaped: `cat` and `tail -f`
    // of the log on a terminal must not run a host's escape sequences.
    pending.push({ fd, text: `${jsonForTerminal(logLine(event, hostOf))}\n` });
    if (event.type !== "output") flush();
    else timer ??= setTimeout(flush, FLUSH_MS).unref();
  };

  const onExit = () => flush();
  process.on("exit", onExit);
  const off = events.on(write);

  return {
    files,
    close() {
      off();
      process.off("exit", onExit);
      flush();
      for (const fd of fds.values()) {
        try {
          closeSync(fd);
        } catch {
          // Already closed or never usable: nothing is lost by ignoring it, flush() reported it.
        }
      }
      fds.clear();
    },
  };
}

/** One line of the log, with the same keys for every event of a kind; `step` is always present. */
function logLine(event: RunEvent, hostOf: ReadonlyMap<string, string>): Record<string, unknown> {
  const head = { time: new Date().toISOString(), runId: event.runId };
  switch (event.type) {
    case "start": {
      const { plan } = event;
      return {
        ...head,
        step: null,
        event: "start",
        operation: event.operation,
        cluster: plan.cluster,
        from: plan.from,
        to: plan.to,
        path: plan.path,
        steps: event.states.size,
        done: stepsDone(event),
      };
    }
    case "run":
      return { ...head, step: null, event: "run", status: event.status, message: event.message ?? null };
    case "note":
      return { ...head, step: null, event: "note", message: event.message };
    case "step":
      return {
        ...head,
        step: event.id,
        event: "step",
        host: event.host ?? null,
        component: event.component ?? null,
        state: event.state,
        exitCode: event.exitCode ?? null,
        output: event.lastLine ?? null,
        durationMs: event.durationMs ?? null,
        error: event.error ?? null,
      };
    case "output":
      return {
        ...head,
        step: event.id,
        event: "output",
        host: hostOf.get(event.id) ?? null,
        line: event.line,
      };
    case "measurement": {
      const m = event.measurement;
      return {
        ...head,
        step: m.step,
        event: "measurement",
        gate: m.gate,
        at: new Date(m.at).toISOString(),
        value: m.value,
        verdict: m.verdict,
        detail: m.detail,
      };
    }
    case "wait":
      return { ...head, step: event.waiting.step, event: "wait", waiting: waitingJson(event.waiting) };
    case "wait-ended":
      return {
        ...head,
        step: event.waiting.step,
        event: "wait-ended",
        waiting: waitingJson(event.waiting),
        how: event.how,
      };
  }
}
