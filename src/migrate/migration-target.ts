/**
 * The migration target contract: the little the migrator needs from the product's database. One
 * implementation per database (PostgreSQL, MySQL/MariaDB, SQLite); all pass
 * test/contract/migration-target.contract.ts. The migrator never imports a database driver.
 */
import { createHash } from "node:crypto";
import { UserError } from "../errors.js";
import type { Dialect, MigrationFile, MigrationPhase } from "./migration-files.js";

/** One row of the ledger table (`ferry_migrations`) in the product's database. */
export interface LedgerEntry {
  readonly release: string;
  readonly phase: MigrationPhase;
  readonly file: string;
  readonly checksum: string;
  /** Epoch ms of the last change to this row. */
  readonly appliedAt: number;
  /** A schema file: all its statements ran. A data migration: a batch changed no row. */
  readonly complete: boolean;
  /** Rows a data migration has changed so far. */
  readonly rows: number;
  /** Statements of a schema file that ran (MySQL records progress as it goes). */
  readonly statementsDone: number;
  /**
   * A checksum of each statement that ran, in order (`statementChecksum`): a file that stopped
   * part-way may be mended after its last statement that ran, but not before it. Empty in rows an
   * older ferry wrote.
   */
  readonly statementChecksums: readonly string[];
}

export interface MigrationTarget {
  readonly dialect: Dialect;
  /** Whether DDL commits with the transaction around it: PostgreSQL and SQLite yes, MySQL no. */
  readonly transactionalDdl: boolean;

  /** Creates the ledger tables if missing, and adds the columns a newer ferry records. */
  init(): Promise<void>;
  /**
   * Whether the database holds nothing but ferry's own tables: no table, view or sequence of the
   * product's. Such a database starts from nothing; one that holds a schema and no ledger gets a
   * baseline (DESIGN.md "Database migrations", Flyway's `baselineOnMigrate`).
   */
  isEmpty(): Promise<boolean>;
  ledger(): Promise<LedgerEntry[]>;
  /**
   * Takes this database's migration lock for the session, without waiting; false when another
   * session holds it. Released when the connection closes, so a migrator that died lets go.
   */
  tryLock(): Promise<boolean>;
  /** Named values the migrator keeps beside the ledger (`ferry_migration_state`). */
  getState(name: string): Promise<string | undefined>;
  setState(name: string, value: string): Promise<void>;

  /**
   * Runs `statements` of a schema file from number `from` on, and records the file complete.
   * Where DDL is transactional, the statements and the ledger row commit together (`from` is
   * then 0); elsewhere each statement's progress is recorded right after it. Each statement waits
   * at most `lockTimeoutMs` for a lock: then it throws LockTimeoutError. A failing statement
   * throws StatementError. False when it found the file complete already (another migrator was
   * first) and ran nothing.
   */
  applySchema(
    file: MigrationFile,
    statements: readonly string[],
    from: number,
    lockTimeoutMs: number,
  ): Promise<boolean>;

  /** One batch of a data migration and its ledger row, in one transaction; returns the rows it changed. */
  dataBatch(file: MigrationFile, statement: string, lockTimeoutMs: number): Promise<number>;
  /** Records that a data migration has nothing left to do. */
  completeData(file: MigrationFile): Promise<void>;

  /**
   * Why `table` and `column` cannot be purged (there is no such table, or no such column in it),
   * or undefined when they can. The names are plain identifiers (checkIdentifier).
   */
  purgeProblem(table: string, column: string): Promise<string | undefined>;
  /**
   * Deletes at most `batch` rows of `table` whose `column` is more than `days` days old, on the
   * database's own clock: that is the clock the product wrote the times with, and a cutoff sent
   * from ferry's clock would move with ferry's time zone. Returns how many it deleted.
   */
  purgeBatch(
    table: string,
    column: string,
    days: number,
    batch: number,
    lockTimeoutMs: number,
  ): Promise<number>;

  /** A full copy with the database's own tool, into `path`; and back. */
  backup(path: string): Promise<void>;
  restore(path: string): Promise<void>;

  close(): Promise<void>;
}

/** A ledger row as each database hands it back: numbers may come as strings, booleans as 0 and 1. */
export interface LedgerRow {
  readonly release_version: string;
  readonly phase: MigrationPhase;
  readonly file: string;
  readonly checksum: string;
  readonly applied_at: number | string;
  readonly complete: boolean | number;
  readonly rows_migrated: number | string;
  readonly statements_done: number | string;
  readonly statement_checksums: string | null;
}

export function toLedgerEntry(r: LedgerRow): LedgerEntry {
  return {
    release: r.release_version,
    phase: r.phase,
    file: r.file,
    checksum: r.checksum,
    appliedAt: Number(r.applied_at),
    complete: Boolean(r.complete),
    rows: Number(r.rows_migrated),
    statementsDone: Number(r.statements_done),
    statementChecksums: r.statement_checksums ? r.statement_checksums.split(",") : [],
  };
}

/** A statement's checksum in the ledger: the first 16 hex digits of the sha256 of its text. */
export function statementChecksum(statement: string): string {
  return createHash("sha256").update(statement).digest("hex").slice(0, 16);
}

/**
 * The values of a ledger upsert, in the column order every target's statement uses: release,
 * phase, file, checksum, applied at, complete (1 or 0, which all three take), rows, statements
 * done, and the checksums of those statements (`ran`, the statements that ran, in order).
 */
export function ledgerValues(
  file: MigrationFile,
  complete: boolean,
  rows: number,
  ran: readonly string[],
): (string | number)[] {
  return [
    file.release,
    file.phase,
    file.name,
    file.checksum,
    Date.now(),
    complete ? 1 : 0,
    rows,
    ran.length,
    ran.map(statementChecksum).join(","),
  ];
}

/** The ledger's columns, in the order of ledgerValues. */
export const LEDGER_COLUMNS =
  "release_version, phase, file, checksum, applied_at, complete, rows_migrated, statements_done, statement_checksums";

/** A statement could not get its locks in time; the migrator retries it later. */
export class LockTimeoutError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "LockTimeoutError";
  }
}

/** A statement of a migration failed: which file, which statement, and why. */
export class StatementError extends Error {
  constructor(
    readonly file: string,
    readonly index: number,
    readonly statement: string,
    cause: unknown,
  ) {
    super(
      `${file}, statement ${index + 1} (${abbreviate(statement)}): ${(cause as Error)?.message ?? String(cause)}`,
      { cause },
    );
    this.name = "StatementError";
  }
}

function abbreviate(sql: string): string {
  const one = sql.replace(/\s+/g, " ").trim();
  return one.length > 80 ? `${one.slice(0, 77)}…` : one;
}

/**
 * An identifier the user gave (a table, a column): letters, digits, _ and at most one dot. It is
 * put into SQL as it is, so anything else is bad input (exit 2), refused before any database is opened.
 */
export function checkIdentifier(name: string, what: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/.test(name)) {
    throw new UserError(`${what}: "${name}" is not a plain identifier (letters, digits, _, one dot)`);
  }
  return name;
}

/** Ferry's own tables in the product's database, which do not make it hold a schema. */
export const LEDGER_TABLES = ["ferry_migrations", "ferry_migration_state"] as const;
