/**
 * An upgrade report as one self-contained HTML page: the run's facts, a timeline (a Gantt of every
 * step per host, drawn as inline SVG, with hop boundaries and points of no return), each member's
 * time out of service, and the same data as tables for screen readers; for the demo, its load as
 * charts (load-charts.ts). Nothing is fetched: the file opens anywhere, offline. The Gantt's SVG is
 * our own, written here: a Gantt is rectangles on rows, needs no script, and a library for it would
 * be bigger than this file.
 */
import { forTerminal } from "../terminal-text.js";
import { loadSection } from "./load-charts.js";
import type { LoadSeries } from "./load-series.js";
import type { Timeline, TimelineBar } from "./timeline.js";

/** Colours by phase: the roll's steps in the middle of the palette, the database's in greens. */
const PHASE_COLOURS: Readonly<Record<string, string>> = {
  preflight: "#8c8c8c",
  backup: "#6f7f91",
  expand: "#2e8b57",
  pin: "#b08d57",
  drain: "#c07a2c",
  stop: "#c0542c",
  install: "#7b5ea7",
  roll: "#3b73b9",
  start: "#3b9bb9",
  activate: "#5a6fd6",
  undrain: "#c07a2c",
  data: "#3f9f6f",
  contract: "#1f6f4f",
  verify: "#5e8f3e",
  "point-of-no-return": "#000000",
};

const LEFT = 150; // the host names' column
const WIDTH = 1100; // the time axis
const ROW = 18; // one lane of a row
const TOP = 34; // the hops' labels and the time axis

export interface ReportExtras {
  /** The demo's load over the upgrade (`ferry demo --report`). */
  readonly load?: LoadSeries;
}

export function renderReport(t: Timeline, extras: ReportExtras = {}): string {
  const facts = factsOf(t);
  const failed = t.bars.filter((b) => b.failed);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${esc(`ferry report: ${t.run.cluster} ${t.run.from} → ${t.run.to} (${t.run.status})`)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${esc(`${t.run.cluster}: ${t.run.from} → ${t.run.to}`)} <span class="status ${esc(t.run.status)}">${esc(t.run.status)}</span></h1>
<dl class="facts">${facts.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join("")}</dl>
${failed.map(failure).join("\n")}
<h2>Timeline</h2>
<p class="hint">One bar per step that ran, on its host's row, coloured by phase; a red outline: failed; faded: undone, with a grey tick when it was undone. Dashed lines: where each hop began; black: its point of no return.</p>
<figure>
${timelineSvg(t)}
<figcaption>${legend(t)}</figcaption>
</figure>
${extras.load ? loadSection(extras.load, t, esc) : ""}
${gatesTable(t)}
<h2>Out of service</h2>
<section class="offscreen">${outOfServiceTable(t)}</section>
${t.notes.length ? `<h2>Notes</h2><ul>${t.notes.map((n) => `<li>${esc(`${iso(n.at)} ${n.by}: ${n.text}`)}</li>`).join("")}</ul>` : ""}
<h2>Steps</h2>
<section class="offscreen">${stepsTable(t)}</section>
</body>
</html>
`;
}

/** Each host's row gets as many lanes as its steps overlap (greedy: a bar takes the first free lane). */
function layout(t: Timeline): { rows: Map<string, Row>; height: number } {
  const byHost = new Map<string, TimelineBar[]>(t.hosts.map((h) => [h, []]));
  for (const b of t.bars) byHost.get(b.host)?.push(b);
  const rows = new Map<string, Row>();
  let y = TOP;
  for (const [host, bars] of byHost) {
    const ends: number[] = [];
    const laneOf = new Map<TimelineBar, number>();
    for (const b of bars) {
      let lane = ends.findIndex((e) => e <= b.start);
      if (lane < 0) lane = ends.push(b.end) - 1;
      else ends[lane] = b.end;
      laneOf.set(b, lane);
    }
    const lanes = Math.max(1, ends.length);
    rows.set(host, { y, lanes, bars, laneOf });
    y += lanes * ROW + 6;
  }
  return { rows, height: y + 4 };
}

interface Row {
  readonly y: number;
  readonly lanes: number;
  /** Its bars, in the order they started. */
  readonly bars: readonly TimelineBar[];
  readonly laneOf: ReadonlyMap<TimelineBar, number>;
}

/** The timeline alone, as one SVG element with its own style: the report's, and the dashboard's run view. */
export function timelineSvg(t: Timeline): string {
  const { rows, height } = layout(t);
  return svg(t, rows, height);
}

function svg(t: Timeline, rows: ReturnType<typeof layout>["rows"], height: number): string {
  const span = t.end - t.start;
  const x = (ms: number) => LEFT + ((ms - t.start) / span) * WIDTH;
  const parts: string[] = [];
  parts.push(...ticks(t, x, height));
  // A row is a group that names its host once; its bars inherit it (a run of 1,000 hosts draws
  // 15,000 bars: each byte per bar is 15 KB of the file).
  for (const [host, row] of rows) {
    const bottom = row.y + row.lanes * ROW + 3;
    parts.push(
      `<g class="row" data-host="${esc(host)}"><text class="host" x="${LEFT - 6}" y="${row.y + ROW - 5}">${esc(host)}</text><line x1="${LEFT}" x2="${LEFT + WIDTH}" y1="${bottom}" y2="${bottom}"/>`,
    );
    for (const b of row.bars) {
      const lane = row.laneOf.get(b) ?? 0;
      const x0 = x(b.start);
      const w = Math.max(1.5, x(b.end) - x0);
      const y = row.y + lane * ROW + 2;
      const state = stateWords(b);
      const title = `${b.step}: ${state}, ${seconds(b.end - b.start)}${b.open ? " so far" : ""}${b.error ? ` (${b.error})` : ""}`;
      parts.push(
        `<rect class="p-${phaseClass(b.phase)} ${b.state}${b.failed ? " failed" : ""}" data-step="${esc(b.step)}" x="${x0.toFixed(1)}" y="${y}" width="${w.toFixed(1)}"><title>${esc(forTerminal(title))}</title></rect>`,
      );
      if (b.undoneAt !== null) {
        const ux = x(b.undoneAt).toFixed(1);
        parts.push(
          `<path class="undo" d="M${ux} ${y}v${ROW - 4}"><title>${esc(`${b.step}: undone at ${iso(b.undoneAt)}`)}</title></path>`,
        );
      }
      if (b.failed) {
        parts.push(
          `<text class="failed-label" x="${(x0 + w + 3).toFixed(1)}" y="${y + ROW - 6}">failed: ${esc(b.name)}</text>`,
        );
      }
    }
    parts.push("</g>");
  }
  // Each metric gate's measurements, as dots on its step's bar, coloured by verdict.
  const barOf = new Map(t.bars.map((b) => [b.step, b]));
  for (const m of t.measurements) {
    const b = barOf.get(m.step);
    const row = b && rows.get(b.host);
    if (!b || !row) continue;
    const cy = row.y + (row.laneOf.get(b) ?? 0) * ROW + 2 + (ROW - 4) / 2;
    parts.push(
      `<circle class="m ${m.verdict}" data-gate="${esc(m.gate)}" data-verdict="${m.verdict}" cx="${x(m.at).toFixed(1)}" cy="${cy}" r="3.5"><title>${esc(`${m.gate}: ${m.value ?? "no value"}, ${m.verdict} (${m.detail}) at ${iso(m.at)}`)}</title></circle>`,
    );
  }
  for (const hop of t.hops) {
    if (hop.start !== null) {
      const hx = x(hop.start).toFixed(1);
      parts.push(
        `<line class="hop" data-hop="${esc(hop.id)}" data-at="${hop.start}" x1="${hx}" x2="${hx}" y1="12" y2="${height}"/>`,
        `<text class="hop-label" x="${hx}" y="10">${esc(`${hop.from} → ${hop.to} (${hop.mode})`)}</text>`,
      );
    }
    if (hop.pointOfNoReturn !== null) {
      const px = x(hop.pointOfNoReturn).toFixed(1);
      parts.push(
        `<line class="ponr" data-hop="${esc(hop.id)}" data-at="${hop.pointOfNoReturn}" x1="${px}" x2="${px}" y1="22" y2="${height}"><title>${esc(`${hop.to}: point of no return, ${iso(hop.pointOfNoReturn)}`)}</title></line>`,
      );
    }
  }
  return `<svg class="timeline" role="img" aria-label="${esc(`Timeline of run ${t.run.id}: ${t.bars.length} steps on ${t.hosts.length} rows`)}" viewBox="0 0 ${LEFT + WIDTH + 120} ${height}" width="${LEFT + WIDTH + 120}" height="${height}" xmlns="http://www.w3.org/2000/svg">
<style>${TIMELINE_STYLE}</style>
${parts.join("\n")}
</svg>`;
}

/** About eight labelled ticks at round seconds from the run's start. */
function ticks(t: Timeline, x: (ms: number) => number, height: number): string[] {
  const span = t.end - t.start;
  const steps = [
    0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400,
  ];
  const every = (steps.find((s) => span / (s * 1000) <= 8) ?? 86400) * 1000;
  const out: string[] = [];
  for (let at = 0; at <= span; at += every) {
    const tx = x(t.start + at).toFixed(1);
    out.push(
      `<line class="tick" x1="${tx}" x2="${tx}" y1="${TOP - 4}" y2="${height}"/>`,
      `<text class="tick-label" x="${tx}" y="${TOP - 6}">+${seconds(at)}</text>`,
    );
  }
  return out;
}

function legend(t: Timeline): string {
  const phases = [...new Set(t.bars.map((b) => b.phase))];
  return phases.map((p) => `<span class="key"><i class="p-${phaseClass(p)}"></i>${esc(p)}</span>`).join(" ");
}

function factsOf(t: Timeline): [string, string][] {
  const r = t.run;
  const ended = r.endedAt;
  return [
    ["run", r.id],
    ["cluster", r.cluster],
    ["path", r.path.join(" → ")],
    ["started by", r.startedBy],
    ["started", iso(r.startedAt)],
    ["ended", ended === null ? "not yet" : iso(ended)],
    ["duration", ended === null ? `${seconds(t.end - r.startedAt)} so far` : seconds(ended - r.startedAt)],
    ["result", r.status],
    ["steps run", String(t.bars.length)],
    ...(t.window ? ([["window", t.window]] as [string, string][]) : []),
    ...(t.waiting
      ? ([
          [
            "waiting",
            `for ${t.waiting.for} since ${iso(t.waiting.since)}${t.waiting.detail ? `: ${t.waiting.detail}` : ""}`,
          ],
        ] as [string, string][])
      : []),
    ...(r.error ? ([["error", forTerminal(r.error)]] as [string, string][]) : []),
  ];
}

function failure(b: TimelineBar): string {
  const tail = b.output ? forTerminal(b.output).split("\n").slice(-20).join("\n") : "";
  return `<section class="failure" data-step="${esc(b.step)}">
<h2>Failed: ${esc(b.step)} on ${esc(b.host)}</h2>
${b.error ? `<p>${esc(forTerminal(b.error))}</p>` : ""}
${tail ? `<pre>${esc(tail)}</pre>` : ""}
</section>`;
}

function gatesTable(t: Timeline): string {
  if (t.measurements.length === 0) return "";
  const rows = t.measurements.map(
    (m) =>
      `<tr data-verdict="${m.verdict}"><td>${esc(m.gate)}<td>${esc(m.step)}<td>${iso(m.at)}<td>${m.value ?? "-"}<td>${m.verdict}<td>${esc(m.detail)}</tr>`,
  );
  return `<h2>Gate measurements</h2>
<p class="hint">Each reading of each metric gate, as the journal recorded it; on the timeline, dots on the gate's bar (green: pass, red: fail, grey: inconclusive).</p>
<table class="gates"><thead><tr><th>gate<th>step<th>at<th>value<th>verdict<th>why</thead><tbody>${rows.join("\n")}</tbody></table>`;
}

function outOfServiceTable(t: Timeline): string {
  if (t.outOfService.length === 0) return "<p>No member was taken out of service.</p>";
  const rows = t.outOfService.map(
    (o) =>
      `<tr><td>${esc(o.hop)}</td><td>${esc(o.host)}</td><td>${esc(o.component)}</td><td>${iso(o.start)}</td><td>${o.end === null ? "not back" : `${iso(o.end)}${o.undone ? " (undone)" : ""}`}</td><td>${o.end === null ? "-" : seconds(o.end - o.start)}</td></tr>`,
  );
  return `<table class="out-of-service"><thead><tr><th>hop</th><th>host</th><th>component</th><th>out</th><th>back</th><th>out for</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

function stepsTable(t: Timeline): string {
  const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  const rows = t.bars.map((b) => {
    const state = stateWords(b);
    const took = `${seconds(b.end - b.start)}${b.open ? " so far" : ""}`;
    return `<tr><td>${esc(b.step)}<td>${esc(b.host)}<td>${esc(b.phase)}<td>${day(b.start) === day(t.start) ? clock(b.start) : iso(b.start)}<td>${took}<td>${esc(state)}</tr>`;
  });
  // End tags of cells and rows are optional in HTML: left out, they save a sixth of a big table.
  return `<table class="steps"><caption>Started at times of ${day(t.start)}, UTC</caption><thead><tr><th>step<th>host<th>phase<th>started<th>took<th>result</thead><tbody>${rows.join("\n")}</tbody></table>`;
}

/** `done`, or `failed, then undone` for a step a rollback undid after it failed. */
function stateWords(b: TimelineBar): string {
  return b.failed && b.state !== "failed" ? `failed, then ${b.state}` : b.state;
}

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace("T", " ").replace("Z", " UTC");
}

/** `13:31:03.854`, UTC. */
function clock(ms: number): string {
  return new Date(ms).toISOString().slice(11, 23);
}

/** A phase's name as a class: `point-of-no-return` as it is. */
function phaseClass(phase: string): string {
  return phase.replace(/[^a-z-]/g, "");
}

function seconds(ms: number): string {
  if (ms < 10_000) return `${(ms / 1000).toFixed(ms < 1000 ? 2 : 1)} s`;
  if (ms < 120_000) return `${Math.round(ms / 1000)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** The timeline's own style, inside its SVG, so that the SVG stands alone (the dashboard shows it too). */
const TIMELINE_STYLE = `
svg.timeline { font: 11px system-ui, sans-serif; background: #fff; }
${Object.entries(PHASE_COLOURS)
  .map(([phase, colour]) => `svg.timeline .p-${phase} { fill: ${colour}; }`)
  .join("\n")}
svg.timeline rect { height: ${ROW - 4}px; fill: #999; }
svg.timeline .host { fill: #333; text-anchor: end; } svg.timeline .row line { stroke: #eee; }
svg.timeline .tick { stroke: #f0f0f0; } svg.timeline .tick-label { fill: #888; text-anchor: middle; }
svg.timeline rect.failed { stroke: #d00; stroke-width: 2; }
svg.timeline rect.undone, svg.timeline rect.undoing { fill-opacity: 0.45; }
svg.timeline rect.running { fill-opacity: 0.7; }
svg.timeline path.undo { stroke: #555; stroke-width: 2; }
svg.timeline .failed-label { fill: #c00; font-weight: 600; }
svg.timeline .hop { stroke: #555; stroke-dasharray: 4 3; } svg.timeline .hop-label { fill: #333; font-weight: 600; }
svg.timeline .ponr { stroke: #000; stroke-width: 2; }
svg.timeline circle.m { stroke: #fff; stroke-width: 1; }
svg.timeline circle.pass { fill: #2a9d3a; } svg.timeline circle.fail { fill: #d00; } svg.timeline circle.inconclusive { fill: #888; }
`;

const STYLE = `
${Object.entries(PHASE_COLOURS)
  .map(([phase, colour]) => `.key .p-${phase} { background: ${colour}; }`)
  .join("\n")}
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 .status { font-size: 0.6em; padding: 0.1em 0.5em; border-radius: 0.3em; background: #ddd; vertical-align: middle; }
h1 .status.done { background: #cfe9cf; } h1 .status.failed, h1 .status.rolled-back { background: #f4cccc; }
dl.facts { display: grid; grid-template-columns: max-content auto; gap: 0.1em 1em; }
dl.facts dt { font-weight: 600; }
.failure { border-left: 4px solid #c00; padding: 0 1em; background: #fff4f4; }
.failure pre { white-space: pre-wrap; font-size: 12px; }
figcaption .key { margin-right: 1em; white-space: nowrap; }
figcaption .key i { display: inline-block; width: 0.9em; height: 0.9em; margin-right: 0.3em; vertical-align: -0.1em; }
table { border-collapse: collapse; font-size: 12px; }
.chart { margin: 0.5em 0; }
/* Long tables are laid out when scrolled to, not before the page first shows (a run of 1,000 hosts has 15,000 rows). */
.offscreen { content-visibility: auto; contain-intrinsic-size: auto 2000px; }
td, th { border-bottom: 1px solid #eee; padding: 0.15em 0.6em; text-align: left; }
.hint { color: #666; }
`;
