/**
 * What the notification outbox costs, on SQLite and PostgreSQL, against a webhook receiver on
 * loopback:
 *
 * - per event: recording it in the outbox (a durable write: the notice and its delivery), beside a
 *   plain durable journal write (a run update) for scale, and delivering it (the POST and the
 *   durable mark that it was delivered), each the median over EVENTS events;
 * - in a run: the same rolling hop (HOSTS hosts on the in-memory driver, each command DELAY_MS)
 *   with and without a notifier listening, run after run side by side, median of REPEATS each,
 *   and the ratio; then how long the exit's delivery of what is pending took.
 *
 *   npm run bench:notify [-- --json] [-- --events N] [-- --hosts N] [-- --repeats N] [-- --no-postgres]
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { defineCatalog, planPath } from "../src/catalog/index.js";
import { type NotifyReceiver, parseCluster } from "../src/cluster/cluster.js";
import { decideNotice } from "../src/notify/decide-notice.js";
import { Notifier } from "../src/notify/notifier.js";
import { buildPlan } from "../src/plan/build-plan.js";
import { planSteps } from "../src/plan/plan.js";
import { RunEvents } from "../src/run/events.js";
import { Executor } from "../src/run/executor.js";
import { openStateStore } from "../src/store/open-store.js";
import type { StateStore } from "../src/store/state-store.js";
import { SIM_COMMANDS, SimCluster } from "../test/support/sim-cluster.js";
import { startReceiver } from "../test/support/webhook-receiver.js";

const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const json = args.includes("--json");
const EVENTS = flag("--events", 200);
const HOSTS = flag("--hosts", 20);
const DELAY_MS = flag("--delay", 3);
const REPEATS = flag("--repeats", 11);

const catalog = defineCatalog({ product: "bench", scheme: "semver", releases: ["1.0.0", "1.0.1"] });

function quantile(xs: readonly number[], q: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) * q)] ?? 0;
}
const median = (xs: readonly number[]) => quantile(xs, 0.5);
const round = (x: number, places = 3) => Math.round(x * 10 ** places) / 10 ** places;

let runs = 0;
async function newRun(store: StateStore, plan: unknown, stepIds: readonly string[]): Promise<string> {
  const id = `bench-${process.pid}-${++runs}`;
  await store.createRun(
    {
      id,
      cluster: "bench",
      from: "1.0.0",
      to: "1.0.1",
      path: ["1.0.0", "1.0.1"],
      status: "running",
      startedAt: Date.now(),
      startedBy: "bench",
      plan,
      files: {},
    },
    stepIds,
  );
  return id;
}

/** Recording and delivering EVENTS events one after another, and a plain journal write for scale. */
async function perEvent(store: StateStore, receiver: NotifyReceiver) {
  const runId = await newRun(store, { hops: [] }, ["a"]);
  const journal: number[] = [];
  const record: number[] = [];
  for (let i = 0; i < EVENTS; i++) {
    const status = i % 2 === 0 ? "paused" : "stopped";
    let t = performance.now();
    await store.updateRun(runId, { status });
    journal.push(performance.now() - t);
    const condition = {
      runId,
      cluster: "bench",
      from: "1.0.0",
      to: "1.0.1",
      status,
      message: null,
      who: "bench",
      startedBy: "bench",
      hop: { from: "1.0.0", to: "1.0.1" },
      failed: null,
      recovered: false,
    } as const;
    t = performance.now();
    // As the first of its run, each notice is new: every one is recorded and sends.
    await store.appendNotice(runId, () => decideNotice(condition, [receiver], Date.now())(null));
    record.push(performance.now() - t);
  }
  const pending = (await store.pendingDeliveries("bench")).length;
  const notifier = new Notifier({ store, cluster: "bench", receivers: [], who: "bench" });
  const t = performance.now();
  await notifier.catchUp();
  const summary = await notifier.close(600_000);
  const deliverMs = performance.now() - t;
  if (summary.left.length > 0 || summary.delivered !== pending)
    throw new Error(`delivered ${summary.delivered} of ${pending}`);
  return {
    events: pending,
    journalWriteMs: round(median(journal)),
    recordMs: round(median(record)),
    deliverMsPerEvent: round(deliverMs / pending),
  };
}

/** One run of the rolling hop, with or without a notifier; its wall time and the exit's delivery. */
async function runOnce(store: StateStore, receivers: readonly NotifyReceiver[] | null) {
  const names = Array.from({ length: HOSTS }, (_, i) => `h${i + 1}`);
  const yaml = [
    "name: bench",
    "catalog: releases.yaml",
    "hosts:",
    ...names.map((h, i) => `  - { name: ${h}, address: 10.0.${i >> 8}.${i & 255} }`),
    "components:",
    `  - { name: api, hosts: [${names.join(", ")}], maxUnavailable: 2, commands: ${JSON.stringify(SIM_COMMANDS)}, health: { exec: "health api", interval: 1ms, deadline: 10s } }`,
  ].join("\n");
  const plan = buildPlan(parseCluster("/bench/cluster.yaml", yaml), planPath(catalog, "1.0.0", "1.0.1"));
  const ids = [...planSteps(plan)].map(({ step }) => step.id);
  const sim = new SimCluster(names, ["api"], "1.0.0", DELAY_MS);
  const runId = await newRun(store, plan, ids);
  const events = new RunEvents();
  const notifier = receivers ? new Notifier({ store, cluster: "bench", receivers, who: "bench" }) : undefined;
  notifier?.listen(events);
  const start = performance.now();
  const outcome = await new Executor({ store, runId, plan, driverFor: sim.driverFor, events }).forward();
  const runMs = performance.now() - start;
  if (outcome.status !== "done") throw new Error(outcome.message);
  const t = performance.now();
  const summary = await notifier?.close();
  const exitMs = performance.now() - t;
  if (summary && summary.left.length > 0)
    throw new Error(`left undelivered: ${JSON.stringify(summary.left)}`);
  const notices = (await store.notices(runId)).filter((n) => n.event !== null).length;
  return { steps: ids.length, runMs, exitMs, events: notices };
}

async function inRuns(store: StateStore, receiver: NotifyReceiver) {
  await runOnce(store, null); // warm-up, both ways
  await runOnce(store, [receiver]);
  const plain: number[] = [];
  const notified: number[] = [];
  const exits: number[] = [];
  let steps = 0;
  let events = 0;
  for (let i = 0; i < REPEATS; i++) {
    const a = await runOnce(store, null);
    const b = await runOnce(store, [receiver]);
    plain.push(a.runMs);
    notified.push(b.runMs);
    exits.push(b.exitMs);
    steps = a.steps;
    events = b.events;
  }
  const without = median(plain);
  const withNotify = median(notified);
  const spread = (xs: number[]) => [round(quantile(xs, 0.25), 1), round(quantile(xs, 0.75), 1)];
  return {
    steps,
    eventsPerRun: events,
    withoutMs: round(without, 1),
    withMs: round(withNotify, 1),
    /** The middle half of each side's runs: how far apart runs of one kind fall. */
    withoutSpreadMs: spread(plain),
    withSpreadMs: spread(notified),
    ratio: round(withNotify / without),
    addedMsPerEvent: round((withNotify - without) / events, 2),
    exitDeliveryMs: round(median(exits), 1),
  };
}

async function main() {
  const receiverServer = await startReceiver("ok");
  const receiver: NotifyReceiver = {
    webhook: receiverServer.url,
    events: ["started", "awaiting-approval", "paused", "failed", "rolled-back", "done"],
    headers: {},
  };
  const dir = mkdtempSync(join(tmpdir(), "ferry-bench-notify-"));
  const schema = `ferry_bench_notify_${process.pid}`;
  const stores: [string, () => Promise<StateStore>][] = [
    ["sqlite", () => openStateStore(join(dir, "state.db"), dir)],
  ];
  if (!args.includes("--no-postgres"))
    stores.push([
      "postgres",
      () => openStateStore(`postgres://postgres@127.0.0.1:5432/test?schema=${schema}`, "."),
    ]);
  const results = [];
  try {
    for (const [name, open] of stores) {
      const store = await open();
      try {
        results.push({
          store: name,
          perEvent: await perEvent(store, receiver),
          inRuns: await inRuns(store, receiver),
        });
      } finally {
        await store.close();
      }
    }
  } finally {
    await receiverServer.close();
    rmSync(dir, { recursive: true, force: true });
    if (!args.includes("--no-postgres"))
      spawnSync(
        "psql",
        ["-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-c", `DROP SCHEMA ${schema} CASCADE`],
        {
          stdio: "ignore",
        },
      );
  }
  if (json) {
    process.stdout.write(
      `${JSON.stringify({ events: EVENTS, hosts: HOSTS, delayMs: DELAY_MS, repeats: REPEATS, results }, null, 2)}\n`,
    );
    return;
  }
  console.log(
    `notification outbox: per event, median of ${EVENTS}; in a run, a rolling hop of ${HOSTS} hosts (each command ${DELAY_MS} ms, window 2), median of ${REPEATS} runs each way, side by side`,
  );
  for (const { store, perEvent: e, inRuns: r } of results) {
    console.log(
      `  ${store.padEnd(8)} per event: record ${e.recordMs} ms (a plain journal write: ${e.journalWriteMs} ms), deliver ${e.deliverMsPerEvent} ms (POST + delivered mark)`,
    );
    console.log(
      `  ${"".padEnd(8)} in a run of ${r.steps} steps and ${r.eventsPerRun} events: ${r.withoutMs} ms without notify (middle half ${r.withoutSpreadMs.join("–")}), ${r.withMs} ms with (${r.withSpreadMs.join("–")}): ×${r.ratio}, ${r.addedMsPerEvent} ms per event; delivering at exit ${r.exitDeliveryMs} ms`,
    );
  }
}

await main();
