/** `ferry status` and `ferry history`: the cluster now, and the runs before. */
import {
  type ClusterStatus,
  clusterStatus,
  type HistoryEntry,
  loadCluster,
  type MeasurementEntry,
  type NoteEntry,
  type RunProgress,
  runHistory,
} from "../index.js";
import { withStore } from "./context.js";
import { printJson, printLines } from "./output.js";
import { formatSeconds } from "./progress.js";

interface Flags {
  config: string;
  json?: boolean;
}

export async function statusCommand(flags: Flags): Promise<void> {
  const cluster = loadCluster(flags.config);
  const status = await withStore(cluster, (store) => clusterStatus(cluster, store));
  if (flags.json) printJson(status);
  else printLines(renderStatus(status));
}

export async function historyCommand(flags: Flags): Promise<void> {
  const cluster = loadCluster(flags.config);
  const runs = await withStore(cluster, (store) => runHistory(cluster, store));
  if (flags.json) printJson(runs);
  else printLines(renderHistory(runs));
}

export function renderStatus(s: ClusterStatus): string[] {
  const head = s.version
    ? `${s.cluster} runs ${s.version}`
    : `${s.cluster}: ${s.mixed ? "versions are mixed" : "version unknown"}`;
  const width = Math.max(...s.members.map((m) => `${m.component}@${m.host}`.length));
  const lines = [
    head,
    ...s.members.map((m) => {
      const health = m.healthy === null ? "" : m.healthy ? "healthy" : "UNHEALTHY";
      return `  ${`${m.component}@${m.host}`.padEnd(width)}  ${(m.version ?? "?").padEnd(10)} ${health}${m.error ? `  (${m.error})` : ""}`.trimEnd();
    }),
  ];
  const r = s.run;
  if (r) {
    const counts = Object.entries(r.steps)
      .filter(([k]) => k !== "total")
      .map(([k, v]) => `${v} ${k}`)
      .join(", ");
    lines.push(
      `run ${r.id}: ${r.from} → ${r.to} ${r.status}, started ${r.startedAt} by ${r.startedBy}`,
      `  steps: ${r.steps.total} (${counts})`,
      ...(r.current.length
        ? [`  now: ${r.current.slice(0, 5).join(", ")}${r.current.length > 5 ? ", …" : ""}`]
        : []),
      ...(r.waiting
        ? [
            `  waiting for ${r.waiting.for} since ${shortTime(r.waiting.since)}${r.waiting.step ? ` at ${r.waiting.step}` : ""}: ${r.waiting.detail}`,
          ]
        : []),
      ...r.notes.map(noteLine),
      ...measurementLines(r.measurements),
      `  ${r.heldBy ? `held by ${r.heldBy}` : `no ferry is running it: ${nextCommands(r)}`}`,
    );
  } else {
    lines.push("no run in progress");
  }
  return lines;
}

/** What goes on with a run nobody runs: rollback is refused once its hop is past the point of no return. */
function nextCommands(r: RunProgress): string {
  if (!r.pastPointOfNoReturn || !r.hop) return "`ferry resume` or `ferry rollback`";
  return `\`ferry resume\` (hop ${r.hop.from} → ${r.hop.to} is past its point of no return)`;
}

/** A table: id, from, to, result, duration, who, started; newest first. */
export function renderHistory(runs: readonly HistoryEntry[]): string[] {
  if (runs.length === 0) return ["no runs yet"];
  const rows = [
    ["ID", "FROM", "TO", "RESULT", "DURATION", "WHO", "STARTED"],
    ...runs.map((r) => [
      r.id,
      r.from,
      r.to,
      r.status,
      r.durationS === null ? "-" : formatSeconds(r.durationS * 1000),
      r.startedBy,
      r.startedAt.replace("T", " ").replace(/\.\d+Z$/, "Z"),
    ]),
  ];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? "").length))) ?? [];
  const line = (row: string[]) =>
    row
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  // A run's notes (a host undone) go under its row.
  return [
    line(rows[0] ?? []),
    ...runs.flatMap((r, i) => [line(rows[i + 1] ?? []), ...r.notes.map(noteLine)]),
  ];
}

/**
 * The gates' measurements, the last few of each gate step (its latest attempt):
 * `  gate 1.0.1/roll/api/batch-1/gate/errors: fail 2.0 is not below 1 (01:39:00Z)`.
 */
function measurementLines(ms: readonly MeasurementEntry[]): string[] {
  const byStep = new Map<string, MeasurementEntry[]>();
  for (const m of ms) byStep.set(m.step, [...(byStep.get(m.step) ?? []), m]);
  return [...byStep].flatMap(([step, all]) => {
    const last = Math.max(...all.map((m) => m.attempt));
    const shown = all.filter((m) => m.attempt === last).slice(-5);
    return [`  gate ${step}:`, ...shown.map((m) => `    ${m.at.slice(11, 19)}Z ${m.verdict}: ${m.detail}`)];
  });
}

/** `  2026-11-21 01:39:00Z alice: ferry host undo h2: …` */
function noteLine(n: NoteEntry): string {
  return `  ${shortTime(n.at)} ${n.by}: ${n.text}`;
}

/** `2026-11-21 01:39:00Z` from ISO 8601. */
function shortTime(iso: string): string {
  return iso.replace("T", " ").replace(/\.\d+Z$/, "Z");
}
