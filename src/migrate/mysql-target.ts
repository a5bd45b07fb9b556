/**
 * MySQL and MariaDB as a migration target. Every DDL statement commits by itself, so a schema
 * file cannot commit with its ledger row: progress is recorded after each statement instead, a
 * failure names the file and the statement, and a re-run starts after the last one that ran.
 * `lock_wait_timeout` (whole seconds) bounds waits for metadata locks, and
 * `innodb_lock_wait_timeout` for row locks.
 */
import { spawn } from "node:child_process";
import { createReadStream, createWriteStream, existsSync } from "node:fs";
import { pipeline } from "node:stream/promises";
import mysql from "mysql2/promise";
import type { MigrationFile } from "./migration-files.js";
import {
  checkIdentifier,
  LEDGER_COLUMNS,
  LEDGER_TABLES,
  type LedgerEntry,
  type LedgerRow,
  LockTimeoutError,
  ledgerValues,
  type MigrationTarget,
  StatementError,
  toLedgerEntry,
} from "./migration-target.js";

const LOCK_WAIT_TIMEOUT = 1205;

const LEDGER = `CREATE TABLE IF NOT EXISTS ferry_migrations (
  release_version VARCHAR(64) NOT NULL,
  phase VARCHAR(16) NOT NULL,
  file VARCHAR(255) NOT NULL,
  checksum CHAR(64) NOT NULL,
  applied_at BIGINT NOT NULL,
  complete BOOLEAN NOT NULL,
  rows_migrated BIGINT NOT NULL DEFAULT 0,
  statements_done INT NOT NULL DEFAULT 0,
  statement_checksums TEXT NULL,
  PRIMARY KEY (release_version, phase, file)
) ENGINE=InnoDB`;

const STATE =
  "CREATE TABLE IF NOT EXISTS ferry_migration_state (name VARCHAR(64) PRIMARY KEY, value VARCHAR(255) NOT NULL) ENGINE=InnoDB";

const UPSERT = `INSERT INTO ferry_migrations (${LEDGER_COLUMNS})
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON DUPLICATE KEY UPDATE checksum = VALUES(checksum), applied_at = VALUES(applied_at),
    complete = VALUES(complete), rows_migrated = rows_migrated + VALUES(rows_migrated),
    statements_done = VALUES(statements_done), statement_checksums = VALUES(statement_checksums)`;

/** `schema.table` or `table` (in the connection's database), for information_schema. */
function schemaAndTable(name: string): [string | null, string] {
  const dot = name.indexOf(".");
  return dot < 0 ? [null, name] : [name.slice(0, dot), name.slice(dot + 1)];
}

export class MysqlTarget implements MigrationTarget {
  readonly dialect = "mysql";
  readonly transactionalDdl = false;
  #connection: Promise<mysql.Connection> | undefined;

  constructor(readonly url: string) {}

  #db(): Promise<mysql.Connection> {
    this.#connection ??= mysql.createConnection({ uri: this.url, multipleStatements: false });
    return this.#connection;
  }

  async init(): Promise<void> {
    const db = await this.#db();
    await db.query(LEDGER);
    await db.query(STATE);
    // A ledger an older ferry made. Asked first: ALTER TABLE would wait for any migrator's open transaction.
    const [columns] = await db.query<mysql.RowDataPacket[]>(
      `SELECT 1 FROM information_schema.columns
       WHERE table_schema = DATABASE() AND table_name = 'ferry_migrations' AND column_name = 'statement_checksums'`,
    );
    if (columns.length === 0) {
      await db.query("ALTER TABLE ferry_migrations ADD COLUMN statement_checksums TEXT NULL");
    }
  }

  async isEmpty(): Promise<boolean> {
    const [rows] = await (await this.#db()).query<mysql.RowDataPacket[]>(
      "SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name NOT IN (?)",
      [LEDGER_TABLES],
    );
    return Number(rows[0]?.n) === 0;
  }

  async tryLock(): Promise<boolean> {
    const [rows] = await (await this.#db()).query<mysql.RowDataPacket[]>(
      "SELECT GET_LOCK(CONCAT(DATABASE(), '.ferry_migrations'), 0) AS locked",
    );
    return Number(rows[0]?.locked) === 1;
  }

  async getState(name: string): Promise<string | undefined> {
    const [rows] = await (await this.#db()).execute<mysql.RowDataPacket[]>(
      "SELECT value FROM ferry_migration_state WHERE name = ?",
      [name],
    );
    return rows[0]?.value;
  }

  async setState(name: string, value: string): Promise<void> {
    await (await this.#db()).execute(
      "INSERT INTO ferry_migration_state (name, value) VALUES (?, ?) ON DUPLICATE KEY UPDATE value = VALUES(value)",
      [name, value],
    );
  }

  async ledger(): Promise<LedgerEntry[]> {
    const [rows] = await (await this.#db()).query<mysql.RowDataPacket[]>(
      "SELECT * FROM ferry_migrations ORDER BY applied_at, release_version, phase, file",
    );
    return (rows as unknown as LedgerRow[]).map(toLedgerEntry);
  }

  async applySchema(
    file: MigrationFile,
    statements: readonly string[],
    from: number,
    lockTimeoutMs: number,
  ): Promise<boolean> {
    // The migrator holds the session's GET_LOCK: no other migrator can have run it meanwhile.
    const db = await this.#db();
    await this.#lockTimeout(db, lockTimeoutMs);
    for (let i = from; i < statements.length; i++) {
      const statement = statements[i] as string;
      try {
        await db.query(statement);
      } catch (err) {
        throw classify(err, () => new StatementError(file.name, i, statement, err));
      }
      // Which statements ran, each by its checksum: a re-run may go on after them only if they are unchanged.
      const ran = statements.slice(0, i + 1);
      await db.execute(UPSERT, ledgerValues(file, ran.length === statements.length, 0, ran));
    }
    // Nothing left to run (an empty file, or one mended by taking away what failed): it is complete.
    if (from >= statements.length) {
      await db.execute(UPSERT, ledgerValues(file, true, 0, statements));
    }
    return true;
  }

  async dataBatch(file: MigrationFile, statement: string, lockTimeoutMs: number): Promise<number> {
    const db = await this.#db();
    await this.#lockTimeout(db, lockTimeoutMs);
    await db.beginTransaction();
    try {
      let changed: number;
      try {
        const [result] = await db.query<mysql.ResultSetHeader>(statement);
        changed = result.affectedRows;
      } catch (err) {
        throw classify(err, () => new StatementError(file.name, 0, statement, err));
      }
      await db.execute(UPSERT, ledgerValues(file, false, changed, []));
      await db.commit();
      return changed;
    } catch (err) {
      await db.rollback().catch(() => {});
      throw err;
    }
  }

  async completeData(file: MigrationFile): Promise<void> {
    await (await this.#db()).execute(UPSERT, ledgerValues(file, true, 0, []));
  }

  async purgeProblem(table: string, column: string): Promise<string | undefined> {
    checkIdentifier(table, "table");
    checkIdentifier(column, "column");
    const [schema, name] = schemaAndTable(table);
    const [rows] = await (await this.#db()).query<mysql.RowDataPacket[]>(
      `SELECT (SELECT count(*) FROM information_schema.columns c
               WHERE c.table_schema = t.table_schema AND c.table_name = t.table_name AND LOWER(c.column_name) = LOWER(?)) AS found
       FROM information_schema.tables t WHERE t.table_schema = COALESCE(?, DATABASE()) AND t.table_name = ?`,
      [column, schema, name],
    );
    if (rows.length === 0) return `there is no table ${table}`;
    return Number(rows[0]?.found) > 0 ? undefined : `${table} has no column ${column}`;
  }

  async purgeBatch(
    table: string,
    column: string,
    days: number,
    batch: number,
    lockTimeoutMs: number,
  ): Promise<number> {
    checkIdentifier(table, "table");
    checkIdentifier(column, "column");
    const db = await this.#db();
    await this.#lockTimeout(db, lockTimeoutMs);
    try {
      // NOW() in the session's time zone, as the product's DATETIME and TIMESTAMP values read.
      const [result] = await db.query<mysql.ResultSetHeader>(
        `DELETE FROM ${table} WHERE ${column} < NOW() - INTERVAL ? DAY LIMIT ${batch}`,
        [days],
      );
      return result.affectedRows;
    } catch (err) {
      throw classify(err, () => err as Error);
    }
  }

  async backup(path: string): Promise<void> {
    const { args, env } = this.#clientArgs();
    await pipe(dumpTool(), ["--single-transaction", "--routines", "--triggers", ...args], env, { out: path });
  }

  /** Empties the database, then loads the backup: what the undone migrations created must go too. */
  async restore(path: string): Promise<void> {
    const db = await this.#db();
    const [tables] = await db.query<mysql.RowDataPacket[]>(
      "SELECT table_name AS name, table_type AS type FROM information_schema.tables WHERE table_schema = DATABASE()",
    );
    await db.query("SET FOREIGN_KEY_CHECKS = 0");
    try {
      for (const t of tables) {
        await db.query(
          `DROP ${t.type === "VIEW" ? "VIEW" : "TABLE"} \`${String(t.name).replaceAll("`", "``")}\``,
        );
      }
    } finally {
      await db.query("SET FOREIGN_KEY_CHECKS = 1");
    }
    const { args, env } = this.#clientArgs();
    await pipe(clientTool(), args, env, { in: path });
  }

  async close(): Promise<void> {
    if (this.#connection) await (await this.#connection).end().catch(() => {});
  }

  async #lockTimeout(db: mysql.Connection, ms: number): Promise<void> {
    const seconds = Math.max(1, Math.ceil(ms / 1000));
    await db.query(
      `SET SESSION lock_wait_timeout = ${seconds}, SESSION innodb_lock_wait_timeout = ${seconds}`,
    );
  }

  /** The command-line tools' arguments; the password goes in the environment, not the process list. */
  #clientArgs(): { args: string[]; env: NodeJS.ProcessEnv } {
    const u = new URL(this.url);
    const args = [`--host=${u.hostname || "127.0.0.1"}`, `--port=${u.port || "3306"}`];
    if (u.username) args.push(`--user=${decodeURIComponent(u.username)}`);
    args.push(decodeURIComponent(u.pathname.slice(1)));
    return {
      args,
      env: { ...process.env, ...(u.password ? { MYSQL_PWD: decodeURIComponent(u.password) } : {}) },
    };
  }
}

function classify(err: unknown, otherwise: () => Error): Error {
  if ((err as { errno?: number }).errno === LOCK_WAIT_TIMEOUT)
    return new LockTimeoutError((err as Error).message, { cause: err });
  return otherwise();
}

/** MariaDB's names first; MySQL's where MariaDB's tools are not installed. */
function dumpTool(): string {
  return existsSync("/usr/bin/mariadb-dump") ? "mariadb-dump" : "mysqldump";
}

function clientTool(): string {
  return existsSync("/usr/bin/mariadb") ? "mariadb" : "mysql";
}

/** Runs a tool with a file as its standard input or output; rejects with its stderr on failure. */
async function pipe(
  tool: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  files: { in?: string; out?: string },
): Promise<void> {
  const child = spawn(tool, args, {
    env,
    stdio: [files.in ? "pipe" : "ignore", files.out ? "pipe" : "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (d) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", resolve);
  });
  const streams: Promise<void>[] = [];
  if (files.out && child.stdout) streams.push(pipeline(child.stdout, createWriteStream(files.out)));
  if (files.in && child.stdin) streams.push(pipeline(createReadStream(files.in), child.stdin));
  const [code] = await Promise.all([exited, ...streams]);
  if (code !== 0) throw new Error(`${tool} exited ${code}: ${stderr.trim()}`);
}
