/**
 * The migration behaviours, run unchanged against every database ferry supports (DESIGN.md
 * "Database migrations"): version order with skipped releases, the ledger and its checksums,
 * Cinder's ordering rule, short lock waits with retries, online data migrations, purge, backups.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { type Catalog, loadCatalog, RefusedError } from "../../src/index.js";
import { type Dialect, type MigrationFile, readMigrations } from "../../src/migrate/migration-files.js";
import { type MigrationEvent, Migrator } from "../../src/migrate/migrator.js";
import { openMigrationTarget } from "../../src/migrate/open-target.js";
import type { TestDatabase } from "../support/databases.js";

const FIXTURES = new URL("../fixtures/migrations/", import.meta.url).pathname;

export interface MigrationSuite {
  readonly dialect: Dialect;
  /** A fresh, empty database; or why there is none here. */
  readonly make: () => Promise<TestDatabase>;
}

async function migratorFor(
  db: TestDatabase,
  catalog: Catalog,
  files?: MigrationFile[],
  events?: MigrationEvent[],
) {
  const target = await openMigrationTarget(db.url, ".");
  const migrator = await Migrator.open(target, files ?? readMigrations(catalog, db.dialect), {
    batch: 7,
    lockTimeoutMs: 100,
    attempts: 60,
    backoffMs: 20,
    releases: catalog.releases.map((r) => r.version),
    baseline: "1.0.0",
    ...(events ? { onEvent: (e: MigrationEvent) => events.push(e) } : {}),
  });
  return { target, migrator };
}

/** Creates the notes table (1.0.1's expand) and 25 rows in it. */
async function seed(db: TestDatabase, migrator: Migrator): Promise<void> {
  await migrator.migrate("1.0.1");
  for (let i = 1; i <= 25; i++) {
    const deleted = i <= 5 ? "'2020-01-01 00:00:00'" : "NULL";
    await db.query(`INSERT INTO notes (id, body, deleted_at) VALUES (${i}, 'note ${i}', ${deleted})`);
  }
}

export function describeMigrations(suite: MigrationSuite): void {
  describe(`migrations on ${suite.dialect}`, () => {
    const catalog = loadCatalog(`${FIXTURES}releases.yaml`);
    const cleanups: (() => Promise<void>)[] = [];
    const fresh = async () => {
      const db = await suite.make();
      cleanups.push(() => db.drop());
      return db;
    };
    after(async () => {
      for (const c of cleanups) await c();
    });

    it("applies every release's files in version order, the skipped release's too, and records each", async () => {
      const db = await fresh();
      const { target, migrator } = await migratorFor(db, catalog);
      try {
        await seed(db, migrator);
        const applied = await migrator.migrate("1.2.0");
        assert.deepEqual(applied, [
          "1.1.0/expand/0001-add-title.sql",
          "1.1.0/expand/0002-tags.sql",
          `1.1.0/data/${suite.dialect === "mysql" ? "0001-backfill-title.mysql.sql" : "0001-backfill-title.sql"}`,
          "1.2.0/contract/0001-drop-body.sql",
        ]);
        const rows = await db.query("SELECT id, title FROM notes ORDER BY id");
        assert.equal(rows.length, 25);
        assert.ok(
          rows.every((r) => r.title === `note ${r.id}`),
          "every row back-filled",
        );
        await assert.rejects(
          db.query("SELECT body FROM notes"),
          /column "body" does not exist|Unknown column 'body'|no such column: body/,
          "body was dropped",
        );
        const status = await migrator.status();
        assert.deepEqual(status.pending, []);
        assert.deepEqual(
          status.applied.map((a) => `${a.release}/${a.phase}/${a.file}`),
          [
            "1.0.1/expand/0001-create-notes.sql",
            "1.1.0/expand/0001-add-title.sql",
            "1.1.0/expand/0002-tags.sql",
            "1.2.0/contract/0001-drop-body.sql",
          ],
        );
        assert.ok(status.applied.every((a) => /^[0-9a-f]{64}$/.test(a.checksum)));
        assert.deepEqual(status.data, [
          { release: "1.1.0", file: status.data[0]?.file, complete: true, rows: 25, changed: false },
        ]);
        assert.deepEqual(await migrator.migrate("1.2.0"), [], "a second run has nothing to do");
      } finally {
        await target.close();
      }
    });

    it("refuses a file changed after it was applied, naming it", async () => {
      const db = await fresh();
      const files = readMigrations(catalog, db.dialect);
      const { target, migrator } = await migratorFor(db, catalog, files);
      await migrator.migrate("1.0.1");
      await target.close();
      const changed = files.map((f) =>
        f.release === "1.0.1" ? { ...f, sql: `${f.sql}\n-- edited`, checksum: "0".repeat(64) } : f,
      );
      const again = await migratorFor(db, catalog, changed);
      try {
        await assert.rejects(again.migrator.migrate("1.1.0"), (err: unknown) => {
          assert.ok(err instanceof RefusedError, String(err));
          assert.equal(err.exitCode, 3);
          assert.match(
            err.message,
            /1\.0\.1\/expand\/0001-create-notes\.sql has changed since it was applied/,
          );
          return true;
        });
      } finally {
        await again.target.close();
      }
    });

    it("refuses a later release's migrations, and the contract that drops what a backfill reads, until the data migrations are done", async () => {
      const db = await fresh();
      const { target, migrator } = await migratorFor(db, catalog);
      try {
        await seed(db, migrator);
        await migrator.migrate("1.1.0", "expand");
        await assert.rejects(migrator.migrate("1.2.0", "contract"), (err: unknown) => {
          assert.ok(err instanceof RefusedError);
          assert.match(
            err.message,
            /1\.2\.0\/contract\/0001-drop-body\.sql is refused: the data migrations before it are incomplete \(1\.1\.0\/data\//,
          );
          return true;
        });
        const first = await migrator.onlineMigrations(10);
        assert.deepEqual(
          { migrated: first.migrated, remaining: first.remaining },
          { migrated: 10, remaining: true },
        );
        const rest = await migrator.onlineMigrations();
        assert.deepEqual(
          { migrated: rest.migrated, remaining: rest.remaining, errors: rest.errors },
          { migrated: 15, remaining: false, errors: [] },
        );
        assert.deepEqual(await migrator.migrate("1.2.0", "contract"), ["1.2.0/contract/0001-drop-body.sql"]);
      } finally {
        await target.close();
      }
    });

    it("reports a data migration that fails, and nothing more progresses", async () => {
      const db = await fresh();
      const files = readMigrations(catalog, db.dialect).map((f) =>
        f.phase === "data" ? { ...f, sql: "UPDATE notes SET no_such_column = 1 WHERE id < {{batch}}" } : f,
      );
      const { target, migrator } = await migratorFor(db, catalog, files);
      try {
        await seed(db, migrator);
        await migrator.migrate("1.1.0", "expand");
        const r = await migrator.onlineMigrations(100);
        assert.equal(r.migrated, 0);
        assert.equal(r.remaining, true);
        assert.equal(r.errors.length, 1);
        assert.match(r.errors[0]?.error ?? "", /1\.1\.0\/data\/.*statement 1/);
      } finally {
        await target.close();
      }
    });

    it(`reports a failing statement with its file and number${suite.dialect === "mysql" ? "; a re-run goes on after the statements that ran" : ", and applies nothing of the file"}`, async () => {
      const db = await fresh();
      const bad = (f: MigrationFile): MigrationFile =>
        f.name === "0002-tags.sql"
          ? {
              ...f,
              sql: "CREATE TABLE tags (id INTEGER PRIMARY KEY);\nCREATE INDEX tags_name ON tags (no_such_column);",
            }
          : f;
      const files = readMigrations(catalog, db.dialect);
      const { target, migrator } = await migratorFor(db, catalog, files.map(bad));
      await seed(db, migrator);
      await assert.rejects(
        migrator.migrate("1.1.0", "expand"),
        /0002-tags\.sql, statement 2 \(CREATE INDEX tags_name/,
      );
      const pending = (await migrator.status()).pending.find((p) => p.file === "0002-tags.sql");
      await target.close();
      if (suite.dialect === "mysql") {
        assert.equal(pending?.statementsDone, 1, "the CREATE TABLE committed by itself and is recorded");
      } else {
        assert.equal(pending?.statementsDone, undefined);
        assert.deepEqual(
          await db.query("SELECT * FROM tags").catch(() => "no table"),
          "no table",
          "rolled back with its file",
        );
      }
      // The file is mended (its second statement), and a re-run finishes it.
      const mended = files.map((f) =>
        f.name === "0002-tags.sql" && suite.dialect === "mysql"
          ? { ...f, sql: "CREATE TABLE tags (id INTEGER PRIMARY KEY);\nCREATE INDEX tags_id ON tags (id);" }
          : f,
      );
      const again = await migratorFor(db, catalog, mended);
      try {
        await again.migrator.migrate("1.1.0", "expand");
        assert.deepEqual(
          (await again.migrator.status()).pending.filter((p) => p.release === "1.1.0"),
          [],
        );
      } finally {
        await again.target.close();
      }
    });

    it("a file mended by taking away the statement that failed is complete once run again", async () => {
      const db = await fresh();
      const files = readMigrations(catalog, db.dialect);
      const tags = (sql: string) => files.map((f) => (f.name === "0002-tags.sql" ? { ...f, sql } : f));
      const create = "CREATE TABLE tags (id INTEGER PRIMARY KEY)";
      const first = await migratorFor(
        db,
        catalog,
        tags(`${create};\nCREATE INDEX tags_x ON tags (no_such_column);`),
      );
      try {
        await seed(db, first.migrator);
        await assert.rejects(first.migrator.migrate("1.1.0", "expand"), /0002-tags\.sql, statement 2/);
      } finally {
        await first.target.close();
      }
      const again = await migratorFor(db, catalog, tags(`${create};\n`));
      try {
        await again.migrator.migrate("1.1.0", "expand");
        const status = await again.migrator.status();
        assert.deepEqual(
          status.pending.filter((p) => p.release === "1.1.0"),
          [],
        );
        assert.ok(status.applied.some((a) => a.file === "0002-tags.sql"));
        assert.deepEqual(await db.columns("tags"), ["id"]);
      } finally {
        await again.target.close();
      }
    });

    it("opens a ledger an older ferry made, without statement checksums, and keeps what it recorded", async () => {
      const db = await fresh();
      await db.query(`CREATE TABLE ferry_migrations (
        release_version VARCHAR(64) NOT NULL, phase VARCHAR(16) NOT NULL, file VARCHAR(255) NOT NULL,
        checksum CHAR(64) NOT NULL, applied_at BIGINT NOT NULL, complete BOOLEAN NOT NULL,
        rows_migrated BIGINT NOT NULL DEFAULT 0, statements_done INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (release_version, phase, file))`);
      await db.query(
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, body VARCHAR(200) NOT NULL, deleted_at TIMESTAMP NULL)",
      );
      const created = readMigrations(catalog, db.dialect).find((f) => f.release === "1.0.1");
      await db.query(
        `INSERT INTO ferry_migrations VALUES ('1.0.1', 'expand', '0001-create-notes.sql', '${created?.checksum}', 1, ${db.dialect === "sqlite" ? 1 : "TRUE"}, 0, 1)`,
      );
      const { target, migrator } = await migratorFor(db, catalog);
      try {
        const status = await migrator.status();
        assert.deepEqual(
          status.applied.map((a) => [a.file, a.changed]),
          [["0001-create-notes.sql", false]],
        );
        assert.deepEqual(await migrator.migrate("1.1.0", "expand"), [
          "1.1.0/expand/0001-add-title.sql",
          "1.1.0/expand/0002-tags.sql",
        ]);
      } finally {
        await target.close();
      }
    });

    it("waits only briefly for a lock, retries, and never blocks readers behind it", async () => {
      const db = await fresh();
      const events: MigrationEvent[] = [];
      const { target, migrator } = await migratorFor(db, catalog, undefined, events);
      try {
        await seed(db, migrator);
        const release = await db.holdLock("notes");
        let slowest = 0;
        let reading = true;
        const reader = (async () => {
          for (let i = 0; i < 200 && reading; i++) {
            slowest = Math.max(slowest, await db.timeRead("notes"));
            await new Promise((r) => setTimeout(r, 20));
          }
        })();
        const migrating = migrator.migrate("1.1.0", "expand");
        // Held for 3 s: a reader queued behind the waiting DDL would wait all of it, while one that
        // is not waits at most a lock timeout (100 ms) and what a busy machine adds to a query.
        await new Promise((r) => setTimeout(r, 3000));
        await release();
        await migrating;
        reading = false;
        await reader;
        assert.ok(
          events.some((e) => e.type === "lock-timeout"),
          "it gave up waiting at least once and tried again",
        );
        assert.ok(slowest < 2000, `a reader waited ${Math.round(slowest)} ms`);
        assert.deepEqual(
          (await migrator.status()).pending.filter((p) => p.release === "1.1.0"),
          [],
        );
      } finally {
        await target.close();
      }
    });

    it("purges soft-deleted rows older than the limit, in batches", async () => {
      const db = await fresh();
      const { target, migrator } = await migratorFor(db, catalog);
      try {
        await seed(db, migrator);
        assert.deepEqual(await migrator.purge("notes", "deleted_at", 30), { rows: 5, batches: 1 });
        assert.equal(Number((await db.query("SELECT count(*) AS n FROM notes"))[0]?.n), 20);
        await assert.rejects(
          migrator.purge("notes; DROP TABLE notes", "deleted_at", 30),
          /not a plain identifier/,
        );
      } finally {
        await target.close();
      }
    });

    it("backs up with the database's own tool and restores the copy", async () => {
      const db = await fresh();
      const dir = mkdtempSync(join(tmpdir(), "ferry-backup-"));
      const { target, migrator } = await migratorFor(db, catalog);
      try {
        await seed(db, migrator);
        const file = join(dir, "backup");
        await target.backup(file);
        assert.ok(readFileSync(file).length > 0);
        await db.query("DELETE FROM notes");
        await db.query("CREATE TABLE made_later (x INTEGER)");
        await target.restore(file);
        await assert.rejects(
          db.query("SELECT * FROM made_later"),
          /relation "made_later" does not exist|Table '\w+\.made_later' doesn't exist|no such table: made_later/,
          "what came after the backup is gone",
        );
        assert.equal(Number((await db.query("SELECT count(*) AS n FROM notes"))[0]?.n), 25);
      } finally {
        await target.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it("lets one migrator change a database at a time, when two contend for it", async () => {
      const db = await fresh();
      const setup = await migratorFor(db, catalog);
      await seed(db, setup.migrator);
      await setup.target.close();
      const events: MigrationEvent[][] = [[], []];
      const [first, second] = [
        await migratorFor(db, catalog, undefined, events[0]),
        await migratorFor(db, catalog, undefined, events[1]),
      ];
      const release = await db.holdLock("notes");
      try {
        // Both start at once and find 1.1.0's files pending; whoever is first holds the database.
        const racing = [
          first.migrator.migrate("1.1.0", "expand"),
          second.migrator.migrate("1.1.0", "expand"),
        ];
        const results = Promise.allSettled(racing);
        if (suite.dialect === "sqlite") {
          // No session locks: both wait for SQLite's write lock, so let go only once both are waiting.
          for (const seen of events) {
            for (let i = 0; i < 500 && !seen.some((e) => e.type === "lock-timeout"); i++) await sleep(10);
            assert.ok(
              seen.some((e) => e.type === "lock-timeout"),
              "both migrators wait for the write lock",
            );
          }
        }
        await release();
        const [a, b] = await results;
        const expand = ["1.1.0/expand/0001-add-title.sql", "1.1.0/expand/0002-tags.sql"];
        if (suite.dialect === "sqlite") {
          // Each file is applied by one of them, inside its own transaction, and said so once.
          assert.equal(a?.status, "fulfilled", String((a as PromiseRejectedResult).reason));
          assert.equal(b?.status, "fulfilled", String((b as PromiseRejectedResult).reason));
          const applied = [a, b].flatMap((r) => (r?.status === "fulfilled" ? r.value : []));
          assert.deepEqual([...applied].sort(), expand, "each file applied by one migrator, once");
        } else {
          const refused = [a, b].filter((r) => r?.status === "rejected");
          assert.equal(refused.length, 1, "exactly one of them is refused");
          assert.match(
            String((refused[0] as PromiseRejectedResult).reason),
            /another ferry is migrating this database/,
          );
          const won = [a, b].find((r) => r?.status === "fulfilled") as PromiseFulfilledResult<string[]>;
          assert.deepEqual(won.value, expand);
        }
        assert.deepEqual(await db.columns("tags"), ["id", "name"]);
      } finally {
        await first.target.close();
        await second.target.close();
      }
      const third = await migratorFor(db, catalog);
      try {
        assert.ok((await third.migrator.migrate("1.2.0")).length > 0, "the lock went with its connection");
      } finally {
        await third.target.close();
      }
    });
  });
}
