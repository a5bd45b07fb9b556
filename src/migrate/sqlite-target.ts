/**
 * SQLite as a migration target. DDL is transactional, so a schema file and its ledger row commit
 * together. `busy_timeout` bounds the wait for another connection's write lock. Backups use
 * SQLite's online backup API, so the product may keep writing while one is taken.
 */
import Database from "better-sqlite3";
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

const LEDGER = `CREATE TABLE IF NOT EXISTS ferry_migrations (
  release_version TEXT NOT NULL,
  phase TEXT NOT NULL,
  file TEXT NOT NULL,
  checksum TEXT NOT NULL,
  applied_at INTEGER NOT NULL,
  complete INTEGER NOT NULL,
  rows_migrated INTEGER NOT NULL DEFAULT 0,
  statements_done INTEGER NOT NULL DEFAULT 0,
  statement_checksums TEXT,
  PRIMARY KEY (release_version, phase, file)
)`;

const UPSERT = `INSERT INTO ferry_migrations (${LEDGER_COLUMNS})
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (release_version, phase, file) DO UPDATE SET
    checksum = excluded.checksum, applied_at = excluded.applied_at, complete = excluded.complete,
    rows_migrated = ferry_migrations.rows_migrated + excluded.rows_migrated,
    statements_done = excluded.statements_done, statement_checksums = excluded.statement_checksums`;

export class SqliteTarget implements MigrationTarget {
  readonly dialect = "sqlite";
  readonly transactionalDdl = true;
  readonly #db: Database.Database;

  constructor(readonly file: string) {
    this.#db = open(file);
  }

  async init(): Promise<void> {
    this.#db.exec(LEDGER);
    this.#db.exec(
      "CREATE TABLE IF NOT EXISTS ferry_migration_state (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    );
    // A ledger an older ferry made.
    if (this.#columnsOf("ferry_migrations").every((c) => c.name !== "statement_checksums")) {
      this.#db.exec("ALTER TABLE ferry_migrations ADD COLUMN statement_checksums TEXT");
    }
  }

  async isEmpty(): Promise<boolean> {
    const row = this.#db
      .prepare(
        `SELECT count(*) AS n FROM sqlite_master WHERE type IN ('table', 'view')
         AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT IN (${LEDGER_TABLES.map(() => "?").join(", ")})`,
      )
      .get(...LEDGER_TABLES) as { n: number };
    return row.n === 0;
  }

  /**
   * SQLite has no session locks. Its write transactions are serial, and a schema file checks the
   * ledger again inside its own transaction, so two migrators cannot apply one file twice.
   */
  async tryLock(): Promise<boolean> {
    return true;
  }

  async getState(name: string): Promise<string | undefined> {
    const row = this.#db.prepare("SELECT value FROM ferry_migration_state WHERE name = ?").get(name) as
      | { value: string }
      | undefined;
    return row?.value;
  }

  async setState(name: string, value: string): Promise<void> {
    this.#db
      .prepare(
        "INSERT INTO ferry_migration_state (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
      )
      .run(name, value);
  }

  async ledger(): Promise<LedgerEntry[]> {
    const rows = this.#db
      .prepare("SELECT * FROM ferry_migrations ORDER BY applied_at, release_version, phase, file")
      .all() as LedgerRow[];
    return rows.map(toLedgerEntry);
  }

  async applySchema(
    file: MigrationFile,
    statements: readonly string[],
    _from: number,
    lockTimeoutMs: number,
  ): Promise<boolean> {
    return this.#transaction(lockTimeoutMs, () => {
      // No session lock in SQLite: another migrator may have applied it since the ledger was read.
      const done = this.#db
        .prepare("SELECT complete FROM ferry_migrations WHERE release_version = ? AND phase = ? AND file = ?")
        .get(file.release, file.phase, file.name) as { complete: number } | undefined;
      if (done?.complete) return false;
      for (const [i, statement] of statements.entries()) {
        try {
          this.#db.exec(statement);
        } catch (err) {
          throw classify(err, () => new StatementError(file.name, i, statement, err));
        }
      }
      this.#db.prepare(UPSERT).run(...ledgerValues(file, true, 0, statements));
      return true;
    });
  }

  async dataBatch(file: MigrationFile, statement: string, lockTimeoutMs: number): Promise<number> {
    return this.#transaction(lockTimeoutMs, () => {
      let changed: number;
      try {
        changed = this.#db.prepare(statement).run().changes;
      } catch (err) {
        throw classify(err, () => new StatementError(file.name, 0, statement, err));
      }
      this.#db.prepare(UPSERT).run(...ledgerValues(file, false, changed, []));
      return changed;
    });
  }

  async completeData(file: MigrationFile): Promise<void> {
    this.#db.prepare(UPSERT).run(...ledgerValues(file, true, 0, []));
  }

  async purgeProblem(table: string, column: string): Promise<string | undefined> {
    checkIdentifier(table, "table");
    checkIdentifier(column, "column");
    const columns = this.#columnsOf(table);
    if (columns.length === 0) return `there is no table ${table}`;
    return columns.some((c) => c.name.toLowerCase() === column.toLowerCase())
      ? undefined
      : `${table} has no column ${column}`;
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
    // SQLite keeps times as text (`datetime()`'s "YYYY-MM-DD HH:MM:SS" UTC, which sorts in order) or as
    // Unix seconds in a numeric column; compare like with like, or every number is "before" any text.
    const type = this.#columnsOf(table)
      .find((c) => c.name.toLowerCase() === column.toLowerCase())
      ?.type.toUpperCase();
    if (type === undefined) throw new Error(`${table} has no column ${column}`);
    const cutoff = /INT|REAL|NUM|DOUB|FLOA/.test(type)
      ? "CAST(strftime('%s', 'now', ?) AS INTEGER)"
      : "strftime('%Y-%m-%d %H:%M:%S', 'now', ?)";
    return this.#transaction(lockTimeoutMs, () => {
      const sql = `DELETE FROM ${table} WHERE rowid IN (SELECT rowid FROM ${table} WHERE ${column} < ${cutoff} LIMIT ${batch})`;
      try {
        return this.#db.prepare(sql).run(`-${days} days`).changes;
      } catch (err) {
        throw classify(err, () => err as Error);
      }
    });
  }

  async backup(path: string): Promise<void> {
    await this.#db.backup(path);
  }

  /**
   * Copies the backup back with the same backup API, page by page under SQLite's own locks, so
   * connections that have the file open see the restored database rather than a file swapped
   * under them.
   */
  async restore(path: string): Promise<void> {
    const source = new Database(path, { readonly: true });
    try {
      await source.backup(this.file);
    } finally {
      source.close();
    }
  }

  async close(): Promise<void> {
    if (this.#db.open) this.#db.close();
  }

  /** `table`'s columns (`schema.table` too); none when there is no such table. */
  #columnsOf(table: string): { name: string; type: string }[] {
    const [schema, name] = table.includes(".") ? table.split(".") : ["main", table];
    return this.#db.prepare("SELECT name, type FROM pragma_table_info(?, ?)").all(name, schema) as {
      name: string;
      type: string;
    }[];
  }

  #transaction<T>(lockTimeoutMs: number, body: () => T): T {
    this.#db.pragma(`busy_timeout = ${Math.max(1, Math.round(lockTimeoutMs))}`);
    try {
      this.#db.exec("BEGIN IMMEDIATE");
    } catch (err) {
      throw classify(err, () => err as Error);
    }
    try {
      const result = body();
      this.#db.exec("COMMIT");
      return result;
    } catch (err) {
      if (this.#db.inTransaction) this.#db.exec("ROLLBACK");
      throw err;
    }
  }
}

function open(file: string): Database.Database {
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  return db;
}

function classify(err: unknown, otherwise: () => Error): Error {
  const code = (err as { code?: string }).code ?? "";
  if (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED")) {
    return new LockTimeoutError((err as Error).message, { cause: err });
  }
  return otherwise();
}
