/**
 * A rolling hop that fails after its expand migrations, on PostgreSQL and MariaDB, through
 * bin/ferry: the rollback leaves the additive schema in place (the live service has written since,
 * so no backup is restored), puts every member back on the old release and healthy, and keeps the
 * new release's back-fill from running under the old one; once the cause is fixed, applying again
 * succeeds without running the expand file a second time.
 */
import assert from "node:assert/strict";
import { cpSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { forEachDialect, makeDatabase } from "./support/databases.js";
import { allAt, makeFakeProduct } from "./support/fake-product.js";
import { ferryAsync } from "./support/run-ferry-async.js";

const FIXTURES = new URL("./fixtures/migrations/", import.meta.url).pathname;
const CATALOG = `product: notes
scheme: semver
policy: { rolling: always }
releases:
  - "1.0.1"
  - { version: "1.1.0", migrations: m/1.1.0 }
`;
const ROWS = 20;
const home = "{{vars.root}}/{{host}}/{{component}}";

await forEachDialect(["postgres", "mysql"], (dialect) => {
  describe(`a rolling hop that fails after its expand migrations, on ${dialect}`, () => {
    const cleanups: (() => Promise<void> | void)[] = [];
    after(async () => {
      for (const c of cleanups) await c();
    });

    it("rolls back to the old release, healthy, with the expand schema kept; applied again, the expand file does not run twice", async () => {
      const db = await makeDatabase(dialect);
      cleanups.push(() => db.drop());
      const p = makeFakeProduct({
        hosts: 3,
        releases: ["1.0.1", "1.1.0"],
        start: "1.0.1",
        catalog: { text: CATALOG },
        extra: `database: "${db.url}"\nmigrations: { batch: 7 }`,
        // 1.1.0 does not start until the operator has fixed it (the file `fixed`).
        commands: {
          start: `v=$(cat ${home}/current/VERSION); if [ "$v" = 1.1.0 ] && [ ! -f {{vars.root}}/fixed ]; then echo "1.1.0 cannot start" >&2; exit 1; fi; echo $v > ${home}/running`,
        },
      });
      cleanups.push(() => p.cleanup());
      const c = ["-c", p.clusterFile];
      // 1.1.0 adds notes.title and a tags table (expand) and back-fills title (data).
      mkdirSync(join(p.dir, "m"));
      cpSync(join(FIXTURES, "1.1.0"), join(p.dir, "m/1.1.0"), { recursive: true });
      // The database as 1.0.1 runs it: its notes, no ledger yet.
      await db.query(
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, body VARCHAR(200) NOT NULL, deleted_at TIMESTAMP NULL)",
      );
      for (let i = 1; i <= ROWS; i++)
        await db.query(`INSERT INTO notes (id, body) VALUES (${i}, 'note ${i}')`);

      const failed = await ferryAsync(["apply", ...c, "--to", "1.1.0", "--yes"]);
      assert.equal(failed.code, 1, failed.stdout + failed.stderr);
      assert.match(failed.stdout, /Rolled back/);
      assert.deepEqual(
        await db.columns("notes"),
        ["id", "body", "deleted_at", "title"],
        "the expand migration stays: the live service has written since",
      );
      assert.deepEqual(await db.columns("tags"), ["id", "name"]);
      assert.ok(allAt(p, "1.0.1"), JSON.stringify(p.state()));
      const status = await ferryAsync(["status", ...c, "--json"]);
      assert.equal(status.code, 0, status.stderr);
      const s = JSON.parse(status.stdout);
      assert.equal(s.version, "1.0.1");
      assert.equal(s.run, null);
      assert.ok(
        s.members.every((m: { healthy: boolean }) => m.healthy),
        JSON.stringify(s.members),
      );
      const ledger = async () =>
        db.query(
          "SELECT phase, file, applied_at, complete FROM ferry_migrations ORDER BY release_version, phase, file",
        );
      const expandRow = async () => (await ledger()).find((r) => r.file === "0001-add-title.sql")?.applied_at;
      const appliedAt = await expandRow();
      assert.ok(appliedAt !== undefined, "the ledger records the expand file");

      // 1.0.1 runs again, and writes notes without a title: 1.1.0's back-fill must wait for 1.1.0.
      const online = await ferryAsync(["db", "online-migrations", ...c]);
      assert.equal(online.code, 0, online.stdout + online.stderr);
      assert.match(online.stdout, /migrated 0 rows/);
      const titled = async () =>
        Number((await db.query("SELECT count(*) AS n FROM notes WHERE title IS NOT NULL"))[0]?.n);
      assert.equal(await titled(), 0, "no back-fill while 1.0.1 runs");
      await db.query(
        `INSERT INTO notes (id, body) VALUES (${ROWS + 1}, 'written by 1.0.1 after the rollback')`,
      );

      writeFileSync(join(p.dir, "hosts", "fixed"), "");
      const again = await ferryAsync(["apply", ...c, "--to", "1.1.0", "--yes"]);
      assert.equal(again.code, 0, again.stdout + again.stderr);
      assert.ok(allAt(p, "1.1.0"), JSON.stringify(p.state()));
      assert.equal(await expandRow(), appliedAt, "the expand file did not run again");
      assert.deepEqual(
        (await ledger()).map((r) => [r.phase, r.file, Boolean(Number(r.complete))]),
        [
          ["data", dialect === "mysql" ? "0001-backfill-title.mysql.sql" : "0001-backfill-title.sql", true],
          ["expand", "0001-add-title.sql", true],
          ["expand", "0002-tags.sql", true],
        ],
      );
      assert.equal(
        await titled(),
        ROWS + 1,
        "every note back-filled, the one written after the rollback too",
      );
    });
  });
});
