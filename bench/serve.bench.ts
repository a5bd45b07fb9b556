/**
 * `ferry pause` and `ferry serve` at scale: how long a requested pause takes to stop a run (the
 * executor polls the journal every 250 ms, then lets the steps in flight finish), and what the
 * server's reads of a big run cost: `GET /api/runs/:id` over HTTP, and the journal reads the store
 * watcher makes every 500 ms, on a SQLite journal of 300 hosts × 3 components (4,503 steps).
 *
 *   npm run bench:serve [-- --hosts N]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { defineCatalog, planPath } from "../src/catalog/index.js";
import { parseCluster } from "../src/cluster/cluster.js";
import { buildPlan } from "../src/plan/build-plan.js";
import { planSteps } from "../src/plan/plan.js";
import { Executor } from "../src/run/executor.js";
import { startServer } from "../src/server/index.js";
import { SqliteStore } from "../src/store/sqlite-store.js";
import { SIM_COMMANDS, SimCluster } from "../test/support/sim-cluster.js";

const args = process.argv.slice(2);
const HOSTS = Number(args[args.indexOf("--hosts") + 1] || 300);
const COMMAND_MS = 20;
const ROOT = new URL("../", import.meta.url).pathname;
const catalog = defineCatalog({ product: "bench", scheme: "semver", releases: ["1.0.0", "1.0.1"] });

function clusterYaml(hosts: number): string {
  const names = Array.from({ length: hosts }, (_, i) => `h${i + 1}`);
  const component = (name: string, order: number) =>
    `  - { name: ${name}, hosts: [${names.join(", ")}], order: ${order}, maxUnavailable: 20, commands: ${JSON.stringify(SIM_COMMANDS)}, health: { exec: "health ${name}", interval: 1ms, deadline: 10s } }`;
  return [
    "name: bench",
    "catalog: releases.yaml",
    "hosts:",
    ...names.map((h, i) => `  - { name: ${h}, address: 10.0.${i >> 8}.${i & 255} }`),
    "components:",
    component("db", 1),
    component("api", 2),
    component("worker", 2),
  ].join("\n");
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return `median ${s[Math.floor(s.length / 2)]?.toFixed(1)} ms, max ${s.at(-1)?.toFixed(1)} ms`;
};

const dir = mkdtempSync(join(tmpdir(), "ferry-serve-bench-"));
try {
  const cluster = parseCluster(
    join(ROOT, "bench-cluster.yaml"),
    `${clusterYaml(HOSTS)}\nstate: ${join(dir, "state.db")}`,
  );
  const plan = buildPlan(cluster, planPath(catalog, "1.0.0", "1.0.1"));
  const ids = [...planSteps(plan)].map(({ step }) => step.id);
  const store = new SqliteStore(join(dir, "state.db"));
  await store.init();
  const newRun = async (id: string) =>
    store.createRun(
      {
        id,
        cluster: "bench",
        from: "1.0.0",
        to: "1.0.1",
        path: ["1.0.0", "1.0.1"],
        status: "running",
        startedAt: Date.now(),
        startedBy: "bench@here",
        plan,
        files: {},
      },
      ids,
    );

  // Pause latency: request a pause at a few moments of a run, time until forward() returns.
  const pauses: number[] = [];
  for (let i = 0; i < 5; i++) {
    const sim = new SimCluster(
      plan.members.map((m) => m.host).filter((h, j, a) => a.indexOf(h) === j),
      ["db", "api", "worker"],
      "1.0.0",
      COMMAND_MS,
    );
    const runId = `pause-${i}`;
    await newRun(runId);
    const executor = new Executor({ store, runId, plan, driverFor: sim.driverFor });
    const running = executor.forward();
    await new Promise((r) => setTimeout(r, 300 + 137 * i));
    const t = performance.now();
    await store.requestPause(runId, "bench@here");
    const outcome = await running;
    pauses.push(performance.now() - t);
    if (outcome.status !== "paused") throw new Error(`run ${runId} ended ${outcome.status}, not paused`);
    await store.updateRun(runId, { status: "rolled-back" });
  }
  console.log(
    `pause: ${plan.members.length} members, window 20, each command ${COMMAND_MS} ms; from the request to the run stopped: ${stats(pauses)} (5 pauses)`,
  );

  // A finished run of every step, for the reads.
  await newRun("big");
  await Promise.all(
    ids.map((id) =>
      store.updateStep("big", id, {
        state: "done",
        startedAt: 1,
        endedAt: 2,
        exitCode: 0,
        output: "ok\n",
        attempts: 1,
      }),
    ),
  );
  const reads: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t = performance.now();
    await store.unfinishedRun("bench");
    await store.listRuns("bench");
    await store.steps("big");
    reads.push(performance.now() - t);
  }
  console.log(
    `store watcher: one read of a ${ids.length}-step run (unfinished run, run list, steps): ${stats(reads)}`,
  );

  const server = await startServer({ cluster, catalog, store, token: "t", port: 0 });
  try {
    const gets: number[] = [];
    let bytes = 0;
    for (let i = 0; i < 20; i++) {
      const t = performance.now();
      const body = await (await fetch(new URL("api/runs/big", server.url))).text();
      gets.push(performance.now() - t);
      bytes = body.length;
    }
    console.log(`GET /api/runs/:id of ${ids.length} steps: ${stats(gets)}, ${(bytes / 1024).toFixed(0)} KiB`);
  } finally {
    await server.close();
  }
  await store.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
