/**
 * What watching a run costs the executor: every event of a 10,000-host × 3-component plan (each
 * step running, two output lines, done) through the live tree's model, the --json stream and the
 * per-run log, in microseconds per event; and the time to draw one frame of the tree mid-run.
 *
 *   npm run bench:progress [-- --hosts N]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { Writable } from "node:stream";
import pc from "picocolors";
import { defineCatalog, planPath } from "../src/catalog/index.js";
import { jsonStream } from "../src/cli/json-stream.js";
import { ProgressModel } from "../src/cli/progress-tree.js";
import { parseCluster } from "../src/cluster/cluster.js";
import { buildPlan } from "../src/plan/build-plan.js";
import { planSteps } from "../src/plan/plan.js";
import { type RunEvent, RunEvents } from "../src/run/events.js";
import { attachRunLog } from "../src/run/run-log.js";

const i = process.argv.indexOf("--hosts");
const HOSTS = i >= 0 ? Number(process.argv[i + 1]) : 10_000;

const names = Array.from({ length: HOSTS }, (_, n) => `h${n}`);
const cluster = parseCluster(
  join(tmpdir(), "cluster.yaml"),
  [
    "name: big",
    "catalog: releases.yaml",
    "hosts:",
    ...names.map((h) => `  - { name: ${h}, address: ${h} }`),
    "components:",
    ...["db", "api", "worker"].map((c, n) =>
      [
        `  - name: ${c}`,
        `    hosts: [${names.join(", ")}]`,
        `    order: ${n + 1}`,
        "    maxUnavailable: 200",
        "    commands: { version: v, install: i, stop: s, activate: a, start: s }",
      ].join("\n"),
    ),
  ].join("\n"),
);
const catalog = defineCatalog({ product: "big", scheme: "semver", releases: ["1.0.0", "1.0.1"] });
const plan = buildPlan(cluster, planPath(catalog, "1.0.0", "1.0.1"));
const ids = [...planSteps(plan)].map(({ step }) => step.id);

const events: RunEvent[] = [
  {
    type: "start",
    runId: "r",
    operation: "forward",
    plan,
    states: new Map(ids.map((id) => [id, "pending"])),
  },
];
for (const id of ids) {
  events.push({ type: "step", runId: "r", id, state: "running" });
  events.push({ type: "output", runId: "r", id, line: `working on ${id}` });
  events.push({ type: "output", runId: "r", id, line: "ok" });
  events.push({ type: "step", runId: "r", id, state: "done", durationMs: 12, exitCode: 0, lastLine: "ok" });
}

function perEvent(name: string, attach: (e: RunEvents) => () => void): void {
  const bus = new RunEvents();
  const detach = attach(bus);
  const start = performance.now();
  for (const e of events) bus.emit(e);
  const ms = performance.now() - start;
  detach();
  console.log(
    `${name.padEnd(28)} ${((ms * 1000) / events.length).toFixed(2).padStart(6)} µs/event  (${Math.round(ms)} ms for ${events.length} events)`,
  );
}

console.log(`${HOSTS} hosts × 3 components: ${ids.length} steps, ${events.length} events`);
perEvent("no listener", () => () => {});
perEvent("live tree model", (bus) => {
  const model = new ProgressModel();
  let t = 0;
  return bus.on((e) => model.apply(e, t++));
});
perEvent("--json stream (discarded)", (bus) => {
  const sink = jsonStream(new Writable({ write: (_c, _e, done) => done() }));
  const off = bus.on(sink.listener);
  return () => {
    off();
    sink.finish();
  };
});
const dir = mkdtempSync(join(tmpdir(), "ferry-fl7t-bench-"));
perEvent("run log (file)", (bus) => {
  const log = attachRunLog(bus, dir);
  return () => log.close();
});
rmSync(dir, { recursive: true, force: true });

// A frame mid-run: db done, 200 api hosts running.
const model = new ProgressModel();
const [start] = events;
model.apply(start as RunEvent, 0);
for (const { step } of planSteps(plan)) {
  if (step.component === "api") {
    if (step.name === "stop" && Number(step.host?.slice(1)) < 200)
      model.apply({ type: "step", runId: "r", id: step.id, state: "running" }, 0);
    continue;
  }
  if (step.component === "worker") break;
  model.apply({ type: "step", runId: "r", id: step.id, state: "running" }, 0);
  model.apply({ type: "step", runId: "r", id: step.id, state: "done" }, 0);
}
const colours = pc.createColors(true);
const frames = 200;
const t0 = performance.now();
let lines = 0;
for (let f = 0; f < frames; f++) lines = model.frame(1000 + f * 100, 120, 40, colours).length;
console.log(
  `one frame, 200 steps running   ${((performance.now() - t0) / frames).toFixed(3)} ms (${lines} lines; drawn at most every 100 ms)`,
);
