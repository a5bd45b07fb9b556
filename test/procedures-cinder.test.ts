/**
 * Cinder's minimal-downtime upgrade (shared/seeds/002) end to end, as examples/procedures/cinder
 * writes it down: eight real service processes on four local hosts over a fresh PostgreSQL
 * database, run through bin/ferry. What happened is read from the hosts' own records
 * (hosts/<host>/events.log), ferry's migration ledger and the rows themselves.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import {
  all,
  at,
  type Example,
  type HostEvent,
  inOrder,
  lastAt,
  memberStates,
  procedureUnavailable,
  withExample,
} from "./support/procedure-example.js";

const why = await procedureUnavailable({ alembic: false });

const cinder = (body: (ex: Example) => Promise<void>) =>
  withExample(
    "cinder",
    {
      database: { name: "cinder", files: ["etc/cinder.conf", "cluster.yaml"] },
      teardown: "bin/cinder teardown",
    },
    body,
  );

const SERVICES = [
  ["h1", "scheduler"],
  ["h2", "scheduler"],
  ["h3", "volume"],
  ["h4", "volume"],
  ["h1", "backup"],
  ["h2", "backup"],
  ["h1", "api"],
  ["h2", "api"],
] as const;

/** The schema of a new 18.0.0 installation, then every service started on 18.0.0. */
async function setUp(ex: Example, beforeStart?: () => Promise<void>): Promise<void> {
  const m = await ex.ferry(["db", "migrate", "--to", "18.0.0"]);
  assert.equal(m.code, 0, m.stderr);
  await beforeStart?.();
  const r = await ex.sh("bin/cinder setup 18.0.0");
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
}

/** Waits until the 18.0.0 apis have taken `n` volume requests: volumes without use_quota to migrate. */
async function volumesWritten(ex: Example, n: number): Promise<void> {
  for (const start = Date.now(); ; await sleep(100)) {
    const [row] = await ex.db.query("SELECT count(*)::int AS n FROM volumes WHERE NOT deleted");
    if (Number(row?.n) >= n) return;
    assert.ok(Date.now() - start < 20_000, `the apis took fewer than ${n} requests in 20 s`);
  }
}

/** The time (ISO, like the hosts' records) ferry's ledger says a migration file of 19.0.0 ran or completed. */
async function ledgerTime(ex: Example, phase: string, file: string): Promise<string> {
  const [row] = await ex.db.query(
    `SELECT applied_at, complete FROM ferry_migrations WHERE release_version = '19.0.0' AND phase = '${phase}' AND file = '${file}'`,
  );
  assert.equal(row?.complete, true, `${phase}/${file} is not complete`);
  return new Date(Number(row?.applied_at)).toISOString().replace("Z", "000Z");
}

/** Every volume's id, name and use_quota (its status moves on: the services keep working). */
const volumes = (ex: Example) => ex.db.query("SELECT id, display_name, use_quota FROM volumes ORDER BY id");

describe("Cinder's procedure (examples/procedures/cinder)", () => {
  if (why && process.env.CI !== "true") {
    it.skip(`skipped: ${why}`);
    return;
  }
  if (why) {
    it("runs under CI", () => {
      throw new Error(`${why}; CI must install it (.ci/run does)`);
    });
    return;
  }

  it("18.0.0 → 19.0.0: expand, then the services in order behind the pin (volume standby first, api drained), unpin, SIGHUP to each (api restarted last), data migrations, contract; purge", async () => {
    await cinder(async (ex) => {
      await setUp(ex, async () => {
        // Soft-deleted volumes, for purge: three deleted 40 days ago, two 5 days ago.
        await ex.db.query(
          "INSERT INTO volumes (display_name, size, status, deleted, deleted_at) SELECT 'old-' || i, 1, 'deleted', true, now() - interval '40 days' FROM generate_series(1, 3) i",
        );
        await ex.db.query(
          "INSERT INTO volumes (display_name, size, status, deleted, deleted_at) SELECT 'recent-' || i, 1, 'deleted', true, now() - interval '5 days' FROM generate_series(1, 2) i",
        );
      });
      await volumesWritten(ex, 12);

      // An orphaned record in services (a host long gone) blocks the upgrade until it is removed.
      await ex.db.query(
        `INSERT INTO services ("binary", host, version, rpc_current_version, updated_at) VALUES ('cinder-volume', 'old-node', '17.0.0', '17.0', now() - interval '1 day')`,
      );
      const refused = await ex.ferry(["check", "--to", "19.0.0"]);
      assert.equal(refused.code, 3, `${refused.stdout}\n${refused.stderr}`);
      assert.match(refused.stdout + refused.stderr, /no-orphaned-services/);
      const removed = await ex.sh("bin/cinder manage remove cinder-volume old-node");
      assert.equal(removed.code, 0, removed.stderr);

      // The plan says it too: the standby volume host first, the switch, then the active one.
      const plan = await ex.ferry(["plan", "--to", "19.0.0"]);
      assert.equal(plan.code, 0, plan.stderr);
      assert.match(
        plan.stdout,
        /^ {4}volume: 2 hosts, at most 1 at once\n {6}h4: stop → install → activate → start → health\n {6}h4: switchover\n {6}h3: stop → install → activate → start → health$/m,
      );

      const before = ex.mark();
      const r = await ex.ferry(["apply", "--to", "19.0.0", "--yes"]);
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
      const events = ex.events(before);
      assert.deepEqual(
        all(events, { event: "error" }).concat(all(events, { event: "start-refused" })),
        [],
        "no service met a database error or a schema it lacks",
      );

      // Expand before code: the schema migration ran before any service started on 19.0.0.
      const expanded = await ledgerTime(ex, "expand", "0001-volumes-use-quota.sql");
      const first19 = events[at(events, { version: "19.0.0", event: "started" })] as HostEvent;
      assert.ok(
        expanded < first19.time,
        `expand at ${expanded}, a 19.0.0 service started at ${first19.time}`,
      );

      // The roll, in the seed's service order, each started on 19.0.0 pinned to 18.0.0's RPC.
      // The roll ends where the first service gets its SIGHUP (after the unpin).
      const roll = events.slice(0, at(events, { event: "sighup" }));
      const starts = all(roll, { version: "19.0.0", event: "started" });
      assert.deepEqual(
        starts.map((e) => `${e.component}@${e.host} ${e.detail.replace(/pid=\d+ /, "")}`),
        [
          "scheduler@h1 rpc=18.0 (pinned to 18.0.0)",
          "scheduler@h2 rpc=18.0 (pinned to 18.0.0)",
          // Active/passive: the standby first, then the switch, then the former active one.
          "volume@h4 rpc=18.0 (pinned to 18.0.0)",
          "volume@h3 rpc=18.0 (pinned to 18.0.0)",
          "backup@h1 rpc=18.0 (pinned to 18.0.0)",
          "backup@h2 rpc=18.0 (pinned to 18.0.0)",
          "api@h1 rpc=18.0 (pinned to 18.0.0)",
          "api@h2 rpc=18.0 (pinned to 18.0.0)",
        ],
      );
      for (const [host, service] of SERVICES)
        inOrder(
          roll,
          { host, component: service, version: "18.0.0", event: "stopped" },
          { host, component: service, version: "19.0.0", event: "started" },
        );
      for (const [earlier, later] of [
        ["scheduler", "volume"],
        ["volume", "backup"],
        ["backup", "api"],
      ])
        assert.ok(
          lastAt(roll, { component: earlier, version: "19.0.0", event: "started" }) <
            at(roll, { component: later, version: "18.0.0", event: "stopping" }),
          `every ${earlier} runs 19.0.0 before a ${later} stops`,
        );
      inOrder(
        roll,
        { host: "h4", component: "volume", version: "19.0.0", event: "started" },
        { host: "h4", component: "volume", event: "switchover", detail: "active for backend lvm (was h3)" },
        { host: "h3", component: "volume", version: "18.0.0", event: "stopping" },
      );
      for (const host of ["h1", "h2"]) {
        inOrder(
          roll,
          { host, component: "backup", event: "service-disabled" },
          { host, component: "backup", version: "18.0.0", event: "stopping" },
          { host, component: "backup", version: "19.0.0", event: "started" },
          { host, component: "backup", event: "service-enabled" },
        );
        // (An api notices at its next tick that it is back in the balancer: that may be after the roll.)
        inOrder(
          events,
          { host, component: "api", version: "18.0.0", event: "balancer", detail: "out: taking none" },
          { host, component: "api", version: "18.0.0", event: "stopping" },
          { host, component: "api", version: "19.0.0", event: "started" },
          { host, component: "api", version: "19.0.0", event: "balancer", detail: "in: taking requests" },
        );
      }
      // Never both apis out at once: h1 is back in the balancer before h2 is taken out. (The
      // balancer's own record, not the apis' noticing, which each does at its own next tick.)
      inOrder(
        events,
        { host: "h1", component: "api", event: "lb", detail: "out of the balancer" },
        { host: "h1", component: "api", version: "19.0.0", event: "lb", detail: "back in the balancer" },
        { host: "h2", component: "api", version: "18.0.0", event: "lb", detail: "out of the balancer" },
        { host: "h2", component: "api", version: "19.0.0", event: "lb", detail: "back in the balancer" },
      );

      // Once unpinned, SIGHUP to every service but the api, which is restarted instead, last.
      const after = events.slice(roll.length);
      const sighups = all(after, { event: "sighup" });
      assert.deepEqual(
        sighups.map((e) => `${e.component}@${e.host} ${e.detail}`),
        [
          "scheduler@h1 service version cache cleared: rpc=19.0",
          "scheduler@h2 service version cache cleared: rpc=19.0",
          "volume@h3 service version cache cleared: rpc=19.0",
          "volume@h4 service version cache cleared: rpc=19.0",
          "backup@h1 service version cache cleared: rpc=19.0",
          "backup@h2 service version cache cleared: rpc=19.0",
        ],
      );
      const restarts = all(after, { component: "api", event: "started" });
      assert.deepEqual(
        restarts.map((e) => `${e.host} ${e.detail.replace(/pid=\d+ /, "")}`),
        ["h1 rpc=19.0", "h2 rpc=19.0"],
      );
      assert.ok(after.indexOf(sighups[5] as HostEvent) < after.indexOf(restarts[0] as HostEvent), "api last");

      // Then the online data migration, then the contract.
      const lastRestart = after[lastAt(after, { component: "api", event: "started" })] as HostEvent;
      const migrated = await ledgerTime(ex, "data", "0001-volumes-use-quota.sql");
      const contracted = await ledgerTime(ex, "contract", "0001-volumes-use-quota-not-null.sql");
      assert.ok(
        lastRestart.time < migrated,
        `the data migration (${migrated}) after the last restart (${lastRestart.time})`,
      );
      assert.ok(
        migrated <= contracted,
        `the contract (${contracted}) after the data migration (${migrated})`,
      );

      // Every volume is there, served, and counts towards the quota unless it is temporary.
      const [v] = await ex.db.query(
        `SELECT count(*)::int AS n,
                count(*) FILTER (WHERE use_quota = EXISTS (SELECT 1 FROM volume_admin_metadata m WHERE m.volume_id = v.id AND m.key = 'temporary'))::int AS wrong
         FROM volumes v`,
      );
      assert.equal(v?.wrong, 0, "use_quota is NOT temporary for every volume");
      const [nullable] = await ex.db.query(
        "SELECT is_nullable FROM information_schema.columns WHERE table_name = 'volumes' AND column_name = 'use_quota'",
      );
      assert.equal(nullable?.is_nullable, "NO", "the contract ran");
      const services = await ex.db.query(
        `SELECT "binary" || '@' || host || ' ' || version || ' ' || rpc_current_version AS s FROM services ORDER BY 1`,
      );
      assert.deepEqual(
        services.map((s) => s.s),
        [
          "cinder-api@h1 19.0.0 19.0",
          "cinder-api@h2 19.0.0 19.0",
          "cinder-backup@h1 19.0.0 19.0",
          "cinder-backup@h2 19.0.0 19.0",
          "cinder-scheduler@h1 19.0.0 19.0",
          "cinder-scheduler@h2 19.0.0 19.0",
          "cinder-volume@cinder@lvm 19.0.0 19.0",
        ],
      );
      assert.deepEqual(
        await memberStates(ex),
        SERVICES.map(([h, s]) => `${s}@${h} 19.0.0 healthy`),
      );

      // Purge: the rows soft-deleted more than 30 days ago, and only those (the apis may still be
      // taking requests: live volumes only grow).
      const live = async () =>
        Number((await ex.db.query("SELECT count(*)::int AS n FROM volumes WHERE NOT deleted"))[0]?.n);
      const liveBefore = await live();
      const p = await ex.ferry([
        "db",
        "purge",
        "--older-than",
        "30",
        "--table",
        "volumes",
        "--column",
        "deleted_at",
      ]);
      assert.equal(p.code, 0, p.stderr);
      assert.match(p.stdout, /^purged 3 rows of volumes/m);
      const deleted = await ex.db.query("SELECT display_name FROM volumes WHERE deleted ORDER BY 1");
      assert.deepEqual(
        deleted.map((d) => d.display_name),
        ["recent-1", "recent-2"],
      );
      assert.ok((await live()) >= liveBefore, "no live volume purged");
    });
  });

  it("a data migration that errors: the run stops past its point of no return, `ferry db online-migrations` exits 2 and changes nothing; mended, it exits 0 and `ferry resume` contracts", async () => {
    await cinder(async (ex) => {
      await setUp(ex, async () => {
        // A volume an old tool marked temporary=banana: 19.0.0's migration cannot read it.
        await ex.db.query(
          "INSERT INTO volumes (display_name, size, status) VALUES ('legacy', 1, 'available')",
        );
        await ex.db.query(
          "INSERT INTO volume_admin_metadata (volume_id, key, value) SELECT id, 'temporary', 'banana' FROM volumes WHERE display_name = 'legacy'",
        );
      });
      await volumesWritten(ex, 12);

      const r = await ex.ferry(["apply", "--to", "19.0.0", "--yes"]);
      assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
      const out = r.stdout + r.stderr;
      assert.match(
        out,
        /19\.0\.0\/data\/19\.0\.0\/0001-volumes-use-quota\.sql failed: .*invalid input syntax for type boolean: "banana"/,
      );
      assert.match(out, /past its point of no return/);

      // Nothing lost: every volume there, the failed batches changed no row.
      const stopped = await volumes(ex);
      const [counts] = await ex.db.query(
        "SELECT count(*)::int AS n, count(*) FILTER (WHERE use_quota IS NULL)::int AS unmigrated FROM volumes",
      );
      assert.ok(Number(counts?.unmigrated) >= 12, JSON.stringify(counts));
      assert.ok(stopped.some((v) => v.display_name === "legacy" && v.use_quota === null));

      // Cinder's exit codes: 2, errors and no progress.
      const again = await ex.ferry(["db", "online-migrations"]);
      assert.equal(again.code, 2, `${again.stdout}\n${again.stderr}`);
      assert.match(again.stdout, /^migrated 0 rows/m);
      assert.match(again.stdout, /error: 19\.0\.0\/data\/0001-volumes-use-quota\.sql: .*"banana"/);
      // The services are all on 19.0.0 and write use_quota: no new row lacks it.
      const still = await volumes(ex);
      assert.deepEqual(
        still.slice(0, stopped.length),
        stopped,
        "the volumes and their use_quota as they were",
      );
      assert.deepEqual(
        still.filter((v) => v.use_quota === null).map((v) => v.id),
        stopped.filter((v) => v.use_quota === null).map((v) => v.id),
      );

      // The operator mends the row: the migration completes (exit 0), and resume finishes the hop.
      await ex.db.query("UPDATE volume_admin_metadata SET value = 'False' WHERE value = 'banana'");
      const mended = await ex.ferry(["db", "online-migrations"]);
      assert.equal(mended.code, 0, `${mended.stdout}\n${mended.stderr}`);
      assert.match(mended.stdout, new RegExp(`^migrated ${counts?.unmigrated} rows; none remain`, "m"));
      const resumed = await ex.ferry(["resume", "--yes"]);
      assert.equal(resumed.code, 0, `${resumed.stdout}\n${resumed.stderr}`);
      const [nullable] = await ex.db.query(
        "SELECT is_nullable FROM information_schema.columns WHERE table_name = 'volumes' AND column_name = 'use_quota'",
      );
      assert.equal(nullable?.is_nullable, "NO", "the contract ran");
      const final = await volumes(ex);
      assert.deepEqual(
        final.slice(0, stopped.length).map((v) => v.id),
        stopped.map((v) => v.id),
        "no volume lost",
      );
      assert.ok(final.find((v) => v.display_name === "legacy")?.use_quota === true);
      assert.deepEqual(
        await memberStates(ex),
        SERVICES.map(([h, s]) => `${s}@${h} 19.0.0 healthy`),
      );
    });
  });
});
