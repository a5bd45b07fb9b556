/**
 * `ferry demo`: the sample cluster on this machine, upgraded from its first release to its last
 * through every hop while a load generator sends requests and jobs through its gateway; then a
 * verifier reads back every acknowledged write and waits for every job. Everything it started is
 * stopped again, also when it is interrupted.
 */
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadCatalog } from "../catalog/index.js";
import { loadCluster } from "../cluster/cluster.js";
import { DriverPool } from "../drivers/driver-pool.js";
import { clusterMembers } from "../plan/build-plan.js";
import { buildLoadSeries, type LoadSeries } from "../report/load-series.js";
import { runTimeline } from "../report/run-report.js";
import type { Timeline } from "../report/timeline.js";
import { RunEvents } from "../run/events.js";
import { observe } from "../run/observe.js";
import { apply } from "../run/upgrade.js";
import { openStateStore } from "../store/open-store.js";
import { dropSchema, FIRST, writeSampleCluster } from "./sample-cluster.js";
import { runOnEveryMember, startGateway, waitUntilUp } from "./sample-processes.js";

export interface DemoReport {
  readonly path: readonly string[];
  /** The requests sent during the upgrade: from its first step's start to its last step's end. */
  readonly requests: { readonly sent: number; readonly failed: number };
  /** Of those requests. */
  readonly latencyMs: { readonly p50: number; readonly p99: number; readonly max: number };
  /** p99 of the same load before the upgrade began, to compare with. */
  readonly latencyBeforeMs: { readonly p50: number; readonly p99: number; readonly max: number };
  readonly writes: { readonly acknowledged: number; readonly lost: number };
  readonly jobs: { readonly enqueued: number; readonly completed: number; readonly lost: number };
  /** The upgrade's own duration: its first step's start to its last step's end. */
  readonly durationS: number;
  readonly finalVersion: string | null;
  readonly outcome: string;
  /** Every failed request (also outside the upgrade) and every lost write or job, in words. */
  readonly problems: readonly string[];
  /**
   * What the upgrade did and the load it bore, read from the journal and the load's own records
   * before the demo removes them: what `ferry demo --report` draws. Null when no run was made.
   */
  readonly recorded: { readonly timeline: Timeline; readonly load: LoadSeries } | null;
}

export interface DemoOptions {
  readonly events?: RunEvents;
  readonly interrupt?: AbortSignal;
  /** Progress for a person, one line at a time. */
  readonly say?: (line: string) => void;
  /** Requests a second through the gateway. */
  readonly rate?: number;
  /** An empty PostgreSQL database (postgres://…) for the product, instead of a SQLite file. */
  readonly database?: string;
  /** Given, once the upgrade's load starts, a way to read its figures as it goes (the live tree shows them). */
  readonly onLoad?: (live: () => LiveLoad) => void;
}

/** The load as it goes: answers a second and p99 over the last seconds, failed requests so far. */
export interface LiveLoad {
  readonly perS: number;
  readonly failed: number;
  readonly p99Ms: number;
}

/** The notes load generator and verifier (examples/notes/load.mjs), loaded when the demo runs. */
type Load = typeof import("../../examples/notes/load.mjs");

/**
 * Requests a second, and at most this many at once: a few thousand fall inside the upgrade (3,654
 * to 4,341 in upgrades of 16.5 to 27 s on two busy shared cores). A busier machine answers fewer a
 * second but takes longer to upgrade, so the count moves less than either.
 */
const RATE = 300;
const CONCURRENCY = 16;

export async function runDemo(options: DemoOptions = {}): Promise<DemoReport> {
  const say = options.say ?? (() => {});
  const rate = options.rate ?? RATE;
  const events = options.events ?? new RunEvents();
  const root = mkdtempSync(join(tmpdir(), "ferry-demo-"));
  const load = (await import(new URL("../../examples/notes/load.mjs", import.meta.url).href)) as Load;
  const sample = await writeSampleCluster(root, options.database).catch((err: unknown) => {
    rmSync(root, { recursive: true, force: true });
    throw err;
  });
  const cluster = loadCluster(sample.clusterFile);
  const catalog = loadCatalog(cluster.catalog);
  const last = catalog.releases.at(-1)?.version as string;
  const pool = new DriverPool(cluster.hosts);
  let gateway: ChildProcess | undefined;
  const store = await openStateStore(cluster.state, cluster.dir);
  try {
    say(
      `the sample cluster in ${root}: a gateway, 3 API servers and 2 workers of notes ${FIRST}, over ${options.database ? "PostgreSQL" : "SQLite"}`,
    );
    gateway = startGateway(root, sample);
    await runOnEveryMember(cluster, pool, ["install", "activate", "start"], FIRST);
    await waitUntilUp(cluster, pool, `http://127.0.0.1:${sample.gateway.port}`);

    const url = `http://127.0.0.1:${sample.gateway.port}`;
    say(`load before the upgrade: ${rate} requests a second for 3 s`);
    const before = await load.verify(
      await load.startLoad({ url, rate, concurrency: CONCURRENCY, durationMs: 3000 }).done,
    );

    say(`upgrading ${FIRST} → ${last} under load`);
    const span = upgradeSpan(events);
    const traffic = load.startLoad({
      url,
      rate,
      concurrency: CONCURRENCY,
      durationMs: 10 * 60_000,
      maxRequests: 200_000,
    });
    options.onLoad?.(() => traffic.live());
    let result: Awaited<ReturnType<typeof apply>>;
    try {
      result = await apply({
        cluster,
        catalog,
        store,
        to: last,
        events,
        ...(options.interrupt ? { interrupt: options.interrupt } : {}),
      });
    } finally {
      traffic.stop();
      span.off();
    }
    const window = span.window();
    const sent = await traffic.done;
    const during = await load.verify(sent, { window });
    const seen = await observe(clusterMembers(cluster), pool.driverFor, { health: false });
    const [run] = await store.listRuns(cluster.name);
    const timeline = run && (await runTimeline(cluster, store, run.id));
    return {
      path: run?.path ?? [],
      requests: during.requests,
      latencyMs: during.latencyMs,
      latencyBeforeMs: before.latencyMs,
      writes: during.writes,
      jobs: during.jobs,
      durationS: Math.round((window.to - window.from) / 100) / 10,
      finalVersion: seen.version,
      outcome: result.message,
      problems: during.problems,
      recorded: timeline
        ? { timeline, load: buildLoadSeries(sent.records, during.jobsDoneAt, window) }
        : null,
    };
  } finally {
    say("stopping the sample cluster");
    await runOnEveryMember(cluster, pool, ["stop"], FIRST).catch(() => {});
    gateway?.kill("SIGTERM");
    await pool.close();
    await store.close();
    await dropSchema(sample.db);
    rmSync(root, { recursive: true, force: true });
  }
}

/**
 * The upgrade's own span, in wall-clock time (the load's records are stamped so): from its first
 * step's start to its last step's end, read from the run's events. Empty when no step ran.
 */
function upgradeSpan(events: RunEvents): { window(): { from: number; to: number }; off(): void } {
  let from: number | undefined;
  let to: number | undefined;
  const off = events.on((e) => {
    if (e.type !== "step") return;
    if (e.state === "running" || e.state === "undoing") from ??= Date.now();
    else if (e.state !== "pending") to = Date.now();
  });
  return {
    window: () => (from === undefined || to === undefined ? { from: 0, to: 0 } : { from, to }),
    off,
  };
}
