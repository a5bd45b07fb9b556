/**
 * The demo's load as charts in the report: requests, failures and jobs done a second, and p50/p99
 * latency a second, over the upgrade's span with its hops shaded behind them. Drawn by uPlot (a
 * small, well-kept time-series library: 50 KB, no dependencies, fast on thousands of points),
 * inlined with its stylesheet so the page still stands alone; a table holds the same numbers.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { LoadSeries } from "./load-series.js";
import type { Timeline } from "./timeline.js";

let assets: { js: string; css: string } | undefined;

/** uPlot's script and stylesheet, read from its package once. */
function uplot(): { js: string; css: string } {
  if (!assets) {
    const require = createRequire(import.meta.url);
    assets = {
      js: readFileSync(require.resolve("uplot/dist/uPlot.iife.min.js"), "utf8"),
      css: readFileSync(require.resolve("uplot/dist/uPlot.min.css"), "utf8"),
    };
  }
  return assets;
}

export function loadSection(load: LoadSeries, t: Timeline, esc: (s: string) => string): string {
  const { js, css } = uplot();
  const data = {
    seconds: load.seconds.map((s) => s / 1000),
    requests: load.requests,
    failures: load.failures,
    jobsDone: load.jobsDone,
    p50: load.p50Ms,
    p99: load.p99Ms,
    hops: t.hops
      .filter((h) => h.start !== null)
      .map((h) => ({
        label: `${h.from} → ${h.to}`,
        start: (h.start as number) / 1000,
        end: (h.end as number) / 1000,
      })),
  };
  const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
  const rows = load.seconds.map(
    (s, i) =>
      `<tr><td>${new Date(s).toISOString().slice(11, 19)}<td>${load.requests[i]}<td>${load.failures[i]}<td>${load.p50Ms[i] ?? "-"}<td>${load.p99Ms[i] ?? "-"}<td>${load.jobsDone[i]}</tr>`,
  );
  // In a <script> element `</` would end it: JSON has no other use for `<`.
  const json = JSON.stringify(data).replace(/</g, "\\u003c");
  return `<h2>Load during the upgrade</h2>
<p class="hint">Every request the demo sent from the upgrade's first step to its last, by the second it was sent: ${sum(load.requests)} requests, ${sum(load.failures)} failed; ${sum(load.jobsDone)} jobs finished in the span. Shaded: the hops.</p>
<style>${css}</style>
<div id="load-rate" class="chart" role="img" aria-label="Requests, failures and jobs done a second; the table below holds the same numbers"></div>
<div id="load-latency" class="chart" role="img" aria-label="p50 and p99 latency a second in milliseconds; the table below holds the same numbers"></div>
<script type="application/json" id="load-data">${json}</script>
<script>${js}</script>
<script>${CHARTS}</script>
<section class="offscreen"><table class="load"><caption>${esc(`Each second of the upgrade, UTC`)}</caption><thead><tr><th>second<th>requests<th>failed<th>p50 ms<th>p99 ms<th>jobs done</thead><tbody>${rows.join("\n")}</tbody></table></section>`;
}

/** The page's own script: two uPlot charts on one time axis, the hops shaded behind the series. */
const CHARTS = `
(() => {
  const d = JSON.parse(document.getElementById("load-data").textContent);
  const shades = ["rgba(59,115,185,0.10)", "rgba(46,139,87,0.10)"];
  const hops = {
    hooks: {
      drawClear: [(u) => {
        const { ctx, bbox } = u;
        d.hops.forEach((h, i) => {
          const x0 = u.valToPos(h.start, "x", true);
          const x1 = u.valToPos(h.end, "x", true);
          ctx.fillStyle = shades[i % 2];
          ctx.fillRect(x0, bbox.top, Math.max(1, x1 - x0), bbox.height);
          ctx.fillStyle = "#333";
          ctx.font = (12 * devicePixelRatio) + "px system-ui, sans-serif";
          ctx.fillText(h.label, x0 + 4, bbox.top + 14 * devicePixelRatio);
        });
      }],
    },
  };
  const width = Math.min(1300, document.body.clientWidth - 20);
  const rate = new uPlot({
    title: "requests, failures and jobs done a second",
    width, height: 260, plugins: [hops],
    series: [
      {},
      { label: "requests/s", stroke: "#3b73b9", width: 1.5 },
      { label: "failed/s", stroke: "#d00", width: 1.5 },
      { label: "jobs done/s", stroke: "#2e8b57", width: 1.5 },
    ],
  }, [d.seconds, d.requests, d.failures, d.jobsDone], document.getElementById("load-rate"));
  const latency = new uPlot({
    title: "latency a second (ms)",
    width, height: 220, plugins: [hops],
    series: [
      {},
      { label: "p50 ms", stroke: "#7b5ea7", width: 1.5, spanGaps: false },
      { label: "p99 ms", stroke: "#c0542c", width: 1.5, spanGaps: false },
    ],
  }, [d.seconds, d.p50, d.p99], document.getElementById("load-latency"));
  window.loadCharts = { rate, latency, hops: d.hops };
})();
`;
