/**
 * `ferry fleet apply` and `ferry worker` through the real executable over the real PostgreSQL: a
 * fleet of local clusters (fleet-fixture.ts), several worker processes, the strategy's rules read
 * back from the clusters' own journals.
 */
import assert from "node:assert/strict";
import { existsSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { allAt } from "./support/fake-product.js";
import { type FleetFixture, makeFleet, maxOverlap } from "./support/fleet-fixture.js";
import { ferryAsync, type StartedFerry, startFerry } from "./support/run-ferry-async.js";

/** Every process a test started, killed if it is still there when the test ends. */
const started: StartedFerry[] = [];

async function withFleet(options: Parameters<typeof makeFleet>[0], body: (f: FleetFixture) => Promise<void>) {
  const f = await makeFleet(options);
  try {
    await body(f);
  } finally {
    for (const s of started.splice(0)) {
      try {
        process.kill(s.pid, "SIGKILL");
      } catch {}
    }
    await f.cleanup();
  }
}

function ferry(args: readonly string[], env: Record<string, string> = {}): StartedFerry {
  const s = startFerry(args, env);
  started.push(s);
  return s;
}

/** `n` worker processes on the fleet's store. */
function workers(
  f: FleetFixture,
  n: number,
  concurrency: number,
  env: Record<string, string> = {},
): StartedFerry[] {
  return Array.from({ length: n }, () =>
    ferry(["worker", "--state", f.state, "--concurrency", String(concurrency)], env),
  );
}

const HOME = "{{vars.root}}/{{host}}/{{component}}";
const INSTALL = `mkdir -p ${HOME}/versions/{{version}} && echo {{version}} > ${HOME}/versions/{{version}}/VERSION`;

/**
 * An install that, while `hold` exists (and, with `onlyEnv`, only in a ferry given that variable),
 * marks its arrival (`{{vars.root}}/at-install`) and waits, 30 s at most: the point where a test
 * acts on a run in flight.
 */
function heldInstall(hold: string, onlyEnv?: string): string {
  const when = onlyEnv ? `[ -n "$${onlyEnv}" ] && [ -f ${hold} ]` : `[ -f ${hold} ]`;
  return `if ${when}; then touch {{vars.root}}/at-install; i=0; while [ -f ${hold} ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done; fi; ${INSTALL}`;
}

const atInstall = (f: FleetFixture) =>
  f.clusters.filter((c) => existsSync(join(c.product.dir, "hosts", "at-install")));

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  for (const t0 = Date.now(); !(await ok()); await sleep(50)) {
    if (Date.now() - t0 > ms) assert.fail(`waited ${ms} ms for ${what}`);
  }
}

async function fleetStatus(f: FleetFixture) {
  const r = await ferryAsync(["fleet", "status", "-f", f.fleetFile, "--json"]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

async function stopWorkers(ws: readonly StartedFerry[]): Promise<void> {
  for (const w of ws) process.kill(w.pid, "SIGTERM");
  for (const w of ws) {
    const r = await w.done;
    assert.equal(r.code, 130, r.stdout + r.stderr);
  }
}

/** Each cluster's journal run (the newest), as an interval, with its group. */
async function journalRuns(f: FleetFixture) {
  return Promise.all(
    f.clusters.map(async (c) => {
      const [run] = await f.runsOf(c.name);
      assert.ok(run, `${c.name} has no run`);
      assert.ok(run.endedAt !== null, `${c.name}'s run has not ended`);
      return { name: c.name, group: c.group, start: run.startedAt, end: run.endedAt, run };
    }),
  );
}

describe("ferry fleet apply with ferry workers", () => {
  it("42 clusters, 3 workers: all reach the target, never more than maxParallel at once, groups in order", async () => {
    await withFleet(
      {
        groups: [
          { name: "canary", clusters: 2 },
          { name: "rest", clusters: 40 },
        ],
        strategy: "{ groups: [canary, rest], maxParallel: 8, maxFailures: 1 }",
        product: () => ({ hosts: 1 }),
      },
      async (f) => {
        const ws = workers(f, 3, 4);
        const r = await ferryAsync([
          "fleet",
          "apply",
          "-f",
          f.fleetFile,
          "--to",
          "1.0.1",
          "--yes",
          "--no-work",
          "--json",
        ]);
        await stopWorkers(ws);
        assert.equal(r.code, 0, r.stdout + r.stderr);
        const view = JSON.parse(r.stdout);
        assert.equal(view.status, "done");
        assert.deepEqual(statesOf(view.counts), { done: 42 });
        for (const c of f.clusters) assert.ok(allAt(c.product, "1.0.1"), `${c.name} is not at 1.0.1`);

        const runs = await journalRuns(f);
        // Each run's log where `ferry apply` would have written it: the cluster's state folder.
        for (const x of runs) {
          const file = f.clusters.find((c) => c.name === x.name)?.file ?? "";
          const log = join(dirname(file), ".ferry", "logs", `${x.run.id}.jsonl`);
          assert.ok(existsSync(log), `${x.name}: no run log at ${log}`);
        }
        const most = maxOverlap(runs.map((x) => ({ start: x.start, end: x.end ?? x.start })));
        assert.ok(most <= 8, `${most} cluster runs ran at once, maxParallel is 8`);
        assert.ok(most >= 2, `the workers never ran clusters side by side (${most})`);
        const canaryEnd = Math.max(...runs.filter((x) => x.group === "canary").map((x) => x.end ?? 0));
        const restStart = Math.min(...runs.filter((x) => x.group === "rest").map((x) => x.start));
        assert.ok(canaryEnd <= restStart, "a cluster of group rest started before canary had finished");
        // Every worker took a share: the work really was spread.
        const by = new Set(
          view.groups.flatMap((g: { clusters: { worker: string }[] }) => g.clusters.map((c) => c.worker)),
        );
        assert.ok(by.size >= 2, `only ${[...by].join(", ")} worked`);
      },
    );
  });

  it("kill -9 of a worker holding claims: the others resume its clusters from their journals", async () => {
    await withFleet(
      {
        groups: [{ name: "all", clusters: 10 }],
        strategy: "{ groups: [all], maxParallel: 4, maxFailures: 1 }",
        // Only the doomed worker's commands wait at install: it dies with its runs in flight.
        product: (_i, dir) => ({
          hosts: 1,
          commands: { install: heldInstall(join(dir, "hold"), "FLEET_TEST_DOOMED") },
        }),
      },
      async (f) => {
        const hold = join(f.dir, "hold");
        writeFileSync(hold, "");
        const apply = ferry([
          "fleet",
          "apply",
          "-f",
          f.fleetFile,
          "--to",
          "1.0.1",
          "--yes",
          "--no-work",
          "--json",
        ]);
        const [doomed] = workers(f, 1, 2, { FLEET_TEST_DOOMED: "1" });
        await until("the doomed worker's runs to reach install", () => atInstall(f).length >= 2);
        const held = atInstall(f).map((c) => c.name);
        process.kill(doomed?.pid ?? 0, "SIGKILL");
        const killedAt = Date.now();
        await doomed?.done;
        rmSync(hold); // what the dead worker had in flight ends before anyone resumes it
        const others = workers(f, 2, 2);
        const r = await apply.done;
        await stopWorkers(others);
        assert.equal(r.code, 0, r.stdout + r.stderr);
        assert.equal(JSON.parse(r.stdout).status, "done");
        for (const c of f.clusters) assert.ok(allAt(c.product, "1.0.1"), `${c.name} is not at 1.0.1`);
        for (const name of held) {
          const c = f.clusters.find((x) => x.name === name);
          assert.ok(c);
          const history = await ferryAsync(["history", "-c", c.file, "--json"]);
          assert.equal(history.code, 0, history.stderr);
          const [run, ...older] = JSON.parse(history.stdout);
          assert.equal(older.length, 0, `${name}: one run, resumed, not a second one`);
          assert.equal(run.status, "done");
          assert.match(history.stdout, /resumes this run, taken over from worker [^ ]+, whose claim lapsed/);
          // No step of it ran twice at once: the resumer took it up only after the worker that ran
          // it first had died (and its held command had been let go), behind the lapsed claim and
          // the cluster's lock lease.
          const store = await f.storeOf(name);
          try {
            const steps = await store.steps(run.id);
            const install = steps.find((s) => s.id.endsWith("/install"));
            assert.equal(install?.state, "done");
            assert.equal(install?.attempts, 2, `${name}: the install found running was run again`);
            // Found running, it was checked (and re-run or skipped) by the new worker alone.
            assert.ok(
              (install?.endedAt ?? 0) > killedAt,
              `${name}: install ended before its first worker died`,
            );
          } finally {
            await store.close();
          }
        }
        const view = await fleetStatus(f);
        const takeovers = view.groups[0].clusters.filter((c: { takeovers: number }) => c.takeovers > 0);
        assert.deepEqual(takeovers.map((c: { cluster: string }) => c.cluster).sort(), [...held].sort());
      },
    );
  });

  it("maxFailures reached: no cluster starts after that, the failed are rolled back and named, exit 1", async () => {
    await withFleet(
      {
        groups: [{ name: "all", clusters: 8 }],
        strategy: "{ groups: [all], maxParallel: 2, maxFailures: 2 }",
        product: () => ({
          hosts: 1,
          commands: {
            install: `if [ -f {{vars.root}}/broken ]; then echo broken release >&2; exit 7; fi; ${INSTALL}`,
          },
        }),
      },
      async (f) => {
        const failing = ["c01", "c02"];
        for (const c of f.clusters)
          if (failing.includes(c.name)) writeFileSync(join(c.product.dir, "hosts", "broken"), "");
        const r = await ferryAsync(["fleet", "apply", "-f", f.fleetFile, "--to", "1.0.1", "--yes", "--json"]);
        assert.equal(r.code, 1, r.stdout + r.stderr);
        const view = JSON.parse(r.stdout);
        assert.equal(view.status, "stopped-on-failures");
        assert.deepEqual(
          view.failures.map((x: { cluster: string }) => x.cluster),
          failing,
        );
        for (const x of view.failures) {
          assert.equal(x.state, "rolled-back");
          assert.match(x.error, /install failed.*exit 7/s);
        }
        assert.match(view.reason, /maxFailures 2 reached.*c01.*c02/s);
        for (const name of failing) {
          const c = f.clusters.find((x) => x.name === name);
          assert.ok(c && allAt(c.product, "1.0.0"), `${name} was not rolled back`);
        }
        const clusters = view.groups[0].clusters as {
          cluster: string;
          state: string;
          claimedAt: number | null;
          endedAt: number | null;
        }[];
        const stoppedAt = Math.max(
          ...clusters.filter((c) => failing.includes(c.cluster)).map((c) => c.endedAt ?? 0),
        );
        for (const c of clusters) {
          if (c.claimedAt !== null)
            assert.ok(c.claimedAt < stoppedAt, `${c.cluster} was claimed after the fleet stopped`);
        }
        const notStarted = clusters.filter((c) => c.state === "pending").map((c) => c.cluster);
        assert.ok(notStarted.length >= 3, `only ${notStarted.join(", ")} were left`);
        for (const name of notStarted)
          assert.deepEqual(await f.runsOf(name), [], `${name} has a journal run`);
        // fleet status says the same, from any process.
        const status = await fleetStatus(f);
        assert.deepEqual(status.failures, view.failures);
      },
    );
  });

  it("a fleet on SQLite: fleet apply works it; killed, `ferry worker` on the same file takes it over", async () => {
    await withFleet(
      {
        sqlite: true,
        groups: [{ name: "all", clusters: 6 }],
        strategy: "{ groups: [all], maxParallel: 2, maxFailures: 1 }",
        product: (_i, dir) => ({ hosts: 1, commands: { install: heldInstall(join(dir, "hold")) } }),
      },
      async (f) => {
        const hold = join(f.dir, "hold");
        writeFileSync(hold, "");
        const apply = ferry(["fleet", "apply", "-f", f.fleetFile, "--to", "1.0.1", "--yes"]);
        await until("two runs to reach install", () => atInstall(f).length === 2);
        const held = atInstall(f).map((c) => c.name);
        process.kill(apply.pid, "SIGKILL");
        await apply.done;
        rmSync(hold);
        const [worker] = workers(f, 1, 2);
        await until("the fleet run to end", async () => (await fleetStatus(f)).status !== "running", 60_000);
        await stopWorkers(worker ? [worker] : []);
        const view = await fleetStatus(f);
        assert.equal(view.status, "done", JSON.stringify(view));
        for (const c of f.clusters) assert.ok(allAt(c.product, "1.0.1"), `${c.name} is not at 1.0.1`);
        const runs = await journalRuns(f);
        assert.ok(maxOverlap(runs.map((x) => ({ start: x.start, end: x.end ?? x.start }))) <= 2);
        const takeovers = view.groups[0].clusters.filter((c: { takeovers: number }) => c.takeovers > 0);
        assert.deepEqual(takeovers.map((c: { cluster: string }) => c.cluster).sort(), [...held].sort());
        for (const name of held) {
          const [run, ...older] = await f.runsOf(name);
          assert.equal(older.length, 0, `${name}: one run, resumed, not a second one`);
          assert.equal(run?.status, "done");
        }
      },
    );
  });

  it("pause stops starting clusters, resume starts them again, abort rolls back the one in flight", async () => {
    await withFleet(
      {
        groups: [{ name: "all", clusters: 4 }],
        strategy: "{ groups: [all], maxParallel: 1, maxFailures: 1 }",
        product: (_i, dir) => ({ hosts: 1, commands: { install: heldInstall(join(dir, "hold")) } }),
      },
      async (f) => {
        const hold = join(f.dir, "hold");
        writeFileSync(hold, "");
        const apply = ferry(["fleet", "apply", "-f", f.fleetFile, "--to", "1.0.1", "--yes"]);
        await until("c00 to reach install", () => atInstall(f).length === 1);
        const paused = await ferryAsync(["fleet", "pause", "-f", f.fleetFile]);
        assert.equal(paused.code, 0, paused.stderr);
        assert.match(paused.stdout, /: paused \(paused by .+\)/);
        assert.equal((await ferryAsync(["fleet", "pause", "-f", f.fleetFile])).code, 3, "pausing twice");
        rmSync(hold);
        await until("c00 to be done", async () => (await fleetStatus(f)).counts.done === 1);
        await sleep(1_500); // a paused fleet starts nothing, however long it waits
        let view = await fleetStatus(f);
        assert.equal(view.status, "paused");
        assert.deepEqual(statesOf(view.counts), { done: 1, pending: 3 });

        writeFileSync(hold, "");
        assert.equal((await ferryAsync(["fleet", "resume", "-f", f.fleetFile])).code, 0);
        await until("c01 to reach install", () => atInstall(f).length === 2);
        const aborted = await ferryAsync(["fleet", "abort", "-f", f.fleetFile, "--json"]);
        assert.equal(aborted.code, 0, aborted.stderr);
        assert.equal(JSON.parse(aborted.stdout).status, "aborting");
        // The worker hears of it at its next renewal, then lets the held install finish and rolls back.
        await apply.waitFor(/c01: the fleet run is aborted/, 10_000);
        rmSync(hold);
        const r = await apply.done;
        assert.equal(r.code, 1, r.stdout + r.stderr);
        view = await fleetStatus(f);
        assert.equal(view.status, "aborted");
        const states = Object.fromEntries(
          view.groups[0].clusters.map((c: { cluster: string; state: string }) => [c.cluster, c.state]),
        );
        assert.deepEqual(states, { c00: "done", c01: "aborted", c02: "aborted", c03: "aborted" });
        assert.ok(allAt(f.clusters[0]?.product as never, "1.0.1"));
        assert.ok(allAt(f.clusters[1]?.product as never, "1.0.0"), "c01 was not rolled back");
        const [c01run] = await f.runsOf("c01");
        assert.equal(c01run?.status, "rolled-back");
        assert.deepEqual(await f.runsOf("c02"), []);
      },
    );
  });
});

/** The states some cluster is in, with their counts (the view counts every state, zeros too). */
function statesOf(counts: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).filter(([, n]) => n > 0));
}
