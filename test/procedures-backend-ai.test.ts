/**
 * Backend.AI's upgrade procedure (shared/seeds/000) end to end, as examples/procedures/backend-ai
 * writes it down: real processes on four local hosts, Debian's alembic against a fresh
 * PostgreSQL database, run through bin/ferry. What happened is read from the hosts' own records
 * (hosts/<host>/events.log), the database and `alembic current`.
 */
import assert from "node:assert/strict";
import { appendFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  all,
  at,
  type Example,
  type HostEvent,
  inOrder,
  memberStates,
  procedureUnavailable,
  show,
  withExample,
} from "./support/procedure-example.js";

const why = await procedureUnavailable({ alembic: true });

const backendAi = (body: (ex: Example) => Promise<void>) =>
  withExample(
    "backend-ai",
    { database: { name: "backend_ai", files: ["etc/alembic.ini"] }, teardown: "bin/bai teardown" },
    body,
  );

/** The members of the example's cluster: host and component. */
const MEMBERS = [
  ["h1", "manager"],
  ["h2", "manager"],
  ["h2", "storage-proxy"],
  ["h3", "agent"],
  ["h4", "agent"],
  ["h1", "webserver"],
] as const;

const tables = async (ex: Example) =>
  (
    await ex.db.query(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name",
    )
  ).map((r) => String(r.table_name));

/** `alembic current` with Debian's alembic, in the manager release `version` installed on h1. */
async function alembicCurrent(ex: Example, version: string): Promise<string> {
  const r = await ex.sh(`bin/bai alembic h1 ${version} current`);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim();
}

async function setUp(ex: Example, version: string): Promise<void> {
  const r = await ex.sh(`bin/bai setup ${version}`);
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
}

describe("Backend.AI's procedure (examples/procedures/backend-ai)", () => {
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

  it("23.09.9 → 24.03.1: the minor hop rolls with alembic on one manager, the major hop stops everything, migrates once, fills in the missing revision, then starts", async () => {
    await backendAi(async (ex) => {
      await setUp(ex, "23.09.9");
      const before = ex.mark();

      const r = await ex.ferry(["apply", "--to", "24.03.1", "--yes"]);
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
      // The calver policy: 23.09.9 may not leave its series; 23.09.10, its latest, may go to 24.03.1.
      assert.match(r.stdout, /23\.09\.9 → 23\.09\.10 → 24\.03\.1: \d+ steps/);

      const events = ex.events(before);
      assert.deepEqual(all(events, { event: "start-refused" }), [], "no manager met a schema it lacks");

      // The minor hop, rolling: alembic once, on the first manager, with 23.09.10's revisions,
      // after 23.09.10 is installed there and before any manager runs it.
      const minor = (e: HostEvent) => e.version === "23.09.10" || e.version === "23.09.9";
      const hop1 = events.filter(minor);
      assert.deepEqual(
        all(hop1, { event: "alembic" }).map((e) => `${e.host} ${e.detail}`),
        ["h1 upgrade head"],
      );
      assert.deepEqual(
        all(hop1, { event: "revision" }).map((e) => e.detail),
        ["running upgrade kernel_status_info -> error_logs"],
        "23.09.10's own revision",
      );
      inOrder(
        hop1,
        { host: "h1", component: "manager", version: "23.09.10", event: "installed" },
        { host: "h1", component: "manager", version: "23.09.10", event: "alembic-done" },
        { host: "h1", component: "manager", version: "23.09.9", event: "stopped" },
        { host: "h1", component: "manager", version: "23.09.10", event: "activated" },
        { host: "h1", component: "manager", version: "23.09.10", event: "started" },
        // One manager at a time: h2 stops once h1 runs again.
        { host: "h2", component: "manager", version: "23.09.9", event: "stopping" },
        { host: "h2", component: "manager", version: "23.09.10", event: "started" },
        // The other components after the managers.
        { host: "h2", component: "storage-proxy", version: "23.09.9", event: "stopping" },
        { host: "h1", component: "webserver", version: "23.09.10", event: "started" },
      );
      for (const [host, component] of MEMBERS)
        inOrder(
          hop1,
          { host, component, version: "23.09.9", event: "stopped" },
          { host, component, version: "23.09.10", event: "started" },
        );
      const lastManager = Math.max(
        ...["h1", "h2"].map((h) =>
          at(hop1, { host: h, component: "manager", version: "23.09.10", event: "started" }),
        ),
      );
      const firstOther = hop1.findIndex((e) => e.component !== "manager" && e.event === "stopping");
      assert.ok(lastManager < firstOther, "every manager runs 23.09.10 before another component stops");

      // The major hop, offline: every member stopped before any starts; on the first manager
      // stop → install → alembic upgrade head → apply-missing-revisions → start.
      const hop2 = events.slice(
        at(events, { version: "23.09.10", event: "stopping", component: "webserver" }),
      );
      const stops = all(hop2, { version: "23.09.10", event: "stopped" });
      assert.equal(stops.length, MEMBERS.length, hop2.map(show).join("\n"));
      const lastStop = Math.max(...stops.map((s) => hop2.indexOf(s)));
      const firstStart = at(hop2, { version: "24.03.1", event: "started" });
      assert.ok(lastStop < firstStart, "everything stopped before anything starts");
      inOrder(
        hop2,
        { host: "h1", component: "manager", version: "23.09.10", event: "stopped" },
        { host: "h1", component: "manager", version: "24.03.1", event: "installed" },
        { host: "h1", component: "manager", version: "24.03.1", event: "activated" },
        { host: "h1", component: "manager", version: "24.03.1", event: "alembic" },
        { host: "h1", component: "manager", version: "24.03.1", event: "alembic-done" },
        { host: "h1", component: "manager", version: "24.03.1", event: "missing-revision" },
        { host: "h1", component: "manager", version: "24.03.1", event: "started" },
      );
      assert.deepEqual(
        all(hop2, { event: "alembic" }).map((e) => `${e.host} ${e.detail}`),
        ["h1 upgrade head"],
        "alembic upgrade head by exactly one manager",
      );
      assert.deepEqual(
        all(hop2, { event: "revision" }).map((e) => e.detail),
        [
          // 24.03.0's revision: the path skipped the release, not its revision.
          "running upgrade error_logs -> vfolder_quota",
          "running upgrade vfolder_quota -> vfolder_usage_mode",
        ],
      );
      // The 24.03 line has session_priority before error_logs, where a 23.09 database stands:
      // alembic takes it as done, apply-missing-revisions fills it in.
      assert.deepEqual(
        all(hop2, { event: "missing-revision" }).map((e) => `${e.host} ${e.detail}`),
        ["h1 applied session_priority"],
      );
      for (const [host, component] of MEMBERS)
        at(hop2, { host, component, version: "24.03.1", event: "started" });

      // The database, as alembic and PostgreSQL see it.
      assert.equal(await alembicCurrent(ex, "24.03.1"), "vfolder_usage_mode (head)");
      assert.deepEqual(await tables(ex), [
        "alembic_missing_revisions",
        "alembic_version",
        "error_logs",
        "kernels",
        "users",
        "vfolders",
      ]);
      assert.deepEqual(await ex.db.columns("kernels"), ["id", "status", "status_info", "priority"]);
      assert.deepEqual(await ex.db.columns("vfolders"), ["id", "name", "quota_bytes", "usage_mode"]);
      assert.deepEqual(
        await memberStates(ex),
        MEMBERS.map(([h, c]) => `${c}@${h} 24.03.1 healthy`),
      );
    });
  });

  it("a failing alembic revision in the major hop: rolled back, alembic back at 23.09.10's head, the tables as they were, every member on 23.09.10 again", async () => {
    await backendAi(async (ex) => {
      await setUp(ex, "23.09.10");
      // A revision that fails on this database (the column is there already), after 24.03.1's own.
      writeFileSync(
        join(ex.dir, "revisions", "24.03", "status_info_again.py"),
        [
          '"""status_info_again: adds a column that is already there"""',
          "import sqlalchemy as sa",
          "from alembic import op",
          'revision = "status_info_again"',
          'down_revision = "vfolder_usage_mode"',
          "branch_labels = None",
          "depends_on = None",
          "def upgrade():",
          '    op.add_column("kernels", sa.Column("status_info", sa.Text))',
          "def downgrade():",
          '    op.drop_column("kernels", "status_info")',
          "",
        ].join("\n"),
      );
      appendFileSync(join(ex.dir, "packages", "24.03.1"), "revision 24.03/status_info_again.py\n");
      const tablesBefore = await tables(ex);
      const kernelsBefore = await ex.db.columns("kernels");
      assert.equal(await alembicCurrent(ex, "23.09.10"), "error_logs (head)");
      const before = ex.mark();

      const r = await ex.ferry(["apply", "--to", "24.03.1", "--yes"]);
      assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
      assert.match(r.stdout + r.stderr, /24\.03\.1\/expand\/action\/alembic-upgrade failed/);
      assert.match(r.stdout + r.stderr, /Rolled back: backend-ai is back at 23\.09\.10/);

      const events = ex.events(before);
      // Each revision commits on its own (lib/env.py): two ran before the third failed, and the
      // undo took them back with alembic downgrade to 23.09.10's head, before any member restarted.
      assert.deepEqual(
        all(events, { event: "revision" }).map((e) => e.detail),
        [
          "running upgrade error_logs -> vfolder_quota",
          "running upgrade vfolder_quota -> vfolder_usage_mode",
          "running upgrade vfolder_usage_mode -> status_info_again",
          "running downgrade vfolder_usage_mode -> vfolder_quota",
          "running downgrade vfolder_quota -> error_logs",
        ],
      );
      inOrder(
        events,
        { host: "h1", event: "alembic-failed", detail: "upgrade head (exit 1)" },
        { host: "h1", event: "alembic", detail: "downgrade error_logs" },
        { host: "h1", event: "alembic-done", detail: "downgrade error_logs" },
        { host: "h1", component: "manager", version: "23.09.10", event: "started" },
      );
      assert.deepEqual(all(events, { event: "missing-revision" }), [], "step 4 never ran");
      assert.deepEqual(
        all(events, { version: "24.03.1", event: "started" }),
        [],
        "nothing started on 24.03.1",
      );
      for (const [host, component] of MEMBERS)
        inOrder(
          events,
          { host, component, version: "23.09.10", event: "stopped" },
          { host, component, version: "23.09.10", event: "started" },
        );

      assert.equal(await alembicCurrent(ex, "23.09.10"), "error_logs (head)");
      assert.deepEqual(await tables(ex), tablesBefore);
      assert.deepEqual(await ex.db.columns("kernels"), kernelsBefore);
      assert.deepEqual(
        await memberStates(ex),
        MEMBERS.map(([h, c]) => `${c}@${h} 23.09.10 healthy`),
      );
    });
  });
});
