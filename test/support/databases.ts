/**
 * Fresh, throw-away databases on this machine's real servers (PostgreSQL 127.0.0.1:5432, MariaDB
 * 127.0.0.1:3306) and in SQLite files, for the migration contract suite; with a plain connection
 * to look inside and to hold locks. Under CI a server that cannot be reached fails the tests;
 * elsewhere they are skipped with the reason.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { it } from "node:test";
import Database from "better-sqlite3";
import mysql from "mysql2/promise";
import pg from "pg";
import type { Dialect } from "../../src/migrate/migration-files.js";

export interface TestDatabase {
  readonly dialect: Dialect;
  readonly url: string;
  query(sql: string): Promise<Record<string, unknown>[]>;
  /** Opens another connection that holds a lock on `table` which ALTER TABLE must wait for; call the result to let go. */
  holdLock(table: string): Promise<() => Promise<void>>;
  /** Times a trivial read on another connection. */
  timeRead(table: string): Promise<number>;
  /** The columns of `table`, in order; none when there is no such table. */
  columns(table: string): Promise<string[]>;
  drop(): Promise<void>;
}

export const PG_ADMIN = "postgres://postgres@127.0.0.1:5432/test";
export const MYSQL_ADMIN = "mysql://root@127.0.0.1:3306/test";

/** Why the server cannot be used, or undefined when it can. */
export async function unavailable(dialect: Dialect): Promise<string | undefined> {
  try {
    if (dialect === "postgres") {
      const c = new pg.Client({ connectionString: PG_ADMIN, connectionTimeoutMillis: 3000 });
      await c.connect();
      await c.end();
    } else if (dialect === "mysql") {
      const c = await mysql.createConnection({ uri: MYSQL_ADMIN, connectTimeout: 3000 });
      await c.end();
    }
    return undefined;
  } catch (err) {
    return `${dialect} is not reachable here (${(err as Error).message})`;
  }
}

/**
 * Declares `suite` once for each dialect whose server can be reached here. One that cannot is
 * skipped with the reason, or, under CI (which must start it), declared as a failing test.
 * Await it at the top level: node's runner starts once a file's top level ends.
 */
export async function forEachDialect(
  dialects: readonly Dialect[],
  suite: (dialect: Dialect) => void,
): Promise<void> {
  const reasons = await Promise.all(dialects.map(unavailable));
  for (const [i, dialect] of dialects.entries()) {
    const why = reasons[i];
    if (why && process.env.CI !== "true") it.skip(`on ${dialect}: ${why}`);
    else if (why)
      it(`on ${dialect}`, () => {
        throw new Error(`${why}; CI must start it (.ci/run does)`);
      });
    else suite(dialect);
  }
}

export async function makeDatabase(dialect: Dialect): Promise<TestDatabase> {
  const name = `ferry_mig_${randomBytes(4).toString("hex")}`;
  if (dialect === "postgres") return postgres(name);
  if (dialect === "mysql") return mariadb(name);
  return sqlite();
}

async function postgres(name: string): Promise<TestDatabase> {
  const admin = new pg.Client({ connectionString: PG_ADMIN });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = `postgres://postgres@127.0.0.1:5432/${name}`;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return {
    dialect: "postgres",
    url,
    async query(sql) {
      return (await client.query(sql)).rows;
    },
    async holdLock(table) {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      await c.query("BEGIN");
      await c.query(`SELECT * FROM ${table} LIMIT 1`);
      return async () => {
        await c.query("COMMIT");
        await c.end();
      };
    },
    async timeRead(table) {
      const start = performance.now();
      await client.query(`SELECT count(*) FROM ${table}`);
      return performance.now() - start;
    },
    async columns(table) {
      const { rows } = await client.query(
        "SELECT column_name AS name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
        [table],
      );
      return rows.map((r) => String(r.name));
    },
    async drop() {
      await client.end();
      const a = new pg.Client({ connectionString: PG_ADMIN });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    },
  };
}

async function mariadb(name: string): Promise<TestDatabase> {
  const admin = await mysql.createConnection({ uri: MYSQL_ADMIN });
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = `mysql://root@127.0.0.1:3306/${name}`;
  const c = await mysql.createConnection({ uri: url });
  return {
    dialect: "mysql",
    url,
    async query(sql) {
      const [rows] = await c.query(sql);
      return Array.isArray(rows) ? (rows as Record<string, unknown>[]) : [];
    },
    async holdLock(table) {
      const h = await mysql.createConnection({ uri: url });
      await h.query("START TRANSACTION");
      await h.query(`SELECT * FROM ${table} LIMIT 1`);
      return async () => {
        await h.query("COMMIT");
        await h.end();
      };
    },
    async timeRead(table) {
      const start = performance.now();
      await c.query(`SELECT count(*) FROM ${table}`);
      return performance.now() - start;
    },
    async columns(table) {
      const [rows] = await c.query<mysql.RowDataPacket[]>(
        "SELECT column_name AS name FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ? ORDER BY ordinal_position",
        [table],
      );
      return rows.map((r) => String(r.name));
    },
    async drop() {
      await c.end();
      const a = await mysql.createConnection({ uri: MYSQL_ADMIN });
      await a.query(`DROP DATABASE IF EXISTS ${name}`);
      await a.end();
    },
  };
}

async function sqlite(): Promise<TestDatabase> {
  const dir = mkdtempSync(join(tmpdir(), "ferry-mig-"));
  const file = join(dir, "product.db");
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  return {
    dialect: "sqlite",
    url: `sqlite:${file}`,
    async query(sql) {
      const statement = db.prepare(sql);
      if (statement.reader) return statement.all() as Record<string, unknown>[];
      statement.run();
      return [];
    },
    async holdLock() {
      const h = new Database(file);
      h.exec("BEGIN IMMEDIATE");
      return async () => {
        h.exec("COMMIT");
        h.close();
      };
    },
    async timeRead(table) {
      const start = performance.now();
      db.prepare(`SELECT count(*) FROM ${table}`).get();
      return performance.now() - start;
    },
    async columns(table) {
      return (db.prepare("SELECT name FROM pragma_table_info(?)").all(table) as { name: string }[]).map(
        (r) => r.name,
      );
    },
    async drop() {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
