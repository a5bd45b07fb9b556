/**
 * The fleet store in a SQLite file, for a fleet worked from one machine by one worker at a time
 * (DESIGN.md: "SQLite only when one worker runs"): `ferry fleet apply` working its own run, or a
 * `ferry worker --state fleet.db` taking it up after that process died.
 *
 * One worker at a time is a rule of this store, not a hope: a claim is refused while another
 * worker holds a claim whose lease has not lapsed, so a second worker waits until the first has
 * finished its clusters or died (its claims then lapse, and are taken up as on PostgreSQL). Every
 * transaction takes SQLite's write lock up front (BEGIN IMMEDIATE), so the counts the claim rules
 * read cannot change under them, as the fleet run's row lock does on PostgreSQL. The rules
 * themselves are claim-rules.ts, shared with the PostgreSQL store.
 *
 * The tables are the state store's (schema version 11), so a fleet may share its file with the
 * clusters' journals. Every commit is synced (WAL, synchronous = FULL): a claim is one commit per
 * cluster run, nothing a fleet on one machine would notice.
 */
import Database from "better-sqlite3";
import { SqliteStore } from "../store/sqlite-store.js";
import { decideClaims, failuresToName, settleFleet, steerFleet, steerReason } from "./claim-rules.js";
import {
  type ClaimRow,
  type ClusterRunRow,
  type CountRow,
  countsSql,
  type FleetRunRow,
  failuresReason,
  inStartOrder,
  NOT_STARTED_ABORTED,
  SUMMARY_COLUMNS,
  toClaim,
  toClusterRun,
  toCounts,
  toFleetRun,
} from "./fleet-rows.js";
import {
  type ClaimedClusterRun,
  type ClaimKey,
  type ClusterRunOutcome,
  type ClusterRunSummary,
  type FleetRunRecord,
  type FleetStatus,
  type FleetStore,
  keyOf,
  type NewClusterRun,
  type Renewal,
} from "./fleet-store.js";

const LIVE = "('claimed', 'running')";

export class SqliteFleetStore implements FleetStore {
  private database: Database.Database | undefined;

  constructor(
    readonly file: string,
    private readonly options: { busyTimeoutMs?: number } = {},
  ) {}

  /** The state store's migrations create the tables (and check the file is whole). */
  async init(): Promise<void> {
    if (this.database) return;
    const schema = new SqliteStore(this.file, this.options);
    await schema.init();
    await schema.close();
    const timeout = this.options.busyTimeoutMs ?? 10_000;
    const db = new Database(this.file, { timeout });
    db.pragma(`busy_timeout = ${timeout}`);
    db.pragma("synchronous = FULL");
    db.pragma("foreign_keys = ON");
    this.database = db;
  }

  async createFleetRun(
    run: Omit<FleetRunRecord, "endedAt" | "reason">,
    clusters: readonly NewClusterRun[],
  ): Promise<void> {
    const ordered = inStartOrder(clusters, run.strategy.groups);
    this.write(() => {
      const db = this.db();
      db.prepare(
        `INSERT INTO fleet_runs (id, ord, fleet, target, strategy, status, created_by, created_at)
         VALUES (?, (SELECT coalesce(max(ord), 0) + 1 FROM fleet_runs), ?, ?, ?, ?, ?, ?)`,
      ).run(
        run.id,
        run.fleet,
        run.target,
        JSON.stringify(run.strategy),
        run.status,
        run.createdBy,
        run.createdAt,
      );
      const insert = db.prepare(
        `INSERT INTO fleet_cluster_runs
           (fleet_run_id, cluster, ord, grp, grp_ord, state, error, version, file, cluster_text, catalog_file, catalog_text, ended_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      for (const { c, ord, grp } of ordered) {
        const refused = c.refused !== undefined;
        insert.run(
          run.id,
          c.cluster,
          ord,
          c.group,
          grp,
          refused ? "refused" : "pending",
          c.refused ?? null,
          c.version ?? null,
          c.file,
          c.clusterText,
          c.catalogFile,
          c.catalogText,
          refused ? run.createdAt : null,
        );
      }
      this.settle(run.id, Date.now());
    });
  }

  async getFleetRun(id: string): Promise<FleetRunRecord | undefined> {
    return this.fleetRun(id);
  }

  async latestFleetRun(fleet: string): Promise<FleetRunRecord | undefined> {
    const row = this.db()
      .prepare("SELECT * FROM fleet_runs WHERE fleet = ? ORDER BY ord DESC LIMIT 1")
      .get(fleet) as FleetRunRow | undefined;
    return row && toFleetRun(row);
  }

  async listFleetRuns(fleet?: string): Promise<FleetRunRecord[]> {
    const rows = (
      fleet === undefined
        ? this.db().prepare("SELECT * FROM fleet_runs ORDER BY ord DESC").all()
        : this.db().prepare("SELECT * FROM fleet_runs WHERE fleet = ? ORDER BY ord DESC").all(fleet)
    ) as FleetRunRow[];
    return rows.map(toFleetRun);
  }

  async clusterRuns(fleetRunId: string): Promise<ClusterRunSummary[]> {
    const rows = this.db()
      .prepare(`SELECT ${SUMMARY_COLUMNS} FROM fleet_cluster_runs WHERE fleet_run_id = ? ORDER BY ord`)
      .all(fleetRunId) as ClusterRunRow[];
    return rows.map(toClusterRun);
  }

  async claim(worker: string, leaseMs: number, max = 1): Promise<ClaimedClusterRun[]> {
    return this.write(() => {
      const db = this.db();
      const now = Date.now();
      const other = db
        .prepare(
          `SELECT c.worker FROM fleet_cluster_runs c JOIN fleet_runs f ON f.id = c.fleet_run_id
           WHERE f.ended_at IS NULL AND c.state IN ${LIVE} AND c.worker <> ? AND c.lease_until >= ?
           LIMIT 1`,
        )
        .get(worker, now);
      if (other) return [];
      const open = db
        .prepare("SELECT * FROM fleet_runs WHERE ended_at IS NULL ORDER BY ord")
        .all() as FleetRunRow[];
      for (const row of open) {
        const claimed = this.claimIn(toFleetRun(row), worker, leaseMs, now, max);
        if (claimed.length > 0) return claimed;
      }
      return [];
    });
  }

  private claimIn(
    fleet: FleetRunRecord,
    worker: string,
    leaseMs: number,
    now: number,
    max: number,
  ): ClaimedClusterRun[] {
    const db = this.db();
    const batch = decideClaims(fleet, this.counts(fleet, now), now, max);
    if (batch.takeovers + batch.starts === 0) return [];
    const lapsed = db
      .prepare(
        `SELECT cluster, worker FROM fleet_cluster_runs
         WHERE fleet_run_id = ? AND state IN ${LIVE} AND lease_until < ? ORDER BY lease_until, ord LIMIT ?`,
      )
      .all(fleet.id, now, batch.takeovers) as { cluster: string; worker: string | null }[];
    const fresh = db
      .prepare(
        `SELECT cluster, worker FROM fleet_cluster_runs
         WHERE fleet_run_id = ? AND state = 'pending' AND grp_ord = ? ORDER BY ord LIMIT ?`,
      )
      .all(fleet.id, batch.group, batch.starts) as { cluster: string; worker: string | null }[];
    const take = db.prepare(
      `UPDATE fleet_cluster_runs SET
         state = CASE WHEN state = 'pending' THEN 'claimed' ELSE state END,
         worker = ?, lease_until = ?, claimed_at = ?, takeovers = takeovers + ?
       WHERE fleet_run_id = ? AND cluster = ?
       RETURNING *, ? AS target`,
    );
    const claim = (picked: { cluster: string; worker: string | null }, takeover: boolean) =>
      toClaim(
        take.get(
          worker,
          now + leaseMs,
          now,
          takeover ? 1 : 0,
          fleet.id,
          picked.cluster,
          fleet.target,
        ) as ClaimRow,
        takeover ? picked.worker : null,
      );
    return [...lapsed.map((p) => claim(p, true)), ...fresh.map((p) => claim(p, false))];
  }

  async renew(worker: string, keys: readonly ClaimKey[], leaseMs: number): Promise<Renewal> {
    const out = new Map<string, FleetStatus | "lost">(keys.map((k) => [keyOf(k), "lost"]));
    if (keys.length === 0) return out;
    return this.write(() => {
      const db = this.db();
      const extend = db.prepare(
        `UPDATE fleet_cluster_runs SET lease_until = ?
         WHERE fleet_run_id = ? AND cluster = ? AND worker = ? AND state IN ${LIVE}`,
      );
      const status = db.prepare("SELECT status FROM fleet_runs WHERE id = ?");
      const until = Date.now() + leaseMs;
      for (const k of keys) {
        if (extend.run(until, k.fleetRunId, k.cluster, worker).changes !== 1) continue;
        const row = status.get(k.fleetRunId) as { status: FleetStatus } | undefined;
        if (row) out.set(keyOf(k), row.status);
      }
      return out;
    });
  }

  async markRunning(worker: string, key: ClaimKey, runId: string, version: string | null): Promise<boolean> {
    return this.write(
      () =>
        this.db()
          .prepare(
            `UPDATE fleet_cluster_runs SET state = 'running', run_id = ?, version = coalesce(?, version),
               started_at = coalesce(started_at, ?)
             WHERE fleet_run_id = ? AND cluster = ? AND worker = ? AND state IN ${LIVE}`,
          )
          .run(runId, version, Date.now(), key.fleetRunId, key.cluster, worker).changes === 1,
    );
  }

  async finish(worker: string, key: ClaimKey, outcome: ClusterRunOutcome): Promise<boolean> {
    return this.write(() => {
      const now = Date.now();
      const back = outcome.state === "pending";
      const { changes } = this.db()
        .prepare(
          `UPDATE fleet_cluster_runs SET state = ?, error = ?, version = coalesce(?, version),
             lease_until = NULL, ended_at = ?, claimed_at = CASE WHEN ? THEN NULL ELSE claimed_at END
           WHERE fleet_run_id = ? AND cluster = ? AND worker = ? AND state IN ${LIVE}`,
        )
        .run(
          outcome.state,
          outcome.error ?? null,
          outcome.version ?? null,
          back ? null : now,
          back ? 1 : 0,
          key.fleetRunId,
          key.cluster,
          worker,
        );
      if (changes !== 1) return false;
      this.settle(key.fleetRunId, now);
      return true;
    });
  }

  async setFleetStatus(
    fleetRunId: string,
    action: "pause" | "resume" | "abort",
    by: string,
  ): Promise<FleetRunRecord | undefined> {
    return this.write(() => {
      const fleet = this.fleetRun(fleetRunId);
      if (!fleet || fleet.endedAt !== null) return fleet;
      const next = steerFleet(fleet.status, action);
      if (next === undefined) return fleet;
      this.db()
        .prepare("UPDATE fleet_runs SET status = ?, reason = ? WHERE id = ?")
        .run(next, steerReason(action, by), fleetRunId);
      this.settle(fleetRunId, Date.now());
      return this.fleetRun(fleetRunId);
    });
  }

  async close(): Promise<void> {
    this.database?.close();
    this.database = undefined;
  }

  private counts(fleet: FleetRunRecord, now: number) {
    const rows = this.db()
      .prepare(countsSql("fleet_cluster_runs", "@fleet", "@now"))
      .all({ fleet: fleet.id, now }) as CountRow[];
    return toCounts(fleet.strategy.groups.length, rows);
  }

  /** Moves the fleet run to the status its counts call for (claim-rules.ts settleFleet). */
  private settle(fleetRunId: string, now: number): void {
    const db = this.db();
    const fleet = this.fleetRun(fleetRunId);
    if (!fleet) return;
    const next = settleFleet(fleet, this.counts(fleet, now));
    if (!next) return;
    let reason = fleet.reason;
    const naming = failuresToName(fleet.status, next.status, fleet.strategy.maxFailures);
    if (naming) {
      const failed = db
        .prepare(
          `SELECT cluster, error FROM fleet_cluster_runs
           WHERE fleet_run_id = ? AND state IN ('failed', 'rolled-back', 'refused') ORDER BY ended_at, ord`,
        )
        .all(fleetRunId) as { cluster: string; error: string | null }[];
      reason = failuresReason(naming.limit, failed);
    }
    if (next.final && next.status === "aborted") {
      db.prepare(
        `UPDATE fleet_cluster_runs SET state = 'aborted', error = ?, ended_at = ?
         WHERE fleet_run_id = ? AND state = 'pending'`,
      ).run(NOT_STARTED_ABORTED, now, fleetRunId);
    }
    db.prepare("UPDATE fleet_runs SET status = ?, reason = ?, ended_at = ? WHERE id = ?").run(
      next.status,
      reason,
      next.final ? now : null,
      fleetRunId,
    );
  }

  private fleetRun(id: string): FleetRunRecord | undefined {
    const row = this.db().prepare("SELECT * FROM fleet_runs WHERE id = ?").get(id) as FleetRunRow | undefined;
    return row && toFleetRun(row);
  }

  private db(): Database.Database {
    if (!this.database) throw new Error(`the fleet store ${this.file} is not open (call init first)`);
    return this.database;
  }

  /** One write transaction, under SQLite's write lock from its start. */
  private write<T>(work: () => T): Promise<T> {
    try {
      return Promise.resolve(this.db().transaction(work).immediate());
    } catch (err) {
      return Promise.reject(err);
    }
  }
}
