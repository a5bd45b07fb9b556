/**
 * Upgrades that migrate a real product database (SQLite here; the dialects' own behaviour is the
 * migration contract suite's): the expand, data and contract steps in the plan, a kill -9 in the
 * middle of a data migration, an offline hop rolled back by restoring its backup, and `ferry db`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import { type FakeProduct, makeFakeProduct } from "./support/fake-product.js";
import { ferryAsync } from "./support/run-ferry-async.js";

const MIGRATIONS = new URL("./fixtures/migrations/", import.meta.url).pathname;
const CATALOG = `product: notes
scheme: semver
releases:
  - "1.0.0"
  - { version: "1.0.1", migrations: 1.0.1 }
  - { version: "1.1.0", migrations: 1.1.0 }
  - { version: "1.2.0", migrations: 1.2.0 }
`;
const ROWS = 240;

/** The product at 1.0.1, its database holding the notes table (1.0.1's schema) and ROWS notes. */
function product(extra = ""): FakeProduct {
  const p = makeFakeProduct({
    hosts: 2,
    start: "1.0.1",
    catalog: { text: CATALOG, migrations: MIGRATIONS },
    extra: `database: sqlite:product.db\nmigrations: { batch: 25 }\n${extra}`,
  });
  const db = new Database(join(p.dir, "product.db"));
  db.exec(
    "CREATE TABLE notes (id INTEGER PRIMARY KEY, body VARCHAR(200) NOT NULL, deleted_at TIMESTAMP NULL)",
  );
  const insert = db.prepare("INSERT INTO notes (id, body) VALUES (?, ?)");
  for (let i = 1; i <= ROWS; i++) insert.run(i, `note ${i}`);
  db.close();
  return p;
}

function columns(p: FakeProduct): string[] {
  const db = new Database(join(p.dir, "product.db"), { readonly: true });
  try {
    return (db.prepare("PRAGMA table_info(notes)").all() as { name: string }[]).map((c) => c.name);
  } finally {
    db.close();
  }
}

function titles(p: FakeProduct): string[] {
  const db = new Database(join(p.dir, "product.db"), { readonly: true });
  try {
    return (db.prepare("SELECT title FROM notes ORDER BY id").all() as { title: string | null }[]).map((r) =>
      String(r.title),
    );
  } finally {
    db.close();
  }
}

const expectedTitles = Array.from({ length: ROWS }, (_, i) => `note ${i + 1}`);

describe("upgrades that migrate the product's database", () => {
  it("plans and runs expand, data and contract per hop, with a backup before the schema changes", async () => {
    const p = product();
    try {
      const plan = JSON.parse(
        (await ferryAsync(["plan", "-c", p.clusterFile, "--to", "1.2.0", "--json"])).stdout,
      );
      const ids: string[] = plan.hops.flatMap(
        (h: { phases: { stages: { pools: { lanes: { steps: { id: string }[] }[] }[] }[] }[] }) =>
          h.phases.flatMap((ph) =>
            ph.stages.flatMap((s) =>
              s.pools.flatMap((pl) => pl.lanes.flatMap((l) => l.steps.map((st) => st.id))),
            ),
          ),
      );
      for (const id of [
        "1.1.0/preflight/migrations",
        "1.1.0/backup/database",
        "1.1.0/expand/1.1.0/0001-add-title.sql",
        "1.1.0/data/1.1.0/0001-backfill-title.sql",
        "1.2.0/contract/1.2.0/0001-drop-body.sql",
      ]) {
        assert.ok(ids.includes(id), id);
      }
      assert.ok(ids.indexOf("1.1.0/backup/database") < ids.indexOf("1.1.0/expand/1.1.0/0001-add-title.sql"));

      const r = await ferryAsync(["apply", "-c", p.clusterFile, "--to", "1.2.0", "--yes"]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.deepEqual(titles(p), expectedTitles);
      assert.deepEqual(columns(p), ["id", "deleted_at", "title"]);

      const status = JSON.parse((await ferryAsync(["db", "status", "-c", p.clusterFile, "--json"])).stdout);
      assert.deepEqual(
        Object.keys(status).filter((k) => ["applied", "pending", "data"].includes(k)),
        ["applied", "pending", "data"],
      );
      assert.deepEqual(status.pending, []);
      assert.deepEqual(status.data, [
        { release: "1.1.0", file: "0001-backfill-title.sql", complete: true, rows: ROWS, changed: false },
      ]);
    } finally {
      p.cleanup();
    }
  });

  it("kill -9 in the middle of a data migration, then resume: every row migrated as an uninterrupted run would", async () => {
    const p = product();
    try {
      const crashed = await ferryAsync(["apply", "-c", p.clusterFile, "--to", "1.1.0", "--yes"], {
        FERRY_FAULT: "data-batch#3",
      });
      assert.equal(crashed.signal, "SIGKILL");
      assert.equal(titles(p).filter((t) => t !== "null").length, 75, "three batches of 25 had committed");
      const resumed = await ferryAsync(["resume", "-c", p.clusterFile, "--yes"]);
      assert.equal(resumed.code, 0, resumed.stdout + resumed.stderr);
      assert.deepEqual(titles(p), expectedTitles);
      const status = JSON.parse((await ferryAsync(["db", "status", "-c", p.clusterFile, "--json"])).stdout);
      assert.equal(status.data[0].rows, ROWS, "each row was changed once");
    } finally {
      p.cleanup();
    }
  });

  it("an offline hop that fails before its point of no return restores the database from its backup", async () => {
    const p = product("hooks: { before: { contract: 'exit 7' } }");
    try {
      const r = await ferryAsync(["apply", "-c", p.clusterFile, "--to", "1.1.0", "--yes"]);
      assert.equal(r.code, 1, r.stdout);
      assert.match(r.stdout, /Rolled back/);
      assert.deepEqual(
        columns(p),
        ["id", "body", "deleted_at"],
        "the expand migration was undone by the restore",
      );
    } finally {
      p.cleanup();
    }
  });

  it("ferry db online-migrations keeps Cinder's exit codes, and a changed file is refused with exit 3", async () => {
    const p = product();
    try {
      const c = ["-c", p.clusterFile];
      assert.equal((await ferryAsync(["db", "migrate", ...c, "--to", "1.1.0", "--phase", "expand"])).code, 0);
      const some = await ferryAsync(["db", "online-migrations", ...c, "--max-count", "100"]);
      assert.equal(some.code, 1, some.stdout + some.stderr);
      assert.match(some.stdout, /migrated 100 rows; more may remain/);
      const rest = await ferryAsync(["db", "online-migrations", ...c]);
      assert.equal(rest.code, 0, rest.stderr);
      assert.equal((await ferryAsync(["db", "online-migrations", ...c, "--max-count", "10"])).code, 0);
      const { writeFileSync } = await import("node:fs");
      writeFileSync(
        join(p.dir, "1.1.0/expand/0001-add-title.sql"),
        "ALTER TABLE notes ADD COLUMN title VARCHAR(300) NULL;\n",
      );
      const refused = await ferryAsync(["db", "migrate", ...c, "--to", "1.2.0"]);
      assert.equal(refused.code, 3);
      assert.match(refused.stderr, /1\.1\.0\/expand\/0001-add-title\.sql has changed since it was applied/);
    } finally {
      p.cleanup();
    }
  });

  it("ferry db online-migrations exits 2 when a data migration fails and nothing progresses", async () => {
    const p = product();
    try {
      const c = ["-c", p.clusterFile];
      assert.equal((await ferryAsync(["db", "migrate", ...c, "--to", "1.1.0", "--phase", "expand"])).code, 0);
      const { writeFileSync } = await import("node:fs");
      writeFileSync(
        join(p.dir, "1.1.0/data/0001-backfill-title.sql"),
        "UPDATE notes SET no_such = 1 WHERE id < {{batch}};\n",
      );
      const r = await ferryAsync(["db", "online-migrations", ...c, "--max-count", "50"]);
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match(r.stdout, /error: 1\.1\.0\/data\/0001-backfill-title\.sql: .*no_such/);
    } finally {
      p.cleanup();
    }
  });

  it("ferry db purge deletes the rows soft-deleted before the limit", async () => {
    const p = product();
    try {
      const db = new Database(join(p.dir, "product.db"));
      db.exec("UPDATE notes SET deleted_at = '2020-01-01 00:00:00' WHERE id <= 30");
      db.close();
      const r = await ferryAsync([
        "db",
        "purge",
        "-c",
        p.clusterFile,
        "--older-than",
        "90",
        "--table",
        "notes",
        "--column",
        "deleted_at",
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /purged 30 rows of notes deleted more than 90 days ago, in 2 batches/);
      const left = new Database(join(p.dir, "product.db"), { readonly: true });
      assert.equal((left.prepare("SELECT count(*) AS n FROM notes").get() as { n: number }).n, ROWS - 30);
      left.close();
    } finally {
      p.cleanup();
    }
  });

  it("ferry db restore --run puts back the database as it was before the run", async () => {
    const p = product();
    try {
      const applied = await ferryAsync(["apply", "-c", p.clusterFile, "--to", "1.1.0", "--yes", "--json"]);
      assert.equal(applied.code, 0, applied.stderr);
      assert.ok(columns(p).includes("title"));
      // --json streams events, one a line; the last is the result.
      const run = JSON.parse(applied.stdout.trim().split("\n").at(-1) ?? "").runId;
      const unasked = await ferryAsync(["db", "restore", "-c", p.clusterFile, "--run", run]);
      assert.equal(unasked.code, 2, "off a terminal, a restore must be meant (--yes)");
      assert.ok(columns(p).includes("title"), "nothing was restored");
      const r = await ferryAsync(["db", "restore", "-c", p.clusterFile, "--run", run, "--yes"]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(columns(p), ["id", "body", "deleted_at"]);
    } finally {
      p.cleanup();
    }
  });
});
