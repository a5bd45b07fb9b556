/**
 * `ferry db …` and the migrations of `ferry apply` as an operator meets them, through bin/ferry, on
 * every database ferry supports: an empty database starts from nothing and one that holds a schema
 * takes a baseline; a changed file is refused before anything runs and `db status` marks it; a
 * half-run MySQL file that was edited is refused, naming the statement; purge keeps every row newer
 * than its cutoff, over several batches, and refuses a table name that is not one with exit 2.
 */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, describe, it } from "node:test";
import { forEachDialect, makeDatabase, type TestDatabase } from "./support/databases.js";
import { allAt, type FakeProduct, makeFakeProduct } from "./support/fake-product.js";
import { ferryAsync } from "./support/run-ferry-async.js";

const CATALOG = `product: notes
scheme: semver
policy: { rolling: always }
releases:
  - { version: "1.0.0", migrations: m/1.0.0 }
  - { version: "1.1.0", migrations: m/1.1.0 }
`;

const CREATE_NOTES =
  "CREATE TABLE notes (id INTEGER PRIMARY KEY, body VARCHAR(200) NOT NULL, deleted_at TIMESTAMP NULL);\n";
const FILES = {
  "1.0.0/expand/0001-create-notes.sql": CREATE_NOTES,
  "1.1.0/expand/0001-add-title.sql": "ALTER TABLE notes ADD COLUMN title VARCHAR(200) NULL;\n",
};

interface DbCluster {
  readonly p: FakeProduct;
  readonly db: TestDatabase;
  /** `-c cluster.yaml` */
  readonly c: readonly string[];
  /** Writes a migration file (`1.1.0/expand/0002-tags.sql`), as the vendor would. */
  write(file: string, sql: string): void;
}

await forEachDialect(["postgres", "mysql", "sqlite"], (dialect) => {
  describe(`ferry db on ${dialect}`, () => {
    const cleanups: (() => Promise<void> | void)[] = [];
    after(async () => {
      for (const c of cleanups) await c();
    });

    /** A cluster of two hosts on 1.0.0 over a fresh, empty database of `dialect`, with FILES. */
    async function dbCluster(files: Record<string, string> = FILES): Promise<DbCluster> {
      const db = await makeDatabase(dialect);
      cleanups.push(() => db.drop());
      const p = makeFakeProduct({
        hosts: 2,
        releases: ["1.0.0", "1.1.0"],
        start: "1.0.0",
        catalog: { text: CATALOG },
        extra: `database: "${db.url}"\nmigrations: { batch: 3, lockTimeout: 200ms }`,
      });
      cleanups.push(() => p.cleanup());
      const write = (file: string, sql: string) => {
        const path = join(p.dir, "m", file);
        mkdirSync(dirname(path), { recursive: true });
        writeFileSync(path, sql);
      };
      for (const [file, sql] of Object.entries(files)) write(file, sql);
      mkdirSync(join(p.dir, "m/1.1.0"), { recursive: true });
      return { p, db, c: ["-c", p.clusterFile], write };
    }

    /** The first release's schema, laid down as an installer would, without ferry. */
    const holdsSchema = (db: TestDatabase) => db.query(CREATE_NOTES.replace(";", ""));

    const status = async (c: readonly string[]) => {
      const r = await ferryAsync(["db", "status", ...c, "--json"]);
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout);
    };

    it("an empty database starts from nothing: db migrate --to 1.0.0 creates the first release's schema", async () => {
      const { db, c } = await dbCluster();
      const before = await status(c);
      assert.equal(before.baseline, null, "db status recorded no baseline");
      assert.deepEqual(
        before.pending.map((f: { release: string; file: string }) => `${f.release}/${f.file}`),
        ["1.0.0/0001-create-notes.sql", "1.1.0/0001-add-title.sql"],
      );
      const r = await ferryAsync(["db", "migrate", ...c, "--to", "1.0.0"]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /empty database: every release's migrations run, from the first/);
      assert.match(r.stdout, /applied 1\.0\.0\/expand\/0001-create-notes\.sql/);
      assert.deepEqual(await db.columns("notes"), ["id", "body", "deleted_at"]);
      const after = await status(c);
      assert.equal(after.baseline, null);
      assert.deepEqual(
        after.pending.map((f: { release: string; file: string }) => `${f.release}/${f.file}`),
        ["1.1.0/0001-add-title.sql"],
      );
    });

    it("a database that holds a schema and no ledger takes the release the cluster runs as its baseline", async () => {
      const { db, c } = await dbCluster();
      await holdsSchema(db);
      const r = await ferryAsync(["db", "migrate", ...c, "--to", "1.1.0"]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.doesNotMatch(r.stdout, /1\.0\.0\/expand/, "1.0.0's schema is there already");
      assert.match(r.stdout, /applied 1\.1\.0\/expand\/0001-add-title\.sql/);
      assert.deepEqual(await db.columns("notes"), ["id", "body", "deleted_at", "title"]);
      assert.equal((await status(c)).baseline, "1.0.0");
    });

    it("ferry apply over an empty database is refused until the running release's schema is in", async () => {
      const { p, db, c } = await dbCluster();
      const refused = await ferryAsync(["apply", ...c, "--to", "1.1.0", "--yes"]);
      assert.equal(refused.code, 3, refused.stdout + refused.stderr);
      // apply reports a failed step on stdout, as the step's line and the run's summary.
      assert.match(
        refused.stdout,
        /the database lacks the schema of 1\.0\.0, which the cluster runs: 1\.0\.0\/expand\/0001-create-notes\.sql has not run/,
      );
      assert.match(refused.stdout, /run `ferry db migrate --to 1\.0\.0`, then apply again/);
      assert.ok(allAt(p, "1.0.0"), "no host was touched");
      assert.deepEqual(await db.columns("notes"), [], "nothing was migrated");

      assert.equal((await ferryAsync(["db", "migrate", ...c, "--to", "1.0.0"])).code, 0);
      const applied = await ferryAsync(["apply", ...c, "--to", "1.1.0", "--yes"]);
      assert.equal(applied.code, 0, applied.stdout + applied.stderr);
      assert.ok(allAt(p, "1.1.0"));
      assert.deepEqual(await db.columns("notes"), ["id", "body", "deleted_at", "title"]);
    });

    it("a file changed after it ran is refused by every command that migrates, naming it, and db status marks it", async () => {
      const { db, c, write } = await dbCluster({
        ...FILES,
        "1.1.0/expand/0002-index.sql": "CREATE INDEX notes_deleted ON notes (deleted_at);\n",
      });
      await holdsSchema(db);
      assert.equal((await ferryAsync(["db", "migrate", ...c, "--to", "1.1.0"])).code, 0);
      write(
        "1.1.0/expand/0001-add-title.sql",
        `${FILES["1.1.0/expand/0001-add-title.sql"]}-- edited after it ran\n`,
      );
      const changed = /1\.1\.0\/expand\/0001-add-title\.sql has changed since it was applied/;

      for (const args of [
        ["db", "migrate", ...c, "--to", "1.1.0"],
        ["db", "migrate", ...c, "--to", "1.0.0", "--phase", "expand"],
        ["db", "online-migrations", ...c],
        ["apply", ...c, "--to", "1.1.0", "--yes"],
      ]) {
        const r = await ferryAsync(args);
        assert.equal(r.code, 3, `${args.join(" ")}: ${r.stdout}${r.stderr}`);
        assert.match(args[0] === "apply" ? r.stdout : r.stderr, changed, args.join(" "));
        assert.doesNotMatch(r.stdout, /nothing to apply/);
      }

      const text = await ferryAsync(["db", "status", ...c]);
      assert.equal(text.code, 0, text.stderr);
      assert.match(
        text.stdout,
        /applied +1\.1\.0\/expand\/0001-add-title\.sql .*CHANGED since it was applied/,
      );
      assert.doesNotMatch(text.stdout, /0002-index\.sql .*CHANGED/);
      const json = await status(c);
      assert.deepEqual(
        json.applied.map((a: { file: string; changed: boolean }) => [a.file, a.changed]),
        [
          ["0001-add-title.sql", true],
          ["0002-index.sql", false],
        ],
      );
      assert.deepEqual(await db.columns("notes"), ["id", "body", "deleted_at", "title"]);
    });

    it(`a file that failed part-way and was then edited${dialect === "mysql" ? " is refused where a statement that ran has changed" : " runs whole again (its statements rolled back together)"}`, async () => {
      const { db, c, write } = await dbCluster();
      await holdsSchema(db);
      const tags = (...statements: string[]) =>
        write("1.1.0/expand/0002-tags.sql", `${statements.join(";\n")};\n`);
      const create = "CREATE TABLE tags (id INTEGER PRIMARY KEY, name VARCHAR(50) NOT NULL)";
      const labels = "CREATE TABLE IF NOT EXISTS labels (id INTEGER PRIMARY KEY)";
      const colour = "ALTER TABLE tags ADD COLUMN colour VARCHAR(20) NULL";
      const index = "CREATE INDEX tags_name ON tags (name)";
      tags(create, labels, "CREATE INDEX tags_name ON tags (no_such_column)");
      const failed = await ferryAsync(["db", "migrate", ...c, "--to", "1.1.0"]);
      assert.equal(failed.code, 1, failed.stdout + failed.stderr);
      assert.match(
        failed.stderr,
        /0002-tags\.sql, statement 3 \(CREATE INDEX tags_name ON tags \(no_such_column\)\)/,
      );

      // The operator adds a statement before the one that failed (and before one that ran), and mends the failed one.
      tags(create, colour, labels, index);
      const again = await ferryAsync(["db", "migrate", ...c, "--to", "1.1.0"]);
      if (dialect === "mysql") {
        // Statements 1 and 2 committed by themselves: skipping two would run `labels` twice and never `colour`.
        assert.equal(again.code, 3, again.stdout + again.stderr);
        assert.match(
          again.stderr,
          /1\.1\.0\/expand\/0002-tags\.sql stopped after statement 2, and statement 2 has changed since it ran/,
        );
        assert.match(again.stderr, /keep statements 1–2 as they ran/);
        assert.deepEqual(await db.columns("tags"), ["id", "name"], "nothing more ran");
        const s = await status(c);
        assert.deepEqual(
          s.pending.map((f: { file: string; statementsDone?: number; changed?: boolean }) => [
            f.file,
            f.statementsDone,
            f.changed,
          ]),
          [["0002-tags.sql", 2, true]],
        );

        // The way out: what ran stays as it ran, and the new statement goes after it.
        tags(create, labels, colour, index);
        const mended = await ferryAsync(["db", "migrate", ...c, "--to", "1.1.0"]);
        assert.equal(mended.code, 0, mended.stdout + mended.stderr);
      } else {
        assert.equal(again.code, 0, again.stdout + again.stderr);
      }
      assert.deepEqual(await db.columns("tags"), ["id", "name", "colour"], "the added statement ran");
      const s = await status(c);
      assert.deepEqual(s.pending, []);
      assert.ok(
        s.applied.some((a: { file: string; changed: boolean }) => a.file === "0002-tags.sql" && !a.changed),
      );
    });

    it("db purge deletes the rows deleted before the cutoff, over several batches, and keeps the ones just after it", async () => {
      const { db, c } = await dbCluster();
      await holdsSchema(db);
      // Deletion times on the database's own clock, as the product writes them: 30 days ago, give or take.
      const ago = (minutes: number) =>
        ({
          postgres: `now() - interval '30 days' + interval '${minutes} minutes'`,
          mysql: `NOW() - INTERVAL 30 DAY + INTERVAL ${minutes} MINUTE`,
          sqlite: `datetime('now', '-30 days', '${minutes} minutes')`,
        })[dialect];
      const older = [-5, -6, -30, -90, -600, -1440, -2880, -20_000, -100_000, -500_000];
      const newer = [5, 6, 30, 1440];
      let id = 0;
      for (const m of older) await db.query(`INSERT INTO notes VALUES (${++id}, 'old ${m}', ${ago(m)})`);
      for (const m of newer) await db.query(`INSERT INTO notes VALUES (${++id}, 'new ${m}', ${ago(m)})`);
      for (let i = 0; i < 3; i++) await db.query(`INSERT INTO notes VALUES (${++id}, 'kept', NULL)`);

      // ferry's clock in a zone far from the database's must not move the cutoff.
      const r = await ferryAsync(
        ["db", "purge", ...c, "--older-than", "30", "--table", "notes", "--column", "deleted_at"],
        { TZ: "Pacific/Kiritimati" },
      );
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /purged 10 rows of notes deleted more than 30 days ago, in 4 batches/);
      const left = await db.query("SELECT id FROM notes ORDER BY id");
      assert.deepEqual(
        left.map((row) => Number(row.id)),
        [11, 12, 13, 14, 15, 16, 17],
        "the rows deleted less than 30 days ago, and the live ones, survive",
      );
    });

    it("db purge refuses a table or column that is not one with exit 2, and deletes nothing", async () => {
      const { db, c } = await dbCluster();
      await holdsSchema(db);
      await db.query("INSERT INTO notes VALUES (1, 'old', '2020-01-01 00:00:00')");
      const purge = (table: string, column: string) =>
        ferryAsync(["db", "purge", ...c, "--older-than", "30", "--table", table, "--column", column]);

      const injected = await purge("notes; DROP TABLE notes", "deleted_at");
      assert.equal(injected.code, 2, injected.stdout + injected.stderr);
      assert.match(injected.stderr, /--table: "notes; DROP TABLE notes" is not a plain identifier/);
      const badColumn = await purge("notes", "deleted_at = deleted_at OR 1=1 --");
      assert.equal(badColumn.code, 2, badColumn.stderr);
      assert.match(badColumn.stderr, /--column: .* is not a plain identifier/);
      const noColumn = await purge("notes", "gone_at");
      assert.equal(noColumn.code, 2, noColumn.stderr);
      assert.match(noColumn.stderr, /notes has no column gone_at/);
      const noTable = await purge("no_such_table", "deleted_at");
      assert.equal(noTable.code, 2, noTable.stderr);
      assert.match(noTable.stderr, /there is no table no_such_table/);

      assert.equal(
        Number((await db.query("SELECT count(*) AS n FROM notes"))[0]?.n),
        1,
        "nothing was deleted",
      );
    });
  });
});
