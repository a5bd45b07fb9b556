/**
 * An online data migration on PostgreSQL: back-fill 1,000,000 rows while a second connection keeps
 * writing to the same table, as the new release does (an insert and an update of a random row
 * every few milliseconds).
 * Prints rows per second, how long the writer waited at most (and its p99), and the batch size.
 *
 *   npm run bench:backfill [-- --rows N] [-- --batch N[,N…]] [-- --json]
 *
 * The migration is what a vendor would ship: an expand file adds the column and a partial index
 * of the rows still to do; the data file changes {{batch}} of them, skipping rows the live
 * application holds locked, and runs again until it changes none.
 */
import { createHash } from "node:crypto";
import { performance } from "node:perf_hooks";
import pg from "pg";
import type { MigrationFile } from "../src/migrate/migration-files.js";
import { MIGRATION_DEFAULTS, Migrator } from "../src/migrate/migrator.js";
import { PostgresTarget } from "../src/migrate/postgres-target.js";

const args = process.argv.slice(2);
const arg = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const ROWS = Number(arg("--rows") ?? 1_000_000);
const BATCHES = (arg("--batch") ?? "1000,2000,5000").split(",").map(Number);
const json = args.includes("--json");
const ADMIN = "postgres://postgres@127.0.0.1:5432/test";
const WRITER_PAUSE_MS = 2;

const file = (release: string, phase: MigrationFile["phase"], name: string, sql: string): MigrationFile => ({
  release,
  phase,
  name,
  sql,
  checksum: createHash("sha256").update(sql).digest("hex"),
});

const EXPAND = file(
  "2.0.0",
  "expand",
  "0001-title.sql",
  "ALTER TABLE notes ADD COLUMN title TEXT;\nCREATE INDEX notes_untitled ON notes (id) WHERE title IS NULL;",
);
const DATA = file(
  "2.0.0",
  "data",
  "0001-backfill.sql",
  `UPDATE notes SET title = upper(body)
   WHERE id IN (SELECT id FROM notes WHERE title IS NULL LIMIT {{batch}} FOR UPDATE SKIP LOCKED)`,
);

async function withDatabase<T>(body: (url: string) => Promise<T>): Promise<T> {
  const name = `ferry_bench_${process.pid}`;
  const admin = new pg.Client({ connectionString: ADMIN });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${name}`);
  try {
    return await body(`postgres://postgres@127.0.0.1:5432/${name}`);
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

function quantile(xs: readonly number[], q: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}

async function run(batch: number) {
  return withDatabase(async (url) => {
    const setup = new pg.Client({ connectionString: url });
    await setup.connect();
    await setup.query("CREATE TABLE notes (id BIGSERIAL PRIMARY KEY, body TEXT NOT NULL)");
    await setup.query(`INSERT INTO notes (body) SELECT 'note ' || g FROM generate_series(1, ${ROWS}) AS g`);
    await setup.query("VACUUM ANALYZE notes");
    // Setting up a million rows writes a lot of WAL; flush it now, so the checkpoint it calls for
    // does not land in the middle of the measured back-fill.
    await setup.query("CHECKPOINT");
    await setup.end();

    const target = new PostgresTarget(url);
    await target.init();
    const migrator = await Migrator.open(target, [EXPAND, DATA], {
      ...MIGRATION_DEFAULTS,
      batch,
      releases: ["1.0.0", "2.0.0"],
      baseline: "1.0.0",
    });
    await migrator.applySchema(EXPAND);

    // The live application, on the new release (it fills in title itself): writes until the
    // back-fill ends, bounded in count and time.
    const writer = new pg.Client({ connectionString: url });
    await writer.connect();
    const waits: number[] = [];
    let writing = true;
    const deadline = Date.now() + 120_000;
    const writes = (async () => {
      for (let i = 0; writing && i < 200_000 && Date.now() < deadline; i++) {
        let t = performance.now();
        await writer.query("INSERT INTO notes (body, title) VALUES ($1, upper($1))", [`live ${i}`]);
        waits.push(performance.now() - t);
        t = performance.now();
        await writer.query("UPDATE notes SET body = body || '!' WHERE id = $1", [
          1 + Math.floor(Math.random() * ROWS),
        ]);
        const u = performance.now() - t;
        waits.push(u);

        await new Promise((r) => setTimeout(r, WRITER_PAUSE_MS));
      }
    })();

    const start = performance.now();
    const { rows } = await migrator.runData(DATA);
    const seconds = (performance.now() - start) / 1000;
    writing = false;
    await writes;
    await writer.end();
    await target.close();
    return {
      batch,
      rows,
      seconds: Math.round(seconds * 100) / 100,
      rowsPerSecond: Math.round(rows / seconds),
      writerOps: waits.length,
      writerMaxWaitMs: Math.round(Math.max(...waits) * 10) / 10,
      writerP99Ms: Math.round(quantile(waits, 0.99) * 10) / 10,
    };
  });
}

const results = [];
for (const batch of BATCHES) results.push(await run(batch));
if (json) {
  process.stdout.write(`${JSON.stringify({ rows: ROWS, results }, null, 2)}\n`);
} else {
  console.log(
    `online back-fill on PostgreSQL, ${ROWS} rows, a writer inserting and updating every ${WRITER_PAUSE_MS} ms`,
  );
  for (const r of results) {
    console.log(
      `  batch ${String(r.batch).padStart(6)}: ${r.rows} rows in ${r.seconds} s = ${r.rowsPerSecond} rows/s;` +
        ` writer: ${r.writerOps} ops, longest wait ${r.writerMaxWaitMs} ms, p99 ${r.writerP99Ms} ms`,
    );
  }
}
