/**
 * The live progress tree that `apply`, `resume` and `rollback` draw on a terminal: hops → phases →
 * the steps running now, with host counts, elapsed times and each running step's last output line.
 *
 * It listens to the run's events and only tallies them (constant work per event), so a plan of
 * thousands of steps costs the executor nothing; a timer draws a frame at most ten times a second
 * from the tallies, through log-update, which rewrites only the lines that changed. Finished and
 * pending phases are one line each; only running and failed steps are drawn, as many as the
 * terminal has rows for.
 */
import { createLogUpdate } from "log-update";
import { forTerminal, type Plan, type RunEvent, type StepState } from "../index.js";
import { formatSeconds, OPERATION_VERBS, type ProgressSink } from "./progress.js";
import type { Colors } from "./terminal.js";

const FRAME_MS = 100;
const SPINNER = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

type Counts = Record<StepState, number>;

interface Tally {
  readonly total: number;
  readonly counts: Counts;
  startedAt?: number;
  lastAt?: number;
}

interface PoolTally {
  readonly component: string;
  /** Its hosts in the phase. */
  lanes: number;
  lanesDone: number;
}

interface PhaseTally extends Tally {
  readonly name: string;
  readonly hop: HopTally;
  readonly pools: readonly PoolTally[];
  /** Steps running or undoing now, in the order they started. */
  readonly active: Set<string>;
  readonly failed: Set<string>;
}

interface HopTally extends Tally {
  readonly from: string;
  readonly to: string;
  readonly kind: string;
  readonly mode: string;
  readonly phases: PhaseTally[];
}

interface StepTally {
  readonly phase: PhaseTally;
  /** The host lane the step belongs to, in a component's pool. */
  readonly lane?: { notDone: number; readonly pool: PoolTally };
  state: StepState;
  since?: number;
  lastLine?: string;
  error?: string;
  undoError?: string;
}

interface Row {
  readonly text: string;
  readonly phase?: PhaseTally;
}

const emptyCounts = (): Counts => ({ pending: 0, running: 0, done: 0, failed: 0, undoing: 0, undone: 0 });

/** The run as far as the events told it; `frame()` turns it into lines. */
export class ProgressModel {
  readonly hops: HopTally[] = [];
  readonly #steps = new Map<string, StepTally>();
  #plan: Plan | undefined;
  #runId = "";
  #operation: Extract<RunEvent, { type: "start" }>["operation"] = "forward";
  #status = "running";
  #startedAt = 0;
  /** What the run waits for now, and since when by this clock. */
  #waiting: { readonly text: string; readonly since: number } | undefined;

  get started(): boolean {
    return this.#plan !== undefined;
  }

  apply(event: RunEvent, now: number): void {
    switch (event.type) {
      case "start":
        this.#start(event.plan, event.states, now);
        this.#runId = event.runId;
        this.#operation = event.operation;
        break;
      case "run":
        this.#status = event.status;
        break;
      case "step":
        this.#step(event.id, event.state, now, event.error);
        break;
      case "output": {
        const step = this.#steps.get(event.id);
        const line = clean(event.line);
        if (step && line) step.lastLine = line;
        break;
      }
      case "measurement": {
        // A gate's latest measurement shows under it, as a command's last line does.
        const step = this.#steps.get(event.measurement.step);
        if (step) step.lastLine = `${event.measurement.verdict}: ${clean(event.measurement.detail)}`;
        break;
      }
      case "note":
        break;
      case "wait":
        this.#waiting = {
          text: `waiting for ${event.waiting.for}: ${clean(event.waiting.detail)}`,
          // A resumed wait keeps its journaled start; the terminal's clock may differ, so measure
          // the time already waited rather than trusting the epoch.
          since: now - Math.max(0, Date.now() - event.waiting.since),
        };
        break;
      case "wait-ended":
        this.#waiting = undefined;
        break;
    }
  }

  #start(plan: Plan, states: ReadonlyMap<string, StepState>, now: number): void {
    this.#plan = plan;
    this.#startedAt = now;
    this.hops.length = 0;
    this.#steps.clear();
    for (const hop of plan.hops) {
      const phases: PhaseTally[] = [];
      const hopTally: HopTally = {
        from: hop.from,
        to: hop.to,
        kind: hop.kind,
        mode: hop.mode,
        phases,
        total: 0,
        counts: emptyCounts(),
      };
      for (const phase of hop.phases) {
        const pools: PoolTally[] = [];
        // One tally per component and per host of it in the phase, however many pools and lanes
        // hold them: a roll cut by the point of no return, an action on every host.
        const poolOf = new Map<string, PoolTally>();
        const laneOf = new Map<string, { notDone: number; readonly pool: PoolTally }>();
        const entries: [string, StepTally][] = [];
        const tally: PhaseTally = {
          name: phase.name,
          hop: hopTally,
          pools,
          total: 0,
          counts: emptyCounts(),
          active: new Set(),
          failed: new Set(),
        };
        for (const stage of phase.stages) {
          for (const pool of stage.pools) {
            const component = pool.component;
            let poolTally = component === undefined ? undefined : poolOf.get(component);
            if (component !== undefined && !poolTally) {
              poolTally = { component, lanes: 0, lanesDone: 0 };
              poolOf.set(component, poolTally);
              pools.push(poolTally);
            }
            for (const lane of pool.lanes) {
              const key = `${component}@${lane.host}`;
              let laneTally = poolTally && lane.host ? laneOf.get(key) : undefined;
              if (poolTally && lane.host && !laneTally) {
                laneTally = { notDone: 0, pool: poolTally };
                laneOf.set(key, laneTally);
                poolTally.lanes++;
              }
              for (const step of lane.steps) {
                const state = states.get(step.id) ?? "pending";
                if (laneTally && state !== "done") laneTally.notDone++;
                entries.push([step.id, { phase: tally, ...(laneTally ? { lane: laneTally } : {}), state }]);
              }
            }
          }
        }
        for (const lane of laneOf.values()) if (lane.notDone === 0) lane.pool.lanesDone++;
        (tally as { total: number }).total = entries.length;
        for (const [id, step] of entries) {
          this.#steps.set(id, step);
          tally.counts[step.state]++;
          hopTally.counts[step.state]++;
          if (step.state === "failed") tally.failed.add(id);
        }
        (hopTally as { total: number }).total += entries.length;
        phases.push(tally);
      }
      this.hops.push(hopTally);
    }
  }

  #step(id: string, next: StepState, now: number, error: string | undefined): void {
    const step = this.#steps.get(id);
    if (!step) return;
    const { phase, lane } = step;
    const previous = step.state;
    step.state = next;
    for (const tally of [phase, phase.hop]) {
      tally.counts[previous]--;
      tally.counts[next]++;
      tally.lastAt = now;
      if (next === "running" || next === "undoing") tally.startedAt ??= now;
    }
    if (lane && previous !== next) {
      if (previous === "done" && lane.notDone++ === 0) lane.pool.lanesDone--;
      if (next === "done" && --lane.notDone === 0) lane.pool.lanesDone++;
    }
    if (next === "running" || next === "undoing") {
      phase.active.add(id);
      step.since = now;
      delete step.lastLine;
    } else {
      phase.active.delete(id);
    }
    // A failed step stays on show while it is undone, so the last frame says what went wrong;
    // it leaves the list when it runs again (a resume) or is done.
    if (next === "failed") {
      phase.failed.add(id);
      if (error && !error.startsWith("undo: ")) step.error = error;
      else if (error) step.undoError = error;
    } else if (next === "running" || next === "done") {
      phase.failed.delete(id);
    }
  }

  /** The lines of one frame, each at most `width` columns, at most `rows` of them. */
  frame(now: number, width: number, rows: number, c: Colors): string[] {
    const plan = this.#plan;
    if (!plan) return [];
    const verb = OPERATION_VERBS[this.#operation];
    const head = fit(
      [
        [`ferry ${verb} ${plan.cluster} ${plan.from} → ${plan.to}`, c.bold],
        [`  run ${this.#runId}  ${this.#status}  ${formatSeconds(now - this.#startedAt)}`, c.dim],
      ],
      width,
    );

    // Every hop is a line; the current one (the first not finished) and any with a failed or
    // running step have a line per phase, under which go its failed and running steps.
    const current = this.hops.findIndex((h) => status(h) !== "done");
    let blocks: Row[][] = this.hops.map((hop, i) => {
      const rows: Row[] = [{ text: this.#hopLine(hop, now, width, c) }];
      if (i === current || hop.phases.some((p) => p.failed.size > 0 || p.active.size > 0)) {
        for (const phase of hop.phases) rows.push({ text: this.#phaseLine(phase, now, width, c), phase });
      }
      return rows;
    });
    const waiting = this.#waiting;
    const waitLine =
      waiting && fit([[`  ⏸ ${waiting.text}  (${formatSeconds(now - waiting.since)})`, c.yellow]], width);
    const fixed = () => (waitLine ? 2 : 1) + blocks.reduce((n, b) => n + b.length, 0);
    // More hops than rows: the finished ones, then the ones to come, fold into a line each.
    const fold = (from: number, to: number, text: string) => {
      if (to - from >= 2 && fixed() >= rows)
        blocks = [...blocks.slice(0, from), [{ text: fit([[text, c.dim]], width) }], ...blocks.slice(to)];
    };
    const open = current === -1 ? this.hops.length : current;
    fold(0, open, `✓ ${open} hops done`);
    const last = blocks.findLastIndex((b) => b.length > 1) + 1;
    if (last > 0) fold(last, blocks.length, `· ${blocks.length - last} more hops to ${plan.to}`);

    const phases = blocks.flat().flatMap((r) => (r.phase ? [r.phase] : []));
    const stepCount = phases.reduce((n, p) => n + new Set([...p.failed, ...p.active]).size, 0);
    const room = Math.max(1, rows - 1 - fixed());
    const shown = stepCount > room ? room - 1 : stepCount;
    let drawn = 0;
    const out = waitLine ? [head, waitLine] : [head];
    for (const row of blocks.flat()) {
      out.push(row.text);
      if (!row.phase) continue;
      for (const id of new Set([...row.phase.failed, ...row.phase.active])) {
        if (drawn === shown) {
          out.push(fit([[`      … and ${stepCount - shown} more`, c.dim]], width));
          drawn++;
        }
        if (drawn > shown) break;
        out.push(this.#stepLine(id, now, width, c));
        drawn++;
      }
    }
    return out.slice(0, Math.max(1, rows));
  }

  #hopLine(hop: HopTally, now: number, width: number, c: Colors): string {
    const s = status(hop);
    return fit(
      [
        [`${mark(s, now, c)} `, undefined],
        [`${hop.from} → ${hop.to}`, s === "pending" ? c.dim : c.bold],
        [`  ${hop.kind}, ${hop.mode}  ${tallyText(hop)}${elapsed(hop, s, now)}`, c.dim],
      ],
      width,
    );
  }

  #phaseLine(phase: PhaseTally, now: number, width: number, c: Colors): string {
    const s = status(phase);
    const hosts = phase.pools.map((p) => `${p.component} ${p.lanesDone}/${p.lanes} hosts`).join(", ");
    return fit(
      [
        [`  ${mark(s, now, c)} `, undefined],
        [phase.name, s === "pending" ? c.dim : undefined],
        [`  ${hosts ? `${hosts}  ` : ""}${tallyText(phase)}${elapsed(phase, s, now)}`, c.dim],
      ],
      width,
    );
  }

  #stepLine(id: string, now: number, width: number, c: Colors): string {
    const step = this.#steps.get(id) as StepTally;
    if (step.phase.failed.has(id) && step.state !== "undoing") {
      const how = step.state === "undone" ? "  (undone)" : step.undoError ? `  ${clean(step.undoError)}` : "";
      return fit(
        [
          [`      ${c.red("✗")} ${id}`, undefined],
          [how, c.dim],
          // The error ends with the host's own output: no escape sequence of its reaches the terminal.
          [`  ${step.error ? clean(step.error) : "failed"}`, c.red],
        ],
        width,
      );
    }
    const took = step.since === undefined ? "" : `  ${formatSeconds(now - step.since)}`;
    const verb = step.state === "undoing" ? "  undoing" : "";
    return fit(
      [
        [`      ${c.cyan(spinner(now))} ${id}`, undefined],
        [`${verb}${took}`, c.dim],
        [step.lastLine ? `  › ${step.lastLine}` : "", c.dim],
      ],
      width,
    );
  }
}

type Status = "done" | "failed" | "active" | "undone" | "pending" | "partial";

function status(t: Tally): Status {
  const n = t.counts;
  if (n.failed > 0) return "failed";
  if (n.running + n.undoing > 0) return "active";
  if (n.done === t.total) return "done";
  if (n.undone > 0 && n.done === 0) return "undone";
  if (n.pending === t.total) return "pending";
  return "partial";
}

function mark(s: Status, now: number, c: Colors): string {
  switch (s) {
    case "done":
      return c.green("✓");
    case "failed":
      return c.red("✗");
    case "active":
      return c.cyan(spinner(now));
    case "undone":
      return c.yellow("↺");
    case "partial":
      return c.yellow("▸");
    case "pending":
      return c.dim("·");
  }
}

function tallyText(t: Tally): string {
  const n = t.counts;
  const extra = [
    n.undone || n.undoing ? `${n.undone}/${n.undone + n.undoing + n.done} undone` : "",
    n.failed ? `${n.failed} failed` : "",
  ].filter(Boolean);
  return `${n.done}/${t.total} steps${extra.length ? `, ${extra.join(", ")}` : ""}`;
}

function elapsed(t: Tally, s: Status, now: number): string {
  if (t.startedAt === undefined) return "";
  const end = s === "active" ? now : (t.lastAt ?? now);
  return `  ${formatSeconds(end - t.startedAt)}`;
}

function spinner(now: number): string {
  return SPINNER[Math.floor(now / 80) % SPINNER.length] as string;
}

/**
 * Joins styled parts into one line of at most `width` columns: the text is cut, not wrapped, so a
 * frame has exactly as many terminal rows as lines. Parts may hold styling already (a coloured
 * mark); those are never cut.
 */
function fit(parts: readonly [string, ((s: string) => string) | undefined][], width: number): string {
  let room = Math.max(10, width - 1);
  let line = "";
  for (const [text, style] of parts) {
    if (room <= 0 || text === "") continue;
    const visible = [...stripStyle(text)];
    let piece = text;
    if (visible.length > room) piece = `${visible.slice(0, room - 1).join("")}…`;
    room -= Math.min(visible.length, room);
    line += style ? style(piece) : piece;
  }
  return line;
}

// Only ferry's own styling: what hosts print is cleaned by forTerminal before it gets here.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching escape sequences is the point
const STYLE = /\u001b\[[0-9;?]*[A-Za-z]/g;

function stripStyle(text: string): string {
  return text.replace(STYLE, "");
}

/** A host's text as one row of the tree: no escape sequence or control character, tabs and line ends as spaces. */
function clean(line: string): string {
  return forTerminal(line).replace(/\t/g, "  ").replace(/\n/g, " ").trim();
}

/**
 * Draws the model on `stream` (a terminal) until finish(); notes are printed above the tree, and
 * `below` (the demo's load figures) under it in each frame.
 */
export function progressTree(
  stream: NodeJS.WriteStream,
  colours: Colors,
  below: () => readonly string[] = () => [],
): ProgressSink {
  const model = new ProgressModel();
  const draw = createLogUpdate(stream, { showCursor: true });
  let timer: NodeJS.Timeout | undefined;
  let finished = false;
  const render = () => {
    if (!model.started || finished) return;
    const columns = stream.columns || 80;
    const extra = below().map((line) => fit([[clean(line), undefined]], columns));
    const tree = model.frame(Date.now(), columns, (stream.rows || 24) - extra.length, colours);
    draw([...tree, ...extra].join("\n"));
  };
  return {
    listener(event) {
      model.apply(event, Date.now());
      if (event.type === "note") {
        draw.persist(colours.yellow(forTerminal(event.message)));
        render();
      }
      if (event.type === "start" && !timer && !finished) {
        timer = setInterval(render, FRAME_MS).unref();
        render();
      }
    },
    note(text) {
      draw.persist(colours.yellow(forTerminal(text)));
      render();
    },
    finish() {
      if (finished) return;
      if (timer) clearInterval(timer);
      timer = undefined;
      render();
      finished = true;
      draw.done();
    },
  };
}
