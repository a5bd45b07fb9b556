/**
 * SQLite as a migration target. DDL is transactional, so a schema file and its ledger row commit
 * together. `busy_timeout` bounds the wait for another connection's write lock. Backups use
 * SQLite's online backup API, so the product may keep writing while one is taken.
 */
import Database from "better-sqlite3";
import type { MigrationFile } from "./migration-files.js";
import {
  checkIdentifier,
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
  PRIMARY KEY (release_version, phase, file)
)`;

const UPSERT = `INSERT INTO ferry_migrations
  (release_version, phase, file, checksum, applied_at, complete, rows_migrated, statements_done)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (release_version, phase, file) DO UPDATE SET
    checksum = excluded.checksum, applied_at = excluded.applied_at, complete = excluded.complete,
    rows_migrated = ferry_migrations.rows_migrated + excluded.rows_migrated,
    statements_done = excluded.statements_done`;

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
  ): Promise<void> {
    this.#transaction(lockTimeoutMs, () => {
      const done = this.#db
        .prepare("SELECT complete FROM ferry_migrations WHERE release_version = ? AND phase = ? AND file = ?")
        .get(file.release, file.phase, file.name) as { complete: number } | undefined;
      if (done?.complete) return;
      for (const [i, statement] of statements.entries()) {
        try {
          this.#db.exec(statement);
        } catch (err) {
          throw classify(err, () => new StatementError(file.name, i, statement, err));
        }
      }
      this.#db.prepare(UPSERT).run(...ledgerValues(file, true, 0, statements.length));
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
      this.#db.prepare(UPSERT).run(...ledgerValues(file, false, changed, 1));
      return changed;
    });
  }

  async completeData(file: MigrationFile): Promise<void> {
    this.#db.prepare(UPSERT).run(...ledgerValues(file, true, 0, 1));
  }

  async purgeBatch(
    table: string,
    column: string,
    before: Date,
    batch: number,
    lockTimeoutMs: number,
  ): Promise<number> {
    checkIdentifier(table, "table");
    checkIdentifier(column, "column");
    // SQLite keeps times as text (`datetime()`'s "YYYY-MM-DD HH:MM:SS", which sorts in order) or as
    // Unix seconds in a numeric column; compare like with like, or every number is "before" any text.
    const info = this.#db.prepare(`PRAGMA table_info(${table})`).all() as { name: string; type: string }[];
    const type = info.find((c) => c.name === column)?.type.toUpperCase();
    if (type === undefined) throw new Error(`${table} has no column ${column}`);
    const numeric = /INT|REAL|NUM|DOUB|FLOA/.test(type);
    const cutoff = numeric
      ? Math.floor(before.getTime() / 1000)
      : before.toISOString().replace("T", " ").slice(0, 19);
    return this.#transaction(lockTimeoutMs, () => {
      const sql = `DELETE FROM ${table} WHERE rowid IN (SELECT rowid FROM ${table} WHERE ${column} < ? LIMIT ${batch})`;
      try {
        return this.#db.prepare(sql).run(cutoff).changes;
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
