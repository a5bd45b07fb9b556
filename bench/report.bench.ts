/**
 * `ferry report` at scale: a real run of 1,000 hosts × 3 components by the executor (in-memory
 * driver and store, commands of a millisecond), its report built and written, then opened in
 * Debian's Chromium. Prints the file's size, the time to build the page, and Chromium's time from
 * navigation to the first frame drawn after load (median of 5), against the issue's aims (under
 * 2 s, under 5 MB).
 *
 *   npm run bench:report [-- --hosts N] [-- --json]
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { defineCatalog, planPath } from "../src/catalog/index.js";
import { parseCluster } from "../src/cluster/cluster.js";
import { buildPlan } from "../src/plan/build-plan.js";
import { renderReport } from "../src/report/report-html.js";
import { buildTimeline } from "../src/report/timeline.js";
import { Executor } from "../src/run/executor.js";
import { MemoryStore } from "../src/store/memory-store.js";
import type { RunRecord } from "../src/store/state-store.js";
import { launchChromium } from "../test/support/chromium.js";
import { createSimRun, SimCluster, simClusterYaml } from "../test/support/sim-cluster.js";

const args = process.argv.slice(2);
const HOSTS = args.includes("--hosts") ? Number(args[args.indexOf("--hosts") + 1]) : 1000;
const json = args.includes("--json");
const RUNS = 5;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

const cluster = parseCluster("bench-cluster.yaml", simClusterYaml(HOSTS, 50));
const catalog = defineCatalog({ product: "bench", scheme: "semver", releases: ["1.0.0", "1.0.1"] });
const plan = buildPlan(cluster, planPath(catalog, "1.0.0", "1.0.1"));
const store = new MemoryStore();
await store.init();
const run = { id: "bench-report" };
await createSimRun(store, run.id, plan);
const sim = new SimCluster(
  cluster.hosts.map((h) => h.name),
  ["db", "api", "worker"],
  "1.0.0",
  1,
);
const outcome = await new Executor({ store, runId: run.id, plan, driverFor: sim.driverFor }).forward();
if (outcome.status !== "done") throw new Error(outcome.message);

const finished = (await store.getRun(run.id)) as RunRecord;
const t0 = performance.now();
const timeline = buildTimeline(finished, await store.steps(run.id), [], Date.now());
const html = renderReport(timeline);
const buildMs = performance.now() - t0;
const dir = mkdtempSync(join(tmpdir(), "ferry-report-bench-"));
const file = join(dir, "report.html");
writeFileSync(file, html);
const sizeMB = statSync(file).size / 2 ** 20;

const browser = await launchChromium();
const renders: number[] = [];
try {
  for (let i = 0; i < RUNS; i++) {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const start = performance.now();
    await page.goto(`file://${file}`, { waitUntil: "load" });
    // The first frame after load: layout and paint of the whole page have happened.
    await page.evaluate("new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))");
    renders.push(performance.now() - start);
    await page.close();
  }
} finally {
  await browser.close();
  rmSync(dir, { recursive: true, force: true });
}

const figures = {
  hosts: HOSTS,
  steps: timeline.bars.length,
  buildMs: Math.round(buildMs),
  sizeMB: Math.round(sizeMB * 100) / 100,
  renderMedianMs: Math.round(median(renders)),
  renderMs: renders.map(Math.round),
};
if (json) {
  process.stdout.write(`${JSON.stringify(figures)}\n`);
} else {
  process.stdout.write(
    `${[
      `report of a run of ${HOSTS} hosts × 3 components: ${figures.steps} steps drawn`,
      `  built in ${figures.buildMs} ms; file ${figures.sizeMB} MB (aim: under 5 MB, ${((figures.sizeMB / 5) * 100).toFixed(0)}% of it)`,
      `  Chromium, navigation to first frame after load: median ${figures.renderMedianMs} ms of ${RUNS} (${figures.renderMs.join(", ")}) (aim: under 2,000 ms, ${((figures.renderMedianMs / 2000) * 100).toFixed(0)}% of it)`,
    ].join("\n")}\n`,
  );
}
