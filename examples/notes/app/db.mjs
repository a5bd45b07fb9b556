// The notes database, SQLite or PostgreSQL, behind the few calls the programs make. Statements are
// written once with `?` placeholders; only the clock and the job claim differ between the two.
// Nothing here exits or logs: an error names what failed and the caller decides.
//
// NOTES_DB is a SQLite file, or a postgres:// URL. Drivers (better-sqlite3, pg) are found through
// NODE_PATH, because a release folder is copied away from any node_modules.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

/** Whether `target` names a PostgreSQL database rather than a SQLite file. */
export function isPostgres(target) {
  return /^postgres(ql)?:\/\//.test(target);
}

/** `target` fit for a log line: a URL's password is never printed. */
export function redact(target) {
  return target.replace(/^(\w+:\/\/[^:/@]+):[^@/]*@/, "$1:***@");
}

/**
 * @returns {Promise<{
 *   dialect: "sqlite" | "postgres",
 *   now: string,
 *   secondsAgo: string,
 *   skipLocked: string,
 *   get(sql: string, params?: unknown[]): Promise<any>,
 *   all(sql: string, params?: unknown[]): Promise<any[]>,
 *   run(sql: string, params?: unknown[]): Promise<number>,
 *   exec(sql: string): Promise<void>,
 *   columns(table: string): Promise<string[]>,
 *   busy(err: unknown): boolean,
 *   close(): Promise<void>,
 * }>}
 */
export async function openDb(target, { busyTimeoutMs = 5000 } = {}) {
  return isPostgres(target) ? openPostgres(target) : openSqlite(target, busyTimeoutMs);
}

function load(name) {
  try {
    return require(name);
  } catch (err) {
    throw new Error(
      `cannot load ${name} (${err.code ?? err.message}); set NODE_PATH to the node_modules folder that holds it`,
    );
  }
}

function openSqlite(file, busyTimeoutMs) {
  const Database = load("better-sqlite3");
  let db;
  try {
    // A missing file means a wrong NOTES_DB, not a new product: the schema comes from schema/*.sql.
    db = new Database(file, { fileMustExist: true });
  } catch (err) {
    throw new Error(`cannot open NOTES_DB=${file}: ${err.message}`);
  }
  // busy_timeout first: switching to WAL itself waits for the other processes' locks.
  db.pragma(`busy_timeout = ${busyTimeoutMs}`);
  db.pragma("journal_mode = WAL");
  // FULL: a write we acknowledge survives a power cut, not only a crash of this process.
  db.pragma("synchronous = FULL");
  const statements = new Map();
  const prepared = (sql) => {
    let statement = statements.get(sql);
    if (!statement) {
      statement = db.prepare(sql);
      statements.set(sql, statement);
    }
    return statement;
  };
  return {
    dialect: "sqlite",
    // Text that sorts in time order; `ferry db purge` compares it as text.
    now: "strftime('%Y-%m-%d %H:%M:%f', 'now')",
    secondsAgo: "strftime('%Y-%m-%d %H:%M:%f', 'now', '-' || ? || ' seconds')",
    // SQLite runs one writer at a time: a claim never meets a row another claim holds.
    skipLocked: "",
    get: async (sql, params = []) => prepared(sql).get(...params),
    all: async (sql, params = []) => prepared(sql).all(...params),
    run: async (sql, params = []) => prepared(sql).run(...params).changes,
    exec: async (sql) => void db.exec(sql),
    columns: async (table) =>
      db
        .prepare("SELECT name FROM pragma_table_info(?)")
        .all(table)
        .map((c) => c.name),
    // Busy past busy_timeout: nothing was committed, so the client may safely try again.
    busy: (err) => String(err?.code).startsWith("SQLITE_BUSY"),
    close: async () => db.close(),
  };
}

async function openPostgres(url) {
  const pg = load("pg");
  const pool = new pg.Pool({ connectionString: url, max: 4, connectionTimeoutMillis: 5000 });
  // An idle connection the server ends is replaced on next use; it must not end the process.
  pool.on("error", () => {});
  try {
    await pool.query("SELECT 1");
  } catch (err) {
    await pool.end();
    throw new Error(`cannot open NOTES_DB=${redact(url)}: ${err.message}`);
  }
  const numbered = (sql) => {
    let n = 0;
    return sql.replace(/\?/g, () => `$${++n}`);
  };
  const query = (sql, params) => pool.query(numbered(sql), params);
  return {
    dialect: "postgres",
    now: "clock_timestamp()",
    secondsAgo: "clock_timestamp() - make_interval(secs => ?)",
    // Two workers looking for the oldest queued job each get a different one, without waiting.
    skipLocked: " FOR UPDATE SKIP LOCKED",
    get: async (sql, params = []) => (await query(sql, params)).rows[0],
    all: async (sql, params = []) => (await query(sql, params)).rows,
    run: async (sql, params = []) => (await query(sql, params)).rowCount ?? 0,
    exec: async (sql) => void (await pool.query(sql)),
    columns: async (table) =>
      (
        await pool.query(
          "SELECT column_name AS name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1",
          [table],
        )
      ).rows.map((c) => c.name),
    // A serialization failure or a lock timeout changed nothing; the client may try again.
    busy: (err) => ["40001", "40P01", "55P03"].includes(err?.code),
    close: () => pool.end(),
  };
}
