/**
 * How long ferry takes to act on a metric gate's verdict: from the moment the deciding measurement
 * is journaled to the next step starting (a gate that passed: the next batch's first host), or to
 * the rollback starting (a gate that failed: the first undo journaled). Runs the executor on the
 * in-memory driver with a SQLite journal (a real file, synchronous commits), 4 hosts in batches
 * [2, 2], one gate of one measurement, asking a small HTTP server that answers Prometheus's query
 * API: the time of the query itself is before the verdict, so it is not in the figure.
 *
 *   npm run bench:gates [-- --runs N] [-- --json]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { defineCatalog, planPath } from "../src/catalog/index.js";
import { parseCluster } from "../src/cluster/cluster.js";
import { buildPlan } from "../src/plan/build-plan.js";
import type { Plan } from "../src/plan/plan.js";
import { Executor } from "../src/run/executor.js";
import { openStateStore } from "../src/store/open-store.js";
import { createSimRun, SIM_COMMANDS, SimCluster } from "../test/support/sim-cluster.js";

const args = process.argv.slice(2);
const at = args.indexOf("--runs");
const RUNS = at >= 0 ? Number(args[at + 1]) : 30;
const json = args.includes("--json");
const HOSTS = ["h1", "h2", "h3", "h4"];
const catalog = defineCatalog({ product: "bench", scheme: "semver", releases: ["1.0.0", "1.0.1"] });

/** Answers every instant query with `value`, as Prometheus's /api/v1/query does. */
async function queryServer(value: () => string) {
  const server = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(
      JSON.stringify({
        status: "success",
        data: { resultType: "vector", result: [{ metric: {}, value: [Date.now() / 1000, value()] }] },
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server };
}

/** One run to its gate's verdict and what follows: the milliseconds between the two. */
async function once(url: string, dir: string, i: number): Promise<number> {
  const cluster = parseCluster(
    "/c/cluster.yaml",
    `name: bench
catalog: releases.yaml
hosts: [${HOSTS.map((h) => `{ name: ${h}, address: ${h} }`).join(", ")}]
components:
  - name: api
    hosts: [${HOSTS.join(", ")}]
    batches: [2]
    commands: ${JSON.stringify(SIM_COMMANDS)}
    gates:
      - { name: errors, prometheus: { url: "${url}", query: errors, below: 1 }, count: 1 }
`,
  );
  const plan = buildPlan(cluster, planPath(catalog, "1.0.0", "1.0.1"));
  const sim = new SimCluster(HOSTS, ["api"], "1.0.0", 1);
  const store = await openStateStore(join(dir, `state-${i}.db`), dir);
  await store.init();
  const runId = `run-${i}`;
  await createSimRun(store, runId, plan);
  const executor = new Executor({
    store,
    runId,
    plan: JSON.parse(JSON.stringify(plan)) as Plan,
    driverFor: sim.driverFor,
  });
  let verdict: number | undefined;
  let next: number | undefined;
  executor.events.on((e) => {
    if (e.type === "measurement" && e.measurement.step.includes("batch-1")) verdict = performance.now();
    else if (verdict !== undefined && next === undefined && e.type === "step") {
      // The next batch's first step starting, or the first undo of the rollback.
      if ((e.state === "running" && e.id.includes("/h3/")) || e.state === "undoing") next = performance.now();
    }
  });
  await executor.forward();
  await store.close();
  if (verdict === undefined || next === undefined)
    throw new Error("the run did not reach its gate's verdict");
  return next - verdict;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

const dir = mkdtempSync(join(tmpdir(), "ferry-bench-gates-"));
let value = "0";
const { url, server } = await queryServer(() => value);
try {
  const results: Record<string, { median: number; p90: number; runs: number }> = {};
  for (const [name, v] of [
    ["passed → next batch", "0"],
    ["failed → rollback", "5"],
  ] as const) {
    value = v;
    const times: number[] = [];
    for (let i = 0; i < RUNS; i++) times.push(await once(url, dir, times.length + (v === "0" ? 0 : RUNS)));
    const sorted = [...times].sort((a, b) => a - b);
    results[name] = {
      median: median(times),
      p90: sorted[Math.floor(sorted.length * 0.9)] as number,
      runs: RUNS,
    };
  }
  if (json) console.log(JSON.stringify(results));
  else {
    console.log(`gate verdict to what follows, SQLite journal, ${RUNS} runs each:`);
    for (const [name, r] of Object.entries(results))
      console.log(`  ${name.padEnd(22)} median ${r.median.toFixed(2)} ms   p90 ${r.p90.toFixed(2)} ms`);
  }
} finally {
  server.close();
  rmSync(dir, { recursive: true, force: true });
}
