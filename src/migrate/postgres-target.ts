/**
 * PostgreSQL as a migration target. DDL is transactional, so a schema file and its ledger row
 * commit together. `lock_timeout` bounds every wait for a lock, so a migration never queues behind
 * a long transaction with the live application's queries queued behind it.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import pg from "pg";
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

const run = promisify(execFile);
const LOCK_NOT_AVAILABLE = "55P03";

const LEDGER = `CREATE TABLE IF NOT EXISTS ferry_migrations (
  release_version TEXT NOT NULL,
  phase TEXT NOT NULL,
  file TEXT NOT NULL,
  checksum TEXT NOT NULL,
  applied_at BIGINT NOT NULL,
  complete BOOLEAN NOT NULL,
  rows_migrated BIGINT NOT NULL DEFAULT 0,
  statements_done INTEGER NOT NULL DEFAULT 0,
  statement_checksums TEXT,
  PRIMARY KEY (release_version, phase, file)
)`;

const STATE = "CREATE TABLE IF NOT EXISTS ferry_migration_state (name TEXT PRIMARY KEY, value TEXT NOT NULL)";

const UPSERT = `INSERT INTO ferry_migrations (${LEDGER_COLUMNS})
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
  ON CONFLICT (release_version, phase, file) DO UPDATE SET
    checksum = EXCLUDED.checksum, applied_at = EXCLUDED.applied_at, complete = EXCLUDED.complete,
    rows_migrated = ferry_migrations.rows_migrated + EXCLUDED.rows_migrated,
    statements_done = EXCLUDED.statements_done, statement_checksums = EXCLUDED.statement_checksums`;

/**
 * The product's own relations: tables, views, sequences, outside the system schemas, ferry's
 * ledger, a journal kept in this database (schema `ferry` or `ferry_*`) and what an extension
 * brought (PostGIS's spatial_ref_sys).
 */
const PRODUCT_RELATIONS = `SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
    AND s.nspname NOT IN ('pg_catalog', 'information_schema') AND s.nspname NOT LIKE 'pg\\_%'
    AND s.nspname <> 'ferry' AND s.nspname NOT LIKE 'ferry\\_%'
    AND c.relname <> ALL ($1::text[])
    AND NOT EXISTS (SELECT 1 FROM pg_depend d
      WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')`;

export class PostgresTarget implements MigrationTarget {
  readonly dialect = "postgres";
  readonly transactionalDdl = true;
  readonly #client: pg.Client;
  #connected: Promise<unknown> | undefined;

  constructor(readonly url: string) {
    this.#client = new pg.Client({ connectionString: url });
    // An idle client whose server goes away emits "error"; the next query reports it instead.
    this.#client.on("error", () => {});
  }

  async #db(): Promise<pg.Client> {
    this.#connected ??= this.#client.connect();
    await this.#connected;
    return this.#client;
  }

  async init(): Promise<void> {
    const db = await this.#db();
    await db.query(LEDGER);
    await db.query(STATE);
    // A ledger an older ferry made. Asked first: ALTER TABLE would wait for any migrator's open transaction.
    const { rows } = await db.query(
      `SELECT 1 FROM information_schema.columns
       WHERE table_schema = current_schema() AND table_name = 'ferry_migrations' AND column_name = 'statement_checksums'`,
    );
    if (rows.length === 0) await db.query("ALTER TABLE ferry_migrations ADD COLUMN statement_checksums TEXT");
  }

  async isEmpty(): Promise<boolean> {
    const { rows } = await (await this.#db()).query<{ n: number }>(PRODUCT_RELATIONS, [LEDGER_TABLES]);
    return rows[0]?.n === 0;
  }

  async tryLock(): Promise<boolean> {
    const { rows } = await (await this.#db()).query<{ locked: boolean }>(
      "SELECT pg_try_advisory_lock(hashtext('ferry_migrations')) AS locked",
    );
    return rows[0]?.locked === true;
  }

  async getState(name: string): Promise<string | undefined> {
    const { rows } = await (await this.#db()).query(
      "SELECT value FROM ferry_migration_state WHERE name = $1",
      [name],
    );
    return rows[0]?.value;
  }

  async setState(name: string, value: string): Promise<void> {
    await (await this.#db()).query(
      "INSERT INTO ferry_migration_state (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value",
      [name, value],
    );
  }

  async ledger(): Promise<LedgerEntry[]> {
    const { rows } = await (await this.#db()).query<LedgerRow>(
      "SELECT * FROM ferry_migrations ORDER BY applied_at, release_version, phase, file",
    );
    return rows.map(toLedgerEntry);
  }

  async applySchema(
    file: MigrationFile,
    statements: readonly string[],
    _from: number,
    lockTimeoutMs: number,
  ): Promise<boolean> {
    // The migrator holds the session's advisory lock: no other migrator can have run it meanwhile.
    await this.#transaction(lockTimeoutMs, async (db) => {
      for (const [i, statement] of statements.entries()) {
        try {
          await db.query(statement);
        } catch (err) {
          throw this.#classify(err, () => new StatementError(file.name, i, statement, err));
        }
      }
      await db.query(UPSERT, ledgerValues(file, true, 0, statements));
    });
    return true;
  }

  async dataBatch(file: MigrationFile, statement: string, lockTimeoutMs: number): Promise<number> {
    return this.#transaction(lockTimeoutMs, async (db) => {
      let changed: number;
      try {
        changed = (await db.query(statement)).rowCount ?? 0;
      } catch (err) {
        throw this.#classify(err, () => new StatementError(file.name, 0, statement, err));
      }
      await db.query(UPSERT, ledgerValues(file, false, changed, []));
      return changed;
    });
  }

  async completeData(file: MigrationFile): Promise<void> {
    await (await this.#db()).query(UPSERT, ledgerValues(file, true, 0, []));
  }

  /** Unquoted names, as the DELETE names them: found on the search path, folded to lower case. */
  async purgeProblem(table: string, column: string): Promise<string | undefined> {
    checkIdentifier(table, "table");
    checkIdentifier(column, "column");
    const { rows } = await (await this.#db()).query<{ found: boolean | null }>(
      `SELECT (SELECT true FROM pg_attribute
               WHERE attrelid = to_regclass($1) AND attname = lower($2) AND attnum > 0 AND NOT attisdropped) AS found
       WHERE to_regclass($1) IS NOT NULL`,
      [table, column],
    );
    if (rows.length === 0) return `there is no table ${table}`;
    return rows[0]?.found ? undefined : `${table} has no column ${column}`;
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
    return this.#transaction(lockTimeoutMs, async (db) => {
      // now() is the server's: a timestamp column compares in the session's time zone, as the product wrote it.
      const sql = `DELETE FROM ${table} WHERE ctid IN (SELECT ctid FROM ${table}
        WHERE ${column} < now() - make_interval(days => $1::int) LIMIT ${batch})`;
      try {
        return (await db.query(sql, [days])).rowCount ?? 0;
      } catch (err) {
        throw this.#classify(err, () => err as Error);
      }
    });
  }

  async backup(path: string): Promise<void> {
    await this.#tool("pg_dump", (url) => ["--format=custom", `--file=${path}`, url]);
  }

  /**
   * Empties the database, then loads the backup: `pg_restore --clean` would drop only what the
   * backup holds, and leave behind what the undone migrations created. pg_dump leaves the public
   * schema out, as always there; it is made again empty.
   */
  async restore(path: string): Promise<void> {
    const db = await this.#db();
    const { rows } = await db.query<{ nspname: string }>(
      `SELECT nspname FROM pg_namespace
       WHERE nspname NOT IN ('pg_catalog', 'information_schema') AND nspname NOT LIKE 'pg\\_%'`,
    );
    for (const { nspname } of rows) await db.query(`DROP SCHEMA "${nspname.replaceAll('"', '""')}" CASCADE`);
    await db.query("CREATE SCHEMA public");
    await this.#tool("pg_restore", (url) => ["--no-owner", "--exit-on-error", `--dbname=${url}`, path]);
  }

  /**
   * Runs a PostgreSQL tool. The password goes in its environment, never on its command line,
   * where every user of the machine could read it; a failure says what the tool said, not how it was called.
   */
  async #tool(name: string, args: (url: string) => string[]): Promise<void> {
    const url = new URL(this.url);
    // libpq takes a password from the userinfo or from ?password=; searchParams has it decoded already.
    const password = decodeURIComponent(url.password) || url.searchParams.get("password") || "";
    url.password = "";
    url.searchParams.delete("password");
    try {
      await run(name, args(url.toString()), {
        env: { ...process.env, ...(password ? { PGPASSWORD: password } : {}) },
      });
    } catch (err) {
      const said =
        String((err as { stderr?: string }).stderr ?? "").trim() ||
        `exit ${(err as { code?: unknown }).code}`;
      throw new Error(`${name} failed: ${said}`);
    }
  }

  async close(): Promise<void> {
    if (this.#connected) await this.#client.end().catch(() => {});
  }

  async #transaction<T>(lockTimeoutMs: number, body: (db: pg.Client) => Promise<T>): Promise<T> {
    const db = await this.#db();
    await db.query("BEGIN");
    try {
      await db.query(`SET LOCAL lock_timeout = '${Math.max(1, Math.round(lockTimeoutMs))}ms'`);
      const result = await body(db);
      await db.query("COMMIT");
      return result;
    } catch (err) {
      await db.query("ROLLBACK").catch(() => {});
      throw err;
    }
  }

  #classify(err: unknown, otherwise: () => Error): Error {
    if ((err as { code?: string }).code === LOCK_NOT_AVAILABLE) {
      return new LockTimeoutError((err as Error).message, { cause: err });
    }
    return otherwise();
  }
}
