/**
 * The SQLite state store, ferry's default journal: one file beside the cluster file.
 *
 * Durability comes from WAL with `synchronous = FULL` (each commit syncs the log) and every write
 * promise resolving only after its commit. Step and run updates that arrive in the same tick are
 * committed together (group commit), since the sync, not the SQL, is what a write costs. Several
 * processes may share the file: writes take the write lock up front (BEGIN IMMEDIATE) and wait up
 * to the busy timeout for each other.
 *
 * A damaged file (pages overwritten, not a database) is reported as a DamagedStoreError naming it
 * whenever SQLite notices, and it is looked for with `PRAGMA quick_check` before ferry trusts the
 * file: a damaged page that no query happens to read would otherwise pass unseen until a later
 * command needs it. The check reads the whole file (about 350 MB/s, bench/state-store.bench.ts), so
 * it runs on open for a journal of up to 32 MiB (a hundred runs of a few hundred hosts: tens of
 * milliseconds), and for a bigger one before the first write only: a run, a resume or a pause
 * pays it once, `status` and `history` do not.
 */
import { mkdirSync, statSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { DamagedStoreError } from "./damaged-store-error.js";
import { LockLostError } from "./lock-lost-error.js";
import {
  type DeliveryRow,
  type LockRow,
  type MeasurementRow,
  type NoteRow,
  type NoticeRow,
  type PendingRow,
  type RunRow,
  runColumnValue,
  STEP_ROW_COLUMNS,
  type StepRow,
  stepColumnValue,
  toDelivery,
  toHolder,
  toMeasurement,
  toNote,
  toNotices,
  toRecord,
  toStep,
  toSummary,
} from "./sql-rows.js";
import {
  type Delivery,
  type DeliveryPatch,
  FINISHED_STATUSES,
  type LockClaim,
  type LockHolder,
  type LockResult,
  type Measurement,
  type NewNotice,
  type NewRun,
  type NoticeRecord,
  type RunNote,
  type RunPatch,
  type RunRecord,
  type RunSummary,
  type StateStore,
  type StepPatch,
  type StepRecord,
} from "./state-store.js";

export interface SqliteStoreOptions {
  /** How long a write waits for another process's transaction; default 10 s. */
  readonly busyTimeoutMs?: number;
  /** Files up to this size are checked for damage on open, bigger ones before their first write; default 32 MiB. */
  readonly checkOnOpenBytes?: number;
}

/** Each entry takes the schema from its index to its index + 1; `PRAGMA user_version` says where a file is. */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    cluster TEXT NOT NULL,
    from_version TEXT NOT NULL,
    to_version TEXT NOT NULL,
    path TEXT NOT NULL,
    status TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    ended_at INTEGER,
    started_by TEXT NOT NULL,
    error TEXT,
    plan TEXT NOT NULL,
    files TEXT NOT NULL
  );
  CREATE INDEX runs_cluster_started ON runs (cluster, started_at);
  CREATE TABLE steps (
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    id TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    started_at INTEGER,
    ended_at INTEGER,
    exit_code INTEGER,
    output TEXT,
    error TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, id)
  );
  CREATE UNIQUE INDEX steps_run_seq ON steps (run_id, seq);
  -- The run lock: always exactly one row; token IS NULL means nobody holds it.
  CREATE TABLE lock (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    host TEXT,
    pid INTEGER,
    token TEXT,
    run_id TEXT,
    acquired_at INTEGER,
    lease_until INTEGER
  );
  INSERT INTO lock (id) VALUES (1);
  `,
  // A pause requested by `ferry pause` or the API (who asked), for the executor to see.
  "ALTER TABLE runs ADD COLUMN pause_requested_by TEXT;",
  // The release warnings accepted to start the run (JSON), so that resume does not ask again.
  "ALTER TABLE runs ADD COLUMN accepted_warnings TEXT;",
  // The notification outbox: every change of a run's condition, and for one that sends an event,
  // a delivery per receiver, pending until the receiver has answered 2xx.
  `
  CREATE TABLE notices (
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    condition TEXT NOT NULL,
    event TEXT,
    body TEXT,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (run_id, seq)
  );
  CREATE TABLE deliveries (
    key TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    receiver TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at INTEGER NOT NULL,
    last_error TEXT,
    delivered_at INTEGER,
    FOREIGN KEY (run_id, seq) REFERENCES notices (run_id, seq) ON DELETE CASCADE
  );
  CREATE INDEX deliveries_notice ON deliveries (run_id, seq);
  CREATE INDEX deliveries_pending ON deliveries (run_id) WHERE state = 'pending';
  `,
  // What a step saw that later steps follow (a roles step's active host), as JSON.
  "ALTER TABLE steps ADD COLUMN observed TEXT;",
  // What was done to a run besides its steps, for its history (ferry host undo), in rowid order.
  `
  CREATE TABLE run_notes (
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    at INTEGER NOT NULL,
    done_by TEXT NOT NULL,
    kind TEXT NOT NULL,
    message TEXT NOT NULL
  );
  CREATE INDEX run_notes_run ON run_notes (run_id);
  `,
  // What a run waits for (JSON: for, since, detail, step), and the step a note answers (an approval).
  `
  ALTER TABLE runs ADD COLUMN waiting TEXT;
  ALTER TABLE run_notes ADD COLUMN step_id TEXT;
  `,
  // Each measurement of a metric gate: its value, when, and its verdict, in rowid order.
  `
  CREATE TABLE gate_measurements (
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    step_id TEXT NOT NULL,
    gate TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    at INTEGER NOT NULL,
    value REAL,
    verdict TEXT NOT NULL,
    detail TEXT NOT NULL
  );
  CREATE INDEX gate_measurements_run ON gate_measurements (run_id);
  `,
  "ALTER TABLE steps ADD COLUMN undone_at INTEGER;",
  // Fleet runs and their cluster runs (src/fleet); on SQLite, for one worker on this machine only.
  `
  CREATE TABLE fleet_runs (
    id TEXT PRIMARY KEY,
    ord INTEGER NOT NULL,
    fleet TEXT NOT NULL,
    target TEXT NOT NULL,
    strategy TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    ended_at INTEGER
  );
  CREATE INDEX fleet_runs_fleet ON fleet_runs (fleet, ord DESC);
  CREATE TABLE fleet_cluster_runs (
    fleet_run_id TEXT NOT NULL REFERENCES fleet_runs (id) ON DELETE CASCADE,
    cluster TEXT NOT NULL,
    ord INTEGER NOT NULL,
    grp TEXT NOT NULL,
    grp_ord INTEGER NOT NULL,
    state TEXT NOT NULL,
    version TEXT,
    worker TEXT,
    lease_until INTEGER,
    claimed_at INTEGER,
    started_at INTEGER,
    ended_at INTEGER,
    run_id TEXT,
    error TEXT,
    takeovers INTEGER NOT NULL DEFAULT 0,
    file TEXT NOT NULL,
    cluster_text TEXT NOT NULL,
    catalog_file TEXT NOT NULL,
    catalog_text TEXT NOT NULL,
    PRIMARY KEY (fleet_run_id, cluster)
  );
  CREATE INDEX fleet_cluster_runs_order ON fleet_cluster_runs (fleet_run_id, state, grp_ord, ord);
  `,
];

const STEP_COLUMNS = {
  state: "state",
  startedAt: "started_at",
  endedAt: "ended_at",
  exitCode: "exit_code",
  output: "output",
  error: "error",
  attempts: "attempts",
  observed: "observed",
  undoneAt: "undone_at",
} as const satisfies Record<keyof StepPatch, string>;

const RUN_COLUMNS = {
  status: "status",
  endedAt: "ended_at",
  error: "error",
  waiting: "waiting",
} as const satisfies Record<keyof RunPatch, string>;

const DELIVERY_COLUMNS = {
  state: "state",
  attempts: "attempts",
  nextAt: "next_at",
  lastError: "last_error",
  deliveredAt: "delivered_at",
} as const satisfies Record<keyof DeliveryPatch, string>;

const SUMMARY_COLUMNS =
  "id, cluster, from_version, to_version, path, status, started_at, ended_at, started_by, error, accepted_warnings, waiting";
const NEWEST_FIRST = "ORDER BY started_at DESC, rowid DESC";

/** A write waiting for the next group commit. */
interface QueuedWrite {
  /** Runs inside the batch's transaction; throws if this write cannot apply. */
  apply(): void;
  /** The lock token the write is fenced with: it applies only while that token holds the lock. */
  readonly fence: string | undefined;
  resolve(): void;
  reject(err: unknown): void;
}

export class SqliteStore implements StateStore {
  readonly file: string;
  private readonly busyTimeoutMs: number;
  private readonly checkOnOpenBytes: number;
  private database: Database.Database | undefined;
  /** Whether quick_check found this file whole since it was opened. */
  private checked = false;
  private queue: QueuedWrite[] = [];
  private flushScheduled = false;
  private readonly statements = new Map<string, Database.Statement>();

  constructor(file: string, options: SqliteStoreOptions = {}) {
    this.file = file;
    this.busyTimeoutMs = options.busyTimeoutMs ?? 10_000;
    this.checkOnOpenBytes = options.checkOnOpenBytes ?? 32 * 1024 * 1024;
  }

  async init(): Promise<void> {
    if (this.database) return;
    mkdirSync(dirname(this.file), { recursive: true });
    const db = new Database(this.file, { timeout: this.busyTimeoutMs });
    try {
      db.pragma(`busy_timeout = ${this.busyTimeoutMs}`);
      const mode = db.pragma("journal_mode = WAL", { simple: true });
      if (mode !== "wal") throw new Error(`SQLite refused WAL journal mode (it is ${String(mode)})`);
      db.pragma("synchronous = FULL");
      db.pragma("foreign_keys = ON");
      if (fileSize(this.file) <= this.checkOnOpenBytes) {
        checkIntact(db, this.file);
        this.checked = true;
      }
      migrate(db, this.file);
    } catch (err) {
      db.close();
      throw DamagedStoreError.from(this.file, err);
    }
    this.database = db;
  }

  createRun(run: NewRun, stepIds: readonly string[]): Promise<void> {
    return this.guard(() => {
      const db = this.writable();
      const insertRun = this.prepared(
        `INSERT INTO runs (id, cluster, from_version, to_version, path, status, started_at, ended_at, started_by, error, plan, files, accepted_warnings)
         VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, NULL, ?, ?, ?)`,
      );
      const insertStep = this.prepared("INSERT INTO steps (run_id, seq, id) VALUES (?, ?, ?)");
      db.transaction(() => {
        insertRun.run(
          run.id,
          run.cluster,
          run.from,
          run.to,
          JSON.stringify(run.path),
          run.status,
          run.startedAt,
          run.startedBy,
          JSON.stringify(run.plan ?? null),
          JSON.stringify(run.files),
          run.acceptedWarnings ? JSON.stringify(run.acceptedWarnings) : null,
        );
        for (let seq = 0; seq < stepIds.length; seq++) insertStep.run(run.id, seq, stepIds[seq]);
      }).immediate();
    });
  }

  getRun(id: string): Promise<RunRecord | undefined> {
    return this.guard(() => {
      this.ready();
      const row = this.prepared("SELECT * FROM runs WHERE id = ?").get(id) as RunRow | undefined;
      return row && toRecord(row);
    });
  }

  unfinishedRun(cluster: string): Promise<RunRecord | undefined> {
    return this.guard(() => {
      const finished = FINISHED_STATUSES.map(() => "?").join(", ");
      this.ready();
      const row = this.prepared(
        `SELECT * FROM runs WHERE cluster = ? AND status NOT IN (${finished}) ${NEWEST_FIRST} LIMIT 1`,
      ).get(cluster, ...FINISHED_STATUSES) as RunRow | undefined;
      return row && toRecord(row);
    });
  }

  listRuns(cluster: string): Promise<RunSummary[]> {
    return this.guard(() => {
      this.ready();
      const rows = this.prepared(`SELECT ${SUMMARY_COLUMNS} FROM runs WHERE cluster = ? ${NEWEST_FIRST}`).all(
        cluster,
      ) as RunRow[];
      return rows.map(toSummary);
    });
  }

  updateRun(id: string, patch: RunPatch, fence?: string): Promise<void> {
    const [sql, values] = updateSql("runs", RUN_COLUMNS, patch, "id = ?", runColumnValue);
    return this.enqueue(() => {
      if (this.prepared(sql).run(...values, id).changes === 0) throw new Error(`no run ${id}`);
    }, fence);
  }

  requestPause(runId: string, by: string): Promise<boolean> {
    return this.guard(() => {
      this.writable();
      // One statement: the status is checked and the mark set under the same write lock.
      return (
        this.prepared("UPDATE runs SET pause_requested_by = ? WHERE id = ? AND status = 'running'").run(
          by,
          runId,
        ).changes === 1
      );
    });
  }

  pauseRequest(runId: string): Promise<string | null> {
    return this.guard(() => {
      this.ready();
      const row = this.prepared("SELECT pause_requested_by AS by FROM runs WHERE id = ?").get(runId) as
        | { by: string | null }
        | undefined;
      return row?.by ?? null;
    });
  }

  clearPause(runId: string): Promise<void> {
    return this.enqueue(() => {
      if (this.prepared("UPDATE runs SET pause_requested_by = NULL WHERE id = ?").run(runId).changes === 0) {
        throw new Error(`no run ${runId}`);
      }
    });
  }

  updateStep(runId: string, stepId: string, patch: StepPatch, fence?: string): Promise<void> {
    const [sql, values] = updateSql("steps", STEP_COLUMNS, patch, "run_id = ? AND id = ?", stepColumnValue);
    return this.enqueue(() => {
      if (this.prepared(sql).run(...values, runId, stepId).changes === 0) {
        throw new Error(`no step ${stepId} in run ${runId}`);
      }
    }, fence);
  }

  steps(runId: string): Promise<StepRecord[]> {
    return this.guard(() => {
      this.ready();
      const rows = this.prepared(`SELECT ${STEP_ROW_COLUMNS} FROM steps WHERE run_id = ? ORDER BY seq`).all(
        runId,
      ) as StepRow[];
      return rows.map(toStep);
    });
  }

  addNote(runId: string, note: RunNote, fence?: string): Promise<void> {
    return this.enqueue(() => {
      const added = this.prepared(
        `INSERT INTO run_notes (run_id, at, done_by, kind, message, step_id)
         SELECT ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM runs WHERE id = ?)`,
      ).run(runId, note.at, note.by, note.kind, note.text, note.step ?? null, runId);
      if (added.changes === 0) throw new Error(`no run ${runId}`);
    }, fence);
  }

  notes(runId: string): Promise<RunNote[]> {
    return this.guard(() => {
      this.ready();
      const rows = this.prepared(
        "SELECT at, done_by, kind, message, step_id FROM run_notes WHERE run_id = ? ORDER BY rowid",
      ).all(runId) as NoteRow[];
      return rows.map(toNote);
    });
  }

  addMeasurement(runId: string, m: Measurement, fence?: string): Promise<void> {
    return this.enqueue(() => {
      const added = this.prepared(
        `INSERT INTO gate_measurements (run_id, step_id, gate, attempt, at, value, verdict, detail)
         SELECT ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM runs WHERE id = ?)`,
      ).run(runId, m.step, m.gate, m.attempt, m.at, m.value, m.verdict, m.detail, runId);
      if (added.changes === 0) throw new Error(`no run ${runId}`);
    }, fence);
  }

  measurements(runId: string): Promise<Measurement[]> {
    return this.guard(() => {
      this.ready();
      const rows = this.prepared(
        "SELECT step_id, gate, attempt, at, value, verdict, detail FROM gate_measurements WHERE run_id = ? ORDER BY rowid",
      ).all(runId) as MeasurementRow[];
      return rows.map(toMeasurement);
    });
  }

  tryLock(claim: LockClaim, takeOverToken?: string): Promise<LockResult> {
    return this.guard(() => {
      const db = this.writable();
      // IMMEDIATE: read and write under the write lock, so two processes cannot both see it free.
      return db
        .transaction((): LockResult => {
          const now = Date.now();
          const holder = toHolder(
            this.prepared("SELECT * FROM lock WHERE id = 1").get() as LockRow | undefined,
          );
          const reentry = holder?.token === claim.token;
          if (holder && !reentry && holder.leaseUntil > now && holder.token !== takeOverToken) {
            return { acquired: false, holder };
          }
          this.prepared(
            `UPDATE lock SET host = ?, pid = ?, token = ?, run_id = ?, acquired_at = ?, lease_until = ? WHERE id = 1`,
          ).run(
            claim.host,
            claim.pid,
            claim.token,
            claim.runId,
            reentry && holder ? holder.acquiredAt : now,
            now + claim.leaseMs,
          );
          return { acquired: true, tookOverFrom: reentry ? null : (holder ?? null) };
        })
        .immediate();
    });
  }

  renewLock(claim: LockClaim): Promise<boolean> {
    return this.guard(() => {
      this.writable();
      const info = this.prepared(
        "UPDATE lock SET run_id = ?, lease_until = ? WHERE id = 1 AND token = ?",
      ).run(claim.runId, Date.now() + claim.leaseMs, claim.token);
      return info.changes === 1;
    });
  }

  releaseLock(token: string): Promise<void> {
    return this.guard(() => {
      this.writable();
      this.prepared(
        `UPDATE lock SET host = NULL, pid = NULL, token = NULL, run_id = NULL, acquired_at = NULL, lease_until = NULL
           WHERE id = 1 AND token = ?`,
      ).run(token);
    });
  }

  lockHolder(): Promise<LockHolder | undefined> {
    return this.guard(() => {
      this.ready();
      return toHolder(this.prepared("SELECT * FROM lock WHERE id = 1").get() as LockRow | undefined);
    });
  }

  appendNotice(runId: string, decide: (last: string | null) => NewNotice | null): Promise<number | null> {
    let seq: number | null = null;
    // Through the group commit, so it is ordered with the run and step writes around it.
    return this.enqueue(() => {
      const db = this.database as Database.Database;
      // A savepoint: the notice and its deliveries go in whole or not at all.
      db.transaction(() => {
        if (!this.prepared("SELECT 1 FROM runs WHERE id = ?").get(runId)) throw new Error(`no run ${runId}`);
        const last = this.prepared(
          "SELECT seq, condition FROM notices WHERE run_id = ? ORDER BY seq DESC LIMIT 1",
        ).get(runId) as { seq: number; condition: string } | undefined;
        const notice = decide(last?.condition ?? null);
        if (!notice) return;
        const next = (last?.seq ?? 0) + 1;
        this.prepared(
          "INSERT INTO notices (run_id, seq, condition, event, body, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        ).run(
          runId,
          next,
          notice.condition,
          notice.event,
          notice.body === null || notice.body === undefined ? null : JSON.stringify(notice.body),
          notice.createdAt,
        );
        const insert = this.prepared(
          "INSERT INTO deliveries (key, run_id, seq, receiver, next_at) VALUES (?, ?, ?, ?, ?)",
        );
        for (const d of notice.deliveries)
          insert.run(d.key, runId, next, JSON.stringify(d.receiver), notice.createdAt);
        seq = next;
      })();
    }).then(() => seq);
  }

  async notices(runId: string): Promise<NoticeRecord[]> {
    this.ready();
    const notices = this.prepared(
      "SELECT seq, condition, event, body, created_at FROM notices WHERE run_id = ? ORDER BY seq",
    ).all(runId) as NoticeRow[];
    const deliveries = this.prepared("SELECT * FROM deliveries WHERE run_id = ? ORDER BY rowid").all(
      runId,
    ) as DeliveryRow[];
    return toNotices(notices, deliveries);
  }

  async pendingDeliveries(cluster: string): Promise<Delivery[]> {
    this.ready();
    const rows = this.prepared(
      `SELECT d.*, n.event, n.body, n.created_at
         FROM deliveries d
         JOIN notices n ON n.run_id = d.run_id AND n.seq = d.seq
         JOIN runs r ON r.id = d.run_id
        WHERE d.state = 'pending' AND r.cluster = ?
        ORDER BY d.rowid`,
    ).all(cluster) as PendingRow[];
    return rows.map(toDelivery);
  }

  updateDelivery(key: string, patch: DeliveryPatch): Promise<void> {
    const [sql, values] = updateSql("deliveries", DELIVERY_COLUMNS, patch, "key = ?");
    return this.enqueue(() => {
      if (this.prepared(sql).run(...values, key).changes === 0) throw new Error(`no delivery ${key}`);
    });
  }

  async close(): Promise<void> {
    if (!this.database) return;
    this.flush();
    this.database.close();
    this.database = undefined;
    this.statements.clear();
  }

  /** Runs `work` on this file, turning SQLite's word that the file is damaged into a DamagedStoreError. */
  private guard<T>(work: () => T): Promise<T> {
    try {
      return Promise.resolve(work());
    } catch (err) {
      return Promise.reject(DamagedStoreError.from(this.file, err));
    }
  }

  /**
   * The open database, with every queued write committed first: a read or a lock call then sees
   * the updates issued before it, as if none had been deferred.
   */
  private ready(): Database.Database {
    if (!this.database) throw new Error(`the SQLite state store ${this.file} is not open: call init() first`);
    this.flush();
    return this.database;
  }

  /** The open database, made sure to be whole before its first write. */
  private writable(): Database.Database {
    const db = this.ready();
    if (!this.checked) {
      checkIntact(db, this.file);
      this.checked = true;
    }
    return db;
  }

  /** A statement prepared once per connection. */
  private prepared(sql: string): Database.Statement {
    if (!this.database) throw new Error(`the SQLite state store ${this.file} is not open: call init() first`);
    let stmt = this.statements.get(sql);
    if (!stmt) {
      stmt = this.database.prepare(sql);
      this.statements.set(sql, stmt);
    }
    return stmt;
  }

  private enqueue(apply: () => void, fence?: string): Promise<void> {
    if (!this.database) return Promise.reject(new Error(`the SQLite state store ${this.file} is not open`));
    if (!this.checked) {
      try {
        this.writable();
      } catch (err) {
        return Promise.reject(DamagedStoreError.from(this.file, err));
      }
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ apply, fence, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Commits every queued write in one transaction, then settles each caller's promise. */
  private flush(): void {
    this.flushScheduled = false;
    const batch = this.queue;
    if (batch.length === 0 || !this.database) return;
    this.queue = [];
    const db = this.database;
    const failed = new Map<QueuedWrite, unknown>();
    try {
      db.transaction(() => {
        // Read under the batch's write lock: no takeover can commit between this read and the writes.
        let holder: { token: string | null } | undefined;
        for (const write of batch) {
          try {
            if (write.fence !== undefined) {
              holder ??= this.prepared("SELECT token FROM lock WHERE id = 1").get() as {
                token: string | null;
              };
              if (holder?.token !== write.fence) throw new LockLostError(write.fence);
            }
            write.apply();
          } catch (err) {
            // A failed statement is undone alone (a refused one changed nothing); an error that
            // ended the transaction fails the batch.
            if (!db.inTransaction) throw err;
            failed.set(write, err);
          }
        }
      }).immediate();
    } catch (err) {
      for (const write of batch) write.reject(DamagedStoreError.from(this.file, err));
      return;
    }
    for (const write of batch) {
      if (failed.has(write)) write.reject(failed.get(write));
      else write.resolve();
    }
  }
}

/**
 * Throws when the file is damaged. `quick_check` reads every page and checks each b-tree, but not
 * that the indexes match their tables, as `integrity_check` would at several times the cost.
 */
function checkIntact(db: Database.Database, file: string): void {
  const verdict = db.pragma("quick_check(1)", { simple: true });
  if (verdict !== "ok") throw new DamagedStoreError(file, `quick_check: ${String(verdict)}`);
}

/** The file's size in bytes (0 for a file not yet written). */
function fileSize(file: string): number {
  return statSync(file, { throwIfNoEntry: false })?.size ?? 0;
}

function migrate(db: Database.Database, file: string): void {
  // IMMEDIATE so that two processes opening a new file do not both create the tables.
  db.transaction(() => {
    const version = db.pragma("user_version", { simple: true }) as number;
    if (version > MIGRATIONS.length) {
      throw new Error(
        `${file} has state store schema version ${version}, newer than this ferry knows (${MIGRATIONS.length}): upgrade ferry`,
      );
    }
    for (let v = version; v < MIGRATIONS.length; v++) db.exec(MIGRATIONS[v] ?? "");
    db.pragma(`user_version = ${MIGRATIONS.length}`);
  }).immediate();
}

/** `UPDATE table SET a = ?, b = ? WHERE …` for the fields the patch gives (undefined = not given). */
function updateSql<P extends object>(
  table: string,
  columns: Record<keyof P, string>,
  patch: P,
  where: string,
  value: <K extends keyof P>(key: K, v: P[K]) => unknown = (_key, v) => v,
): [string, unknown[]] {
  const sets: string[] = [];
  const values: unknown[] = [];
  for (const key of Object.keys(columns) as (keyof P)[]) {
    if (patch[key] === undefined) continue;
    sets.push(`${columns[key]} = ?`);
    values.push(value(key, patch[key]));
  }
  // An empty patch still checks that the row exists.
  if (sets.length === 0) {
    const first = Object.values<string>(columns)[0];
    sets.push(`${first} = ${first}`);
  }
  return [`UPDATE ${table} SET ${sets.join(", ")} WHERE ${where}`, values];
}
