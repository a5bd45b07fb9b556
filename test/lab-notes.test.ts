/**
 * DESIGN.md's test lab with the real sample product: notes (examples/notes) on lab hosts reached
 * over SSH — three API servers and two workers, each on a host of its own, over PostgreSQL on a
 * sixth — upgraded by bin/ferry from 1.0.0 to 1.2.0 through every hop, as `ferry demo` does
 * (1.0.0 → 1.0.1 → 1.1.1 → 1.2.0, each behind the pin; 1.1.1 brings 1.1.0's expand and back-fill,
 * 1.2.0 its contract), while the load generator sends writes, reads and jobs through the gateway.
 * Nothing may fail or be lost, and every member ends on 1.2.0: judged from the load's own records,
 * the hosts' processes and logs, and the database.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { after, describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { type LoadRun, startLoad, verify } from "../examples/notes/load.mjs";
import { type Lab, labSkip, makeLab } from "./lab/lab.js";
import { type LabPostgres, labPostgresUnavailable, startLabPostgres } from "./lab/lab-postgres.js";
import { makeLabNotes } from "./support/lab-notes.js";
import { ferryAsync } from "./support/run-ferry-async.js";

const LAST = "1.2.0";

/** The lab, PostgreSQL's server and OpenSSH's client (the `pin` command's); under CI all must be here. */
function skipUnlessReady(): { skip?: string } {
  const lab = labSkip();
  if (lab.skip) return lab;
  let why = labPostgresUnavailable();
  if (!why) {
    try {
      execFileSync("sh", ["-c", "command -v ssh"], { stdio: "ignore" });
    } catch {
      why = "the notes lab needs OpenSSH's client, ssh (apt-get install openssh-client)";
    }
  }
  if (!why) return {};
  if (process.env.CI === "true") throw new Error(`CI=true and ${why}`);
  process.stdout.write(`# skipping the notes lab test: ${why}\n`);
  return { skip: why };
}

// Every await before the first test is declared: node's runner starts once a file's top level ends.
const skip = skipUnlessReady();
const lab: Lab | undefined = skip.skip ? undefined : await makeLab({ hosts: 6 });
const postgres: LabPostgres | undefined = lab && (await startLabPostgres(lab, "h6"));
after(async () => {
  await postgres?.stop();
  lab?.close();
});

describe("the notes product on lab hosts over SSH", skip, () => {
  it(`ferry apply carries it 1.0.0 → ${LAST} through every hop under load: no failed request, no lost write or job, every member on ${LAST}`, {
    timeout: 300_000,
  }, async (t) => {
    const l = lab as Lab;
    const notes = await makeLabNotes(l, {
      api: ["h1", "h2", "h3"],
      workers: ["h4", "h5"],
      postgres: postgres as LabPostgres,
    });
    let load: LoadRun | undefined;
    try {
      const setUp = Date.now();
      await notes.bringUp();

      load = startLoad({
        url: notes.url,
        rate: 50,
        concurrency: 8,
        durationMs: 4 * 60_000,
        maxRequests: 12_000,
      });
      // The upgrade starts under load that is already flowing: a note and a job acknowledged.
      for (let i = 0; i < 200 && !(load.stats().notes > 0 && load.stats().jobs > 0); i++) await delay(50);
      assert.ok(
        load.stats().notes > 0 && load.stats().jobs > 0,
        "the load got nothing through before the upgrade",
      );

      const started = Date.now();
      const r = await ferryAsync(["apply", "-c", notes.clusterFile, "--to", LAST, "--yes"]);
      const upgradeS = (Date.now() - started) / 1000;
      // The load outlives the run by a few requests, so the last hop's end is under load too.
      const sentAtEnd = load.stats().sent;
      for (let i = 0; i < 200 && load.stats().sent < sentAtEnd + 20; i++) await delay(50);
      load.stop();
      assert.equal(r.code, 0, r.stdout.slice(-3000) + r.stderr.slice(-2000));

      const result = await load.done;
      const report = await verify(result, { jobsTimeoutMs: 60_000 });
      t.diagnostic(
        `upgrade ${upgradeS.toFixed(1)} s (test ${((Date.now() - setUp) / 1000).toFixed(1)} s): ` +
          `${report.requests.sent} requests, ${report.writes.acknowledged} writes, ${report.jobs.enqueued} jobs; ` +
          `p99 ${report.latencyMs.p99} ms, max ${report.latencyMs.max} ms`,
      );
      assert.deepEqual(report.problems, []);
      assert.equal(report.requests.failed, 0);
      assert.equal(report.writes.lost, 0);
      assert.equal(report.jobs.lost, 0);
      assert.equal(report.jobs.completed, report.jobs.enqueued);
      assert.ok(report.writes.acknowledged > 0 && report.jobs.enqueued > 0);
      assert.ok(
        result.records.some((x) => x.at < started) &&
          result.records.some((x) => x.end > started + upgradeS * 1000),
        "the load did not span the whole upgrade",
      );
      // Every API host served the load.
      assert.deepEqual(
        [...new Set(result.records.map((x) => x.backend))].sort(),
        notes.apiHosts.map((h) => `${h.address}:8080`),
      );

      // ferry's own account: the whole path, done, and every member on the target and healthy.
      const [run] = JSON.parse((await ferryAsync(["history", "-c", notes.clusterFile, "--json"])).stdout);
      assert.deepEqual([run.status, run.path], ["done", ["1.0.0", "1.0.1", "1.1.1", LAST]]);
      const status = JSON.parse((await ferryAsync(["status", "-c", notes.clusterFile, "--json"])).stdout);
      assert.equal(status.version, LAST);
      assert.equal(status.mixed, false);
      assert.deepEqual(
        status.members.map((m: { host: string; component: string; version: string; healthy: boolean }) => [
          m.host,
          m.component,
          m.version,
          m.healthy,
        ]),
        [
          ["h1", "api", LAST, true],
          ["h2", "api", LAST, true],
          ["h3", "api", LAST, true],
          ["h4", "worker", LAST, true],
          ["h5", "worker", LAST, true],
        ],
      );

      // The hosts' account: the processes running there are the new release's, unpinned.
      for (const h of notes.apiHosts) {
        assert.deepEqual(
          await notes.apiHealth(h),
          { status: "ok", version: LAST, jobFormat: 2, pin: null },
          h.name,
        );
        assert.equal(notes.pinned(h), false, `the pin file is still on ${h.name}`);
        const log = notes.log(h, "api");
        // 1.1.1 started pinned (beside 1.0.x workers it wrote 1.0's jobs), and switched once unpinned.
        assert.match(log, /api 1\.1\.1 pid \d+: listening on .* writing job format v1/, h.name);
        assert.match(log, /api 1\.1\.1 pid \d+: pin 1\.0\.1 -> \S+: writing job format v2/, h.name);
      }
      for (const h of notes.workerHosts) {
        const started = [...notes.log(h, "worker").matchAll(/worker (\S+) pid (\d+): started as/g)].at(-1);
        assert.deepEqual([started?.[1], Number(started?.[2])], [LAST, notes.pid(h, "worker")], h.name);
      }

      // The database's account: 1.1.0's expand and back-fill, then 1.2.0's contract (every note read
      // back above through 1.2.0, which reads title only, so the back-fill missed none); jobs of both
      // formats, all done.
      const columns = await notes.query<{ column_name: string }>(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'notes' ORDER BY column_name",
      );
      assert.ok(columns.some((c) => c.column_name === "title"));
      assert.ok(!columns.some((c) => c.column_name === "body"), "1.2.0's contract did not drop notes.body");
      const ledger = await notes.query<{ release_version: string; phase: string; complete: boolean }>(
        "SELECT release_version, phase, complete FROM ferry_migrations ORDER BY release_version, phase",
      );
      assert.deepEqual(
        ledger.map((x) => [x.release_version, x.phase, x.complete]),
        [
          ["1.1.0", "data", true],
          ["1.1.0", "expand", true],
          ["1.2.0", "contract", true],
        ],
      );
      const jobs = await notes.query<{ format: number; state: string; n: string }>(
        "SELECT format, state, count(*) AS n FROM jobs GROUP BY format, state ORDER BY format, state",
      );
      assert.deepEqual(
        jobs.map((j) => [Number(j.format), j.state]),
        [
          [1, "done"],
          [2, "done"],
        ],
      );
    } finally {
      load?.stop();
      await notes.cleanup();
    }
  });
});
