/**
 * The PostgreSQL state store, for a team: several operators' machines share one journal and one
 * run lock. Tables live in their own schema (default `ferry`).
 *
 * Lease times come from the server's clock, so hosts whose clocks disagree still agree on when a
 * lease ends. Step and run updates are group-committed: those that arrive while the previous batch
 * is being written go out together, in one statement or one transaction, and in the order they
 * were issued; each promise resolves once its batch has committed.
 */
import pg from "pg";
import { LockLostError } from "./lock-lost-error.js";
import { inTransaction } from "./pg-transaction.js";
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

export interface PostgresStoreOptions {
  /** `postgres://user@host:5432/db`; the usual PG* environment variables fill in what it leaves out. */
  readonly connectionString: string;
  /** The schema that holds ferry's tables, created if missing; default `ferry`. */
  readonly schema?: string;
  /** Connections in the pool; default 4. */
  readonly poolSize?: number;
  /** How long to wait for a connection to the server; default 10 s. */
  readonly connectTimeoutMs?: number;
}

/** Epoch milliseconds on the server's clock, at the moment of evaluation (not the transaction's start). */
const SERVER_NOW_MS = "(floor(extract(epoch FROM clock_timestamp()) * 1000))::bigint";

/** Each entry takes the schema from its index to its index + 1; `schema_version` says where it is. */
function migrations(s: string): string[] {
  return [
    `
    CREATE TABLE ${s}.runs (
      id text PRIMARY KEY,
      -- Insertion order: breaks ties between runs started in the same millisecond.
      ord bigint GENERATED ALWAYS AS IDENTITY,
      cluster text NOT NULL,
      from_version text NOT NULL,
      to_version text NOT NULL,
      path json NOT NULL,
      status text NOT NULL,
      started_at bigint NOT NULL,
      ended_at bigint,
      started_by text NOT NULL,
      error text,
      -- json, not jsonb: the plan and files come back exactly as written.
      plan json NOT NULL,
      files json NOT NULL
    );
    CREATE INDEX runs_cluster_started ON ${s}.runs (cluster, started_at DESC, ord DESC);
    CREATE TABLE ${s}.steps (
      run_id text NOT NULL REFERENCES ${s}.runs (id) ON DELETE CASCADE,
      seq integer NOT NULL,
      id text NOT NULL,
      state text NOT NULL DEFAULT 'pending',
      started_at bigint,
      ended_at bigint,
      exit_code integer,
      output text,
      error text,
      attempts integer NOT NULL DEFAULT 0,
      PRIMARY KEY (run_id, id)
    );
    CREATE UNIQUE INDEX steps_run_seq ON ${s}.steps (run_id, seq);
    -- The run lock: always exactly one row, so SELECT … FOR UPDATE has a row to queue on;
    -- token IS NULL means nobody holds it.
    CREATE TABLE ${s}.lock (
      id integer PRIMARY KEY CHECK (id = 1),
      host text,
      pid integer,
      token text,
      run_id text,
      acquired_at bigint,
      lease_until bigint
    );
    INSERT INTO ${s}.lock (id) VALUES (1);
    `,
    // A pause requested by `ferry pause` or the API (who asked), for the executor to see.
    `ALTER TABLE ${s}.runs ADD COLUMN pause_requested_by text;`,
    // The release warnings accepted to start the run, so that resume does not ask again.
    `ALTER TABLE ${s}.runs ADD COLUMN accepted_warnings json;`,
    // The notification outbox: every change of a run's condition, and for one that sends an
    // event, a delivery per receiver, pending until the receiver has answered 2xx.
    `
    CREATE TABLE ${s}.notices (
      run_id text NOT NULL REFERENCES ${s}.runs (id) ON DELETE CASCADE,
      seq integer NOT NULL,
      condition text NOT NULL,
      event text,
      body json,
      created_at bigint NOT NULL,
      PRIMARY KEY (run_id, seq)
    );
    CREATE TABLE ${s}.deliveries (
      key text PRIMARY KEY,
      -- Insertion order: pending deliveries go out in the order their notices were appended.
      ord bigint GENERATED ALWAYS AS IDENTITY,
      run_id text NOT NULL,
      seq integer NOT NULL,
      receiver json NOT NULL,
      state text NOT NULL DEFAULT 'pending',
      attempts integer NOT NULL DEFAULT 0,
      next_at bigint NOT NULL,
      last_error text,
      delivered_at bigint,
      FOREIGN KEY (run_id, seq) REFERENCES ${s}.notices (run_id, seq) ON DELETE CASCADE
    );
    CREATE INDEX deliveries_notice ON ${s}.deliveries (run_id, seq);
    CREATE INDEX deliveries_pending ON ${s}.deliveries (run_id) WHERE state = 'pending';
    `,
    // What a step saw that later steps follow (a roles step's active host), as JSON.
    `ALTER TABLE ${s}.steps ADD COLUMN observed text;`,
    // What was done to a run besides its steps, for its history (ferry host undo), in id order.
    `
    CREATE TABLE ${s}.run_notes (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      run_id text NOT NULL REFERENCES ${s}.runs (id) ON DELETE CASCADE,
      at bigint NOT NULL,
      done_by text NOT NULL,
      kind text NOT NULL,
      message text NOT NULL
    );
    CREATE INDEX run_notes_run ON ${s}.run_notes (run_id, id);
    `,
    // What a run waits for (JSON text: for, since, detail, step), and the step a note answers (an approval).
    `
    ALTER TABLE ${s}.runs ADD COLUMN waiting text;
    ALTER TABLE ${s}.run_notes ADD COLUMN step_id text;
    `,
    // Each measurement of a metric gate: its value, when, and its verdict, in id order.
    `
    CREATE TABLE ${s}.gate_measurements (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      run_id text NOT NULL REFERENCES ${s}.runs (id) ON DELETE CASCADE,
      step_id text NOT NULL,
      gate text NOT NULL,
      attempt integer NOT NULL,
      at bigint NOT NULL,
      value double precision,
      verdict text NOT NULL,
      detail text NOT NULL
    );
    CREATE INDEX gate_measurements_run ON ${s}.gate_measurements (run_id, id);
    `,
    `ALTER TABLE ${s}.steps ADD COLUMN undone_at bigint;`,
    // One lock per cluster name, since clusters share a store (a fleet's). A cluster's row stays once
    // made, so that SELECT … FOR UPDATE has a row to queue on; token IS NULL means nobody holds it.
    // The single lock of a schema from before goes to its run's cluster, or, for a holder that had
    // not written its run yet, to every cluster of the schema (one, in practice): a live holder's
    // lease holds on until it runs out. The table the old ferry fences with is dropped, so that one
    // writes nothing more.
    `
    CREATE TABLE ${s}.locks (
      cluster text PRIMARY KEY,
      host text,
      pid integer,
      token text,
      run_id text,
      acquired_at bigint,
      lease_until bigint
    );
    INSERT INTO ${s}.locks (cluster, host, pid, token, run_id, acquired_at, lease_until)
      SELECT DISTINCT r.cluster, l.host, l.pid, l.token, l.run_id, l.acquired_at, l.lease_until
        FROM ${s}.lock l
        JOIN ${s}.runs r ON r.id = l.run_id OR NOT EXISTS (SELECT 1 FROM ${s}.runs o WHERE o.id = l.run_id)
       WHERE l.token IS NOT NULL;
    DROP TABLE ${s}.lock;
    `,
    // Fleet runs and their cluster runs (src/fleet): what workers claim, with the copies of each
    // cluster's files a worker on another machine runs it from.
    `
    CREATE TABLE ${s}.fleet_runs (
      id text PRIMARY KEY,
      ord bigint GENERATED ALWAYS AS IDENTITY,
      fleet text NOT NULL,
      target text NOT NULL,
      strategy json NOT NULL,
      status text NOT NULL,
      reason text,
      created_by text NOT NULL,
      created_at bigint NOT NULL,
      ended_at bigint
    );
    CREATE INDEX fleet_runs_fleet ON ${s}.fleet_runs (fleet, ord DESC);
    CREATE TABLE ${s}.fleet_cluster_runs (
      fleet_run_id text NOT NULL REFERENCES ${s}.fleet_runs (id) ON DELETE CASCADE,
      cluster text NOT NULL,
      ord integer NOT NULL,
      grp text NOT NULL,
      grp_ord integer NOT NULL,
      state text NOT NULL,
      version text,
      worker text,
      lease_until bigint,
      claimed_at bigint,
      started_at bigint,
      ended_at bigint,
      run_id text,
      error text,
      takeovers integer NOT NULL DEFAULT 0,
      file text NOT NULL,
      cluster_text text NOT NULL,
      catalog_file text NOT NULL,
      catalog_text text NOT NULL,
      PRIMARY KEY (fleet_run_id, cluster)
    );
    CREATE INDEX fleet_cluster_runs_order ON ${s}.fleet_cluster_runs (fleet_run_id, state, grp_ord, ord);
    `,
  ];
}

const STEP_FIELDS = {
  state: ["state", "text"],
  startedAt: ["started_at", "bigint"],
  endedAt: ["ended_at", "bigint"],
  exitCode: ["exit_code", "integer"],
  output: ["output", "text"],
  error: ["error", "text"],
  attempts: ["attempts", "integer"],
  observed: ["observed", "text"],
  undoneAt: ["undone_at", "bigint"],
} as const satisfies Record<keyof StepPatch, readonly [string, string]>;

const RUN_COLUMNS = {
  status: "status",
  endedAt: "ended_at",
  error: "error",
  waiting: "waiting",
} as const satisfies Record<keyof RunPatch, string>;

const SUMMARY_COLUMNS =
  "id, cluster, from_version, to_version, path, status, started_at, ended_at, started_by, error, accepted_warnings, waiting";
const NEWEST_FIRST = "ORDER BY started_at DESC, ord DESC";

/** pg returns bigint as a string, since it may not fit a double; epoch milliseconds do. */
type Int8 = string;

type WriteRequest = (
  | { readonly kind: "step"; readonly runId: string; readonly stepId: string; readonly patch: StepPatch }
  | { readonly kind: "run"; readonly runId: string; readonly patch: RunPatch }
  | {
      readonly kind: "notice";
      readonly runId: string;
      readonly decide: (last: string | null) => NewNotice | null;
      /** Told, inside the batch's transaction, the seq appended (null: none); the commit may still fail. */
      readonly appended: (seq: number | null) => void;
    }
) & {
  /** The lock token the write is fenced with: it applies only while that token holds the lock of the run's cluster. */
  readonly fence: string | undefined;
};

/** A write waiting for the next group commit. */
type QueuedWrite = WriteRequest & {
  resolve(): void;
  reject(err: unknown): void;
};

const DELIVERY_FIELDS = {
  state: "state",
  attempts: "attempts",
  nextAt: "next_at",
  lastError: "last_error",
  deliveredAt: "delivered_at",
} as const satisfies Record<keyof DeliveryPatch, string>;

export class PostgresStore implements StateStore {
  readonly schema: string;
  private readonly pool: pg.Pool;
  /** The schema's name, quoted for SQL. */
  private readonly s: string;
  private queue: QueuedWrite[] = [];
  private flushing = false;
  /** Settles once every write queued so far has settled; reads wait for it. */
  private written: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(options: PostgresStoreOptions) {
    this.schema = options.schema ?? "ferry";
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(this.schema)) {
      throw new Error(
        `invalid PostgreSQL schema name ${JSON.stringify(this.schema)}: use letters, digits and _`,
      );
    }
    this.s = `"${this.schema}"`;
    this.pool = new pg.Pool({
      connectionString: options.connectionString,
      max: options.poolSize ?? 4,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
      // A CLI must be able to exit while idle connections linger.
      allowExitOnIdle: true,
    });
    // An idle connection that dies (server restart) must not crash the process; the next query reconnects.
    this.pool.on("error", () => {});
  }

  async init(): Promise<void> {
    await this.transaction(async (c) => {
      // Serialises concurrent first starts: CREATE … IF NOT EXISTS is not safe against a racing twin.
      await c.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`ferry state store ${this.schema}`]);
      await c.query(`CREATE SCHEMA IF NOT EXISTS ${this.s}`);
      await c.query(`CREATE TABLE IF NOT EXISTS ${this.s}.schema_version (version integer NOT NULL)`);
      const { rows } = await c.query<{ version: number }>(`SELECT version FROM ${this.s}.schema_version`);
      const version = rows[0]?.version ?? 0;
      const all = migrations(this.s);
      if (version > all.length) {
        throw new Error(
          `schema ${this.schema} has state store schema version ${version}, newer than this ferry knows (${all.length}): upgrade ferry`,
        );
      }
      for (let v = version; v < all.length; v++) await c.query(all[v] ?? "");
      if (rows.length === 0) await c.query(`INSERT INTO ${this.s}.schema_version VALUES ($1)`, [all.length]);
      else await c.query(`UPDATE ${this.s}.schema_version SET version = $1`, [all.length]);
    });
  }

  async createRun(run: NewRun, stepIds: readonly string[]): Promise<void> {
    await this.written;
    // One statement, so one implicit transaction; the steps go over as one array, not 100,000 rows of parameters.
    await this.pool.query(
      `WITH r AS (
         INSERT INTO ${this.s}.runs (id, cluster, from_version, to_version, path, status, started_at, started_by, plan, files, accepted_warnings)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $12)
         RETURNING id
       )
       INSERT INTO ${this.s}.steps (run_id, seq, id)
       SELECT r.id, t.ord - 1, t.id FROM r, unnest($11::text[]) WITH ORDINALITY AS t(id, ord)`,
      [
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
        stepIds,
        run.acceptedWarnings ? JSON.stringify(run.acceptedWarnings) : null,
      ],
    );
  }

  async getRun(id: string): Promise<RunRecord | undefined> {
    await this.written;
    const { rows } = await this.pool.query<RunRow>(`SELECT * FROM ${this.s}.runs WHERE id = $1`, [id]);
    return rows[0] && toRecord(rows[0]);
  }

  async unfinishedRun(cluster: string): Promise<RunRecord | undefined> {
    await this.written;
    const { rows } = await this.pool.query<RunRow>(
      `SELECT * FROM ${this.s}.runs WHERE cluster = $1 AND status <> ALL ($2::text[]) ${NEWEST_FIRST} LIMIT 1`,
      [cluster, [...FINISHED_STATUSES]],
    );
    return rows[0] && toRecord(rows[0]);
  }

  async listRuns(cluster: string): Promise<RunSummary[]> {
    await this.written;
    const { rows } = await this.pool.query<RunRow>(
      `SELECT ${SUMMARY_COLUMNS} FROM ${this.s}.runs WHERE cluster = $1 ${NEWEST_FIRST}`,
      [cluster],
    );
    return rows.map(toSummary);
  }

  updateRun(id: string, patch: RunPatch, fence?: string): Promise<void> {
    return this.enqueue({ kind: "run", runId: id, patch, fence });
  }

  async requestPause(runId: string, by: string): Promise<boolean> {
    await this.written;
    // One statement: the status is checked and the mark set under the same row lock.
    const { rowCount } = await this.pool.query(
      `UPDATE ${this.s}.runs SET pause_requested_by = $2 WHERE id = $1 AND status = 'running'`,
      [runId, by],
    );
    return rowCount === 1;
  }

  async pauseRequest(runId: string): Promise<string | null> {
    await this.written;
    const { rows } = await this.pool.query<{ by: string | null }>(
      `SELECT pause_requested_by AS by FROM ${this.s}.runs WHERE id = $1`,
      [runId],
    );
    return rows[0]?.by ?? null;
  }

  async clearPause(runId: string): Promise<void> {
    await this.written;
    const { rowCount } = await this.pool.query(
      `UPDATE ${this.s}.runs SET pause_requested_by = NULL WHERE id = $1`,
      [runId],
    );
    if (rowCount !== 1) throw new Error(`no run ${runId}`);
  }

  updateStep(runId: string, stepId: string, patch: StepPatch, fence?: string): Promise<void> {
    return this.enqueue({ kind: "step", runId, stepId, patch, fence });
  }

  async steps(runId: string): Promise<StepRecord[]> {
    await this.written;
    const { rows } = await this.pool.query<StepRow>(
      `SELECT ${STEP_ROW_COLUMNS} FROM ${this.s}.steps WHERE run_id = $1 ORDER BY seq`,
      [runId],
    );
    return rows.map(toStep);
  }

  async addNote(runId: string, note: RunNote, fence?: string): Promise<void> {
    // After the writes issued before it, as a queued write would be.
    await this.written;
    const values: unknown[] = [runId, note.at, note.by, note.kind, note.text, note.step ?? null];
    if (fence !== undefined) values.push(fence);
    // The lock row read FOR SHARE, as in applyStepWrites: no fenced note commits after a takeover.
    const held = fence === undefined ? "" : ` AND ${this.held("$1", "$7")}`;
    const { rowCount } = await this.pool.query(
      `INSERT INTO ${this.s}.run_notes (run_id, at, done_by, kind, message, step_id)
       SELECT $1, $2, $3, $4, $5, $6 WHERE EXISTS (SELECT 1 FROM ${this.s}.runs WHERE id = $1)${held}`,
      values,
    );
    if (rowCount === 1) return;
    if (fence !== undefined) await this.refuseUnlessHeld(runId, fence);
    throw new Error(`no run ${runId}`);
  }

  async notes(runId: string): Promise<RunNote[]> {
    await this.written;
    const { rows } = await this.pool.query<NoteRow>(
      `SELECT at, done_by, kind, message, step_id FROM ${this.s}.run_notes WHERE run_id = $1 ORDER BY id`,
      [runId],
    );
    return rows.map(toNote);
  }

  async addMeasurement(runId: string, m: Measurement, fence?: string): Promise<void> {
    // After the writes issued before it, as a queued write would be.
    await this.written;
    const values: unknown[] = [runId, m.step, m.gate, m.attempt, m.at, m.value, m.verdict, m.detail];
    if (fence !== undefined) values.push(fence);
    const held = fence === undefined ? "" : ` AND ${this.held("$1", "$9")}`;
    const { rowCount } = await this.pool.query(
      `INSERT INTO ${this.s}.gate_measurements (run_id, step_id, gate, attempt, at, value, verdict, detail)
       SELECT $1, $2, $3, $4, $5, $6, $7, $8 WHERE EXISTS (SELECT 1 FROM ${this.s}.runs WHERE id = $1)${held}`,
      values,
    );
    if (rowCount === 1) return;
    if (fence !== undefined) await this.refuseUnlessHeld(runId, fence);
    throw new Error(`no run ${runId}`);
  }

  async measurements(runId: string): Promise<Measurement[]> {
    await this.written;
    const { rows } = await this.pool.query<MeasurementRow>(
      `SELECT step_id, gate, attempt, at, value, verdict, detail FROM ${this.s}.gate_measurements WHERE run_id = $1 ORDER BY id`,
      [runId],
    );
    return rows.map(toMeasurement);
  }

  async tryLock(cluster: string, claim: LockClaim, takeOverToken?: string): Promise<LockResult> {
    await this.written;
    return this.transaction(async (c) => {
      // A cluster's first claimant makes its row; a racing twin waits for that insert, then finds it.
      await c.query(`INSERT INTO ${this.s}.locks (cluster) VALUES ($1) ON CONFLICT DO NOTHING`, [cluster]);
      // The row lock queues concurrent claimants, each of which then sees its predecessor's outcome.
      const { rows } = await c.query<LockRow & { now: Int8 }>(
        `SELECT *, ${SERVER_NOW_MS} AS now FROM ${this.s}.locks WHERE cluster = $1 FOR UPDATE`,
        [cluster],
      );
      const row = rows[0];
      if (!row) throw new Error(`the lock row of ${cluster} is missing from ${this.schema}.locks`);
      const holder = toHolder(row);
      const reentry = holder?.token === claim.token;
      if (holder && !reentry && holder.leaseUntil > Number(row.now) && holder.token !== takeOverToken) {
        return { acquired: false, holder };
      }
      await c.query(
        `UPDATE ${this.s}.locks SET host = $1, pid = $2, token = $3, run_id = $4,
           acquired_at = CASE WHEN $5 THEN acquired_at ELSE ${SERVER_NOW_MS} END,
           lease_until = ${SERVER_NOW_MS} + $6
         WHERE cluster = $7`,
        [claim.host, claim.pid, claim.token, claim.runId, reentry, Math.round(claim.leaseMs), cluster],
      );
      return { acquired: true, tookOverFrom: reentry ? null : (holder ?? null) };
    });
  }

  async renewLock(cluster: string, claim: LockClaim): Promise<boolean> {
    await this.written;
    const { rowCount } = await this.pool.query(
      `UPDATE ${this.s}.locks SET run_id = $1, lease_until = ${SERVER_NOW_MS} + $2 WHERE cluster = $3 AND token = $4`,
      [claim.runId, Math.round(claim.leaseMs), cluster, claim.token],
    );
    return rowCount === 1;
  }

  async releaseLock(cluster: string, token: string): Promise<void> {
    await this.written;
    await this.pool.query(
      `UPDATE ${this.s}.locks SET host = NULL, pid = NULL, token = NULL, run_id = NULL, acquired_at = NULL, lease_until = NULL
       WHERE cluster = $1 AND token = $2`,
      [cluster, token],
    );
  }

  async lockHolder(cluster: string): Promise<LockHolder | undefined> {
    await this.written;
    const { rows } = await this.pool.query<LockRow>(`SELECT * FROM ${this.s}.locks WHERE cluster = $1`, [
      cluster,
    ]);
    return toHolder(rows[0]);
  }

  async appendNotice(
    runId: string,
    decide: (last: string | null) => NewNotice | null,
  ): Promise<number | null> {
    // Through the group commit, so it is ordered with the run and step writes around it.
    let seq: number | null = null;
    await this.enqueue({
      kind: "notice",
      fence: undefined,
      runId,
      decide,
      appended: (s) => {
        seq = s;
      },
    });
    return seq;
  }

  async notices(runId: string): Promise<NoticeRecord[]> {
    await this.written;
    const [notices, deliveries] = await Promise.all([
      this.pool.query<NoticeRow>(
        `SELECT seq, condition, event, body, created_at FROM ${this.s}.notices WHERE run_id = $1 ORDER BY seq`,
        [runId],
      ),
      this.pool.query<DeliveryRow>(`SELECT * FROM ${this.s}.deliveries WHERE run_id = $1 ORDER BY ord`, [
        runId,
      ]),
    ]);
    return toNotices(notices.rows, deliveries.rows);
  }

  async pendingDeliveries(cluster: string): Promise<Delivery[]> {
    await this.written;
    const { rows } = await this.pool.query<PendingRow>(
      `SELECT d.*, n.event, n.body, n.created_at
         FROM ${this.s}.deliveries d
         JOIN ${this.s}.notices n ON n.run_id = d.run_id AND n.seq = d.seq
         JOIN ${this.s}.runs r ON r.id = d.run_id
        WHERE d.state = 'pending' AND r.cluster = $1
        ORDER BY d.ord`,
      [cluster],
    );
    return rows.map(toDelivery);
  }

  async updateDelivery(key: string, patch: DeliveryPatch): Promise<void> {
    await this.written;
    const sets: string[] = [];
    const values: unknown[] = [key];
    for (const [field, column] of Object.entries(DELIVERY_FIELDS)) {
      const value = patch[field as keyof DeliveryPatch];
      if (value === undefined) continue;
      values.push(value);
      sets.push(`${column} = $${values.length}`);
    }
    const { rowCount } = await this.pool.query(
      `UPDATE ${this.s}.deliveries SET ${sets.length > 0 ? sets.join(", ") : "state = state"} WHERE key = $1`,
      values,
    );
    if (rowCount !== 1) throw new Error(`no delivery ${key}`);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.written;
    await this.pool.end();
  }

  private enqueue(write: WriteRequest): Promise<void> {
    if (this.closed)
      return Promise.reject(new Error(`the PostgreSQL state store (schema ${this.schema}) is closed`));
    const done = new Promise<void>((resolve, reject) => {
      this.queue.push({ ...write, resolve, reject });
    });
    this.written = done.then(
      () => {},
      () => {},
    );
    if (!this.flushing) {
      this.flushing = true;
      // Let the rest of this tick's writes join the batch.
      setImmediate(() => void this.flushLoop());
    }
    return done;
  }

  /** Writes batch after batch until the queue is empty; one batch in flight keeps writes in order. */
  private async flushLoop(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      await this.writeBatch(batch);
    }
    this.flushing = false;
  }

  private async writeBatch(batch: QueuedWrite[]): Promise<void> {
    let missing: Set<QueuedWrite>;
    let fenced: Set<QueuedWrite>;
    try {
      ({ missing, fenced } = await this.applyBatch(batch));
    } catch (err) {
      if (batch.length === 1) {
        batch[0]?.reject(err);
        return;
      }
      // Nothing of the batch committed: write each alone, so one bad write fails only its caller.
      for (const write of batch) await this.writeBatch([write]);
      return;
    }
    for (const write of batch) {
      if (fenced.has(write)) write.reject(new LockLostError(write.fence ?? ""));
      else if (!missing.has(write)) write.resolve();
      else if (write.kind === "step")
        write.reject(new Error(`no step ${write.stepId} in run ${write.runId}`));
      else write.reject(new Error(`no run ${write.runId}`));
    }
  }

  /**
   * Commits the batch; returns the writes whose row does not exist and those whose fence no longer
   * holds the lock (both changed nothing).
   */
  private async applyBatch(
    batch: QueuedWrite[],
  ): Promise<{ missing: Set<QueuedWrite>; fenced: Set<QueuedWrite> }> {
    const fences = new Set(batch.map((w) => w.fence));
    const steps = batch.filter((w) => w.kind === "step");
    if (steps.length === batch.length && fences.size === 1) {
      // The common case, a run's step updates: one statement, which checks the fence itself.
      const [fence] = fences;
      const missing = await this.applyStepWrites(this.pool, steps, fence);
      if (fence === undefined || missing.size === 0) return { missing, fenced: new Set() };
      // A write left undone either found no row or was refused by its fence: which, its run's lock says.
      const tokens = await this.lockTokens(
        this.pool,
        [...missing].map((w) => w.runId),
      );
      const fenced = new Set(
        [...missing].filter((w) => tokens.has(w.runId) && tokens.get(w.runId) !== fence),
      );
      return { missing: new Set([...missing].filter((w) => !fenced.has(w))), fenced };
    }
    return this.transaction(async (c) => {
      const missing = new Set<QueuedWrite>();
      const fenced = new Set<QueuedWrite>();
      const guarded = batch.filter((w) => w.fence !== undefined);
      if (guarded.length > 0) {
        // FOR SHARE, as in applyStepWrites: no fenced write commits after a takeover.
        const tokens = await this.lockTokens(
          c,
          guarded.map((w) => w.runId),
          "FOR SHARE",
        );
        // A run that does not exist is not fenced: its write says it is missing.
        for (const w of guarded) if (tokens.has(w.runId) && tokens.get(w.runId) !== w.fence) fenced.add(w);
      }
      const writes = batch.filter((w) => !fenced.has(w));
      // Issue order, so a run update and a step update of one batch land as they were called.
      let i = 0;
      while (i < writes.length) {
        const write = writes[i] as QueuedWrite;
        if (write.kind === "run") {
          if (!(await this.applyRunWrite(c, write.runId, write.patch))) missing.add(write);
          i++;
          continue;
        }
        if (write.kind === "notice") {
          if (!(await this.applyNoticeWrite(c, write))) missing.add(write);
          i++;
          continue;
        }
        const run: QueuedWrite[] = [];
        while (i < writes.length && writes[i]?.kind === "step") run.push(writes[i++] as QueuedWrite);
        for (const w of await this.applyStepWrites(c, run)) missing.add(w);
      }
      return { missing, fenced };
    });
  }

  /**
   * All the step updates in one statement. Patches of the same step are merged in issue order
   * first, because UPDATE … FROM changes each row once; the outcome is the same as applying them
   * one after another.
   */
  private async applyStepWrites(
    c: pg.Pool | pg.PoolClient,
    writes: QueuedWrite[],
    fence?: string,
  ): Promise<Set<QueuedWrite>> {
    // The lock row of the run's cluster read FOR SHARE: a takeover (tryLock's FOR UPDATE) waits for
    // this statement's transaction to commit, and one after it sees the new holder; so no fenced
    // write commits after a takeover.
    const held = (runId: string, n: number) =>
      fence === undefined ? "" : ` AND ${this.held(runId, `$${n}`)}`;
    const merged = new Map<string, { runId: string; stepId: string; patch: Record<string, unknown> }>();
    for (const w of writes) {
      if (w.kind !== "step") continue;
      const key = JSON.stringify([w.runId, w.stepId]);
      const entry = merged.get(key) ?? { runId: w.runId, stepId: w.stepId, patch: {} };
      for (const [field, value] of Object.entries(w.patch))
        if (value !== undefined) entry.patch[field] = stepColumnValue(field as keyof StepPatch, value);
      merged.set(key, entry);
    }
    const only = merged.size === 1 ? [...merged.values()][0] : undefined;
    if (only) {
      // One step: a plain UPDATE plans and runs in about half the time of the jsonb join below.
      const values: unknown[] = [only.runId, only.stepId];
      const sets: string[] = [];
      for (const [field, [column]] of Object.entries(STEP_FIELDS)) {
        if (!(field in only.patch)) continue;
        values.push(only.patch[field]);
        sets.push(`${column} = $${values.length}`);
      }
      if (fence !== undefined) values.push(fence);
      const { rowCount } = await c.query(
        `UPDATE ${this.s}.steps SET ${sets.length > 0 ? sets.join(", ") : "state = state"} WHERE run_id = $1 AND id = $2${held("$1", values.length)}`,
        values,
      );
      return rowCount === 1 ? new Set() : new Set(writes);
    }
    const sets = Object.entries(STEP_FIELDS).map(
      ([field, [column, type]]) =>
        `${column} = CASE WHEN p.patch ? '${field}' THEN (p.patch->>'${field}')::${type} ELSE s.${column} END`,
    );
    // The steps of one run (the usual batch) check its lock once; steps of several, each row its run's.
    const runIds = new Set([...merged.values()].map((m) => m.runId));
    const [oneRun] = runIds.size === 1 ? runIds : [];
    const { rows } = await c.query<{ run_id: string; id: string }>(
      `UPDATE ${this.s}.steps AS s SET ${sets.join(", ")}
       FROM jsonb_to_recordset($1::jsonb) AS p(run_id text, step_id text, patch jsonb)
       WHERE s.run_id = p.run_id AND s.id = p.step_id${held(oneRun === undefined ? "s.run_id" : "$3", 2)}
       RETURNING s.run_id, s.id`,
      [
        JSON.stringify(
          [...merged.values()].map((m) => ({ run_id: m.runId, step_id: m.stepId, patch: m.patch })),
        ),
        ...(fence === undefined ? [] : oneRun === undefined ? [fence] : [fence, oneRun]),
      ],
    );
    const found = new Set(rows.map((r) => JSON.stringify([r.run_id, r.id])));
    return new Set(
      writes.filter((w) => w.kind === "step" && !found.has(JSON.stringify([w.runId, w.stepId]))),
    );
  }

  /** Appends the notice `decide` asks for; false when the run does not exist. */
  private async applyNoticeWrite(
    c: pg.PoolClient,
    write: Extract<WriteRequest, { kind: "notice" }>,
  ): Promise<boolean> {
    // The run's row lock queues the notices of one run from every process, so `last` stays the last.
    const run = await c.query(`SELECT 1 FROM ${this.s}.runs WHERE id = $1 FOR UPDATE`, [write.runId]);
    if (run.rowCount !== 1) return false;
    const { rows } = await c.query<{ seq: number; condition: string }>(
      `SELECT seq, condition FROM ${this.s}.notices WHERE run_id = $1 ORDER BY seq DESC LIMIT 1`,
      [write.runId],
    );
    const last = rows[0];
    const notice = write.decide(last?.condition ?? null);
    write.appended(null);
    if (!notice) return true;
    const seq = (last?.seq ?? 0) + 1;
    await c.query(
      `WITH n AS (
         INSERT INTO ${this.s}.notices (run_id, seq, condition, event, body, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)
       )
       INSERT INTO ${this.s}.deliveries (key, run_id, seq, receiver, next_at)
       SELECT d.key, $1, $2, d.receiver, $6 FROM json_to_recordset($7::json) AS d(key text, receiver json)`,
      [
        write.runId,
        seq,
        notice.condition,
        notice.event,
        notice.body === null || notice.body === undefined ? null : JSON.stringify(notice.body),
        notice.createdAt,
        JSON.stringify(notice.deliveries.map((d) => ({ key: d.key, receiver: d.receiver }))),
      ],
    );
    write.appended(seq);
    return true;
  }

  private async applyRunWrite(c: pg.PoolClient, id: string, patch: RunPatch): Promise<boolean> {
    const sets: string[] = [];
    const values: unknown[] = [id];
    for (const [field, column] of Object.entries(RUN_COLUMNS)) {
      const value = patch[field as keyof RunPatch];
      if (value === undefined) continue;
      values.push(runColumnValue(field as keyof RunPatch, value));
      sets.push(`${column} = $${values.length}`);
    }
    // An empty patch still checks that the run exists.
    const { rowCount } = await c.query(
      `UPDATE ${this.s}.runs SET ${sets.length > 0 ? sets.join(", ") : "status = status"} WHERE id = $1`,
      values,
    );
    return rowCount === 1;
  }

  /**
   * SQL that is true while the token (`$n`) holds the lock of the cluster of the run (an SQL
   * expression), reading the lock's row FOR SHARE: a takeover waits for the write's commit.
   */
  private held(runId: string, token: string): string {
    return `(SELECT l.token FROM ${this.s}.locks l WHERE l.cluster = (SELECT r.cluster FROM ${this.s}.runs r WHERE r.id = ${runId}) FOR SHARE) = ${token}`;
  }

  /** The token holding the lock of each run's cluster (null: none); a run that does not exist has no entry. */
  private async lockTokens(
    c: pg.Pool | pg.PoolClient,
    runIds: readonly string[],
    lock: "" | "FOR SHARE" = "",
  ): Promise<Map<string, string | null>> {
    const { rows } = await c.query<{ id: string; token: string | null }>(
      `SELECT r.id, (SELECT l.token FROM ${this.s}.locks l WHERE l.cluster = r.cluster ${lock}) AS token
         FROM ${this.s}.runs r WHERE r.id = ANY ($1::text[])`,
      [[...new Set(runIds)]],
    );
    return new Map(rows.map((r) => [r.id, r.token]));
  }

  /** Throws a LockLostError when the run exists and the token does not hold its cluster's lock. */
  private async refuseUnlessHeld(runId: string, token: string): Promise<void> {
    const tokens = await this.lockTokens(this.pool, [runId]);
    if (tokens.has(runId) && tokens.get(runId) !== token) throw new LockLostError(token);
  }

  private transaction<T>(work: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    return inTransaction(this.pool, work);
  }
}
