/**
 * The fleet store on PostgreSQL, in the state store's schema: any number of workers on any number
 * of machines claim cluster runs through it.
 *
 * A claim is one transaction: the fleet run's row is locked FOR NO KEY UPDATE (so the count of live
 * claims that `maxParallel` bounds is read and changed by one worker at a time), the claim rules
 * decide, and the cluster runs are picked FOR UPDATE SKIP LOCKED (a row being renewed is not waited
 * for). What may change the fleet run's status (a failure, a cluster given back, pause, resume,
 * abort, settling) locks its row FOR UPDATE, so it takes turns with the claims and with each other;
 * a cluster run that ends done takes no turn (see finish). Every transaction that locks both takes
 * the fleet row first, so none can deadlock. No queue
 * library: maxParallel across workers, groups in order with soak, maxFailures and lapsed claims
 * first are ferry's own rules, which a job queue would not know, and pg-boss or graphile-worker
 * would add a second schema and a second polling model beside the journal's.
 *
 * Times come from the server's clock, as the run lock's do, so workers whose clocks disagree still
 * agree on when a claim lapses.
 *
 * Claims, renewals and outcomes commit without waiting for the disk (synchronous_commit off): a
 * crash of the server may lose the last few, and nothing is lost by that, since the clusters'
 * journals (durable, in their own stores) are the truth: a lost claim is claimed again and its run
 * resumed or found done, behind the cluster's own lock; a lost renewal lets a claim lapse sooner.
 * What an operator records (a fleet run, a pause, an abort) waits for the disk as usual.
 */
import pg from "pg";
import { inTransaction } from "../store/pg-transaction.js";
import { PostgresStore } from "../store/postgres-store.js";
import {
  decideClaims,
  doneMaySettle,
  failuresToName,
  settleFleet,
  steerFleet,
  steerReason,
} from "./claim-rules.js";
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
import type {
  ClaimedClusterRun,
  ClaimKey,
  ClusterRunOutcome,
  ClusterRunSummary,
  FleetRunRecord,
  FleetStatus,
  FleetStore,
  NewClusterRun,
  Renewal,
} from "./fleet-store.js";
import { keyOf } from "./fleet-store.js";

export interface PostgresFleetStoreOptions {
  readonly connectionString: string;
  /** The state store's schema; default `ferry`. */
  readonly schema?: string;
  /** Connections in the pool; default 4. */
  readonly poolSize?: number;
}

const NOW = "(floor(extract(epoch FROM clock_timestamp()) * 1000))::bigint";

export class PostgresFleetStore implements FleetStore {
  private readonly pool: pg.Pool;
  private readonly s: string;
  private readonly fleets: string;
  private readonly clusters: string;

  constructor(private readonly options: PostgresFleetStoreOptions) {
    const schema = options.schema ?? "ferry";
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(schema)) {
      throw new Error(`invalid PostgreSQL schema name ${JSON.stringify(schema)}: use letters, digits and _`);
    }
    this.s = `"${schema}"`;
    this.fleets = `${this.s}.fleet_runs`;
    this.clusters = `${this.s}.fleet_cluster_runs`;
    this.pool = new pg.Pool({
      connectionString: options.connectionString,
      max: options.poolSize ?? 4,
      connectionTimeoutMillis: 10_000,
      allowExitOnIdle: true,
      options: "-c synchronous_commit=off",
    });
    this.pool.on("error", () => {});
  }

  /** The tables are the state store's (schema version 11): its migrations create them. */
  async init(): Promise<void> {
    const store = new PostgresStore({
      connectionString: this.options.connectionString,
      ...(this.options.schema ? { schema: this.options.schema } : {}),
      poolSize: 1,
    });
    try {
      await store.init();
    } finally {
      await store.close();
    }
  }

  async createFleetRun(
    run: Omit<FleetRunRecord, "endedAt" | "reason">,
    clusters: readonly NewClusterRun[],
  ): Promise<void> {
    const ordered = inStartOrder(clusters, run.strategy.groups);
    await this.transaction(async (c) => {
      await c.query("SET LOCAL synchronous_commit TO on");
      await c.query(
        `INSERT INTO ${this.fleets} (id, fleet, target, strategy, status, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [
          run.id,
          run.fleet,
          run.target,
          JSON.stringify(run.strategy),
          run.status,
          run.createdBy,
          run.createdAt,
        ],
      );
      const col = <T>(f: (x: (typeof ordered)[number]) => T) => ordered.map(f);
      await c.query(
        `INSERT INTO ${this.clusters}
           (fleet_run_id, cluster, ord, grp, grp_ord, state, error, version, file, cluster_text, catalog_file, catalog_text, ended_at)
         SELECT $1, t.cluster, t.ord, t.grp, t.grp_ord, t.state, t.error, t.version, t.file, t.ct, t.cf, t.cat,
                CASE WHEN t.state = 'refused' THEN $2::bigint END
         FROM unnest($3::text[], $4::int[], $5::text[], $6::int[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[])
           AS t(cluster, ord, grp, grp_ord, state, error, version, file, ct, cf, cat)`,
        [
          run.id,
          run.createdAt,
          col(({ c }) => c.cluster),
          col(({ ord }) => ord),
          col(({ c }) => c.group),
          col(({ grp }) => grp),
          col(({ c }) => (c.refused === undefined ? "pending" : "refused")),
          col(({ c }) => c.refused ?? null),
          col(({ c }) => c.version ?? null),
          col(({ c }) => c.file),
          col(({ c }) => c.clusterText),
          col(({ c }) => c.catalogFile),
          col(({ c }) => c.catalogText),
        ],
      );
      // A fleet with nothing to run (every cluster refused) ends as it is recorded.
      await this.settle(c, run.id);
    });
  }

  async getFleetRun(id: string): Promise<FleetRunRecord | undefined> {
    const { rows } = await this.pool.query<FleetRunRow>(`SELECT * FROM ${this.fleets} WHERE id = $1`, [id]);
    return rows[0] && toFleetRun(rows[0]);
  }

  async latestFleetRun(fleet: string): Promise<FleetRunRecord | undefined> {
    const { rows } = await this.pool.query<FleetRunRow>(
      `SELECT * FROM ${this.fleets} WHERE fleet = $1 ORDER BY ord DESC LIMIT 1`,
      [fleet],
    );
    return rows[0] && toFleetRun(rows[0]);
  }

  async listFleetRuns(fleet?: string): Promise<FleetRunRecord[]> {
    const { rows } =
      fleet === undefined
        ? await this.pool.query<FleetRunRow>(`SELECT * FROM ${this.fleets} ORDER BY ord DESC`)
        : await this.pool.query<FleetRunRow>(
            `SELECT * FROM ${this.fleets} WHERE fleet = $1 ORDER BY ord DESC`,
            [fleet],
          );
    return rows.map(toFleetRun);
  }

  async clusterRuns(fleetRunId: string): Promise<ClusterRunSummary[]> {
    const { rows } = await this.pool.query<ClusterRunRow>(
      `SELECT ${SUMMARY_COLUMNS} FROM ${this.clusters} WHERE fleet_run_id = $1 ORDER BY ord`,
      [fleetRunId],
    );
    return rows.map(toClusterRun);
  }

  async claim(worker: string, leaseMs: number, max = 1): Promise<ClaimedClusterRun[]> {
    const { rows } = await this.pool.query<{ id: string }>(
      `SELECT id FROM ${this.fleets} WHERE ended_at IS NULL ORDER BY ord`,
    );
    for (const { id } of rows) {
      const claimed = await this.transaction((c) => this.claimIn(c, id, worker, leaseMs, max));
      if (claimed.length > 0) return claimed;
    }
    return [];
  }

  private async claimIn(
    c: pg.PoolClient,
    fleetRunId: string,
    worker: string,
    leaseMs: number,
    max: number,
  ): Promise<ClaimedClusterRun[]> {
    // The counts are read by a statement of their own, after the lock is granted: a statement's
    // snapshot is taken when it starts, so counts read by the one that waited for the lock would
    // miss the claims committed meanwhile, and maxParallel would not hold.
    const { rows } = await c.query<FleetRunRow & { now: string }>(
      `SELECT *, ${NOW} AS now FROM ${this.fleets} WHERE id = $1 AND ended_at IS NULL FOR NO KEY UPDATE`,
      [fleetRunId],
    );
    const row = rows[0];
    if (!row) return [];
    const now = Number(row.now);
    const counts = await c.query<CountRow>(countsSql(this.clusters, "$1", "$2"), [fleetRunId, now]);
    const fleet = toFleetRun(row);
    const batch = decideClaims(fleet, toCounts(fleet.strategy.groups.length, counts.rows), now, max);
    if (batch.takeovers + batch.starts === 0) return [];
    const { rows: claimed } = await c.query<ClaimRow & { previous: string | null; took_over: number }>(
      // MATERIALIZED: evaluated once. As a plain subquery of UPDATE … FROM, the planner may scan it
      // again per row, and SKIP LOCKED then hands each scan other rows: one claim took ten.
      `WITH lapsed AS MATERIALIZED (
         SELECT cluster, worker FROM ${this.clusters}
         WHERE fleet_run_id = $1 AND state IN ('claimed', 'running') AND lease_until < $4
         ORDER BY lease_until, ord LIMIT $5 FOR UPDATE SKIP LOCKED),
       fresh AS MATERIALIZED (
         SELECT cluster, worker FROM ${this.clusters}
         WHERE fleet_run_id = $1 AND state = 'pending' AND grp_ord = $7
         ORDER BY ord LIMIT $8 FOR UPDATE SKIP LOCKED),
       p AS (SELECT cluster, worker, 1 AS took_over FROM lapsed UNION ALL SELECT cluster, worker, 0 FROM fresh)
       UPDATE ${this.clusters} AS c SET
         state = CASE WHEN c.state = 'pending' THEN 'claimed' ELSE c.state END,
         worker = $2, lease_until = $4::bigint + $3::bigint, claimed_at = $4,
         takeovers = c.takeovers + p.took_over
       FROM p
       WHERE c.fleet_run_id = $1 AND c.cluster = p.cluster
       RETURNING c.*, p.worker AS previous, p.took_over, $6::text AS target`,
      [fleetRunId, worker, leaseMs, now, batch.takeovers, fleet.target, batch.group, batch.starts],
    );
    return claimed
      .sort((a, b) => b.took_over - a.took_over || a.ord - b.ord)
      .map((r) => toClaim(r, r.took_over ? r.previous : null));
  }

  async renew(worker: string, keys: readonly ClaimKey[], leaseMs: number): Promise<Renewal> {
    const out = new Map<string, "lost" | FleetRunRecord["status"]>(keys.map((k) => [keyOf(k), "lost"]));
    if (keys.length === 0) return out;
    const { rows } = await this.pool.query<{ fleet_run_id: string; cluster: string; status: string }>(
      `UPDATE ${this.clusters} AS c SET lease_until = ${NOW} + $2::bigint
       FROM ${this.fleets} AS f, unnest($3::text[], $4::text[]) AS k(fleet_run_id, cluster)
       WHERE c.fleet_run_id = k.fleet_run_id AND c.cluster = k.cluster AND f.id = c.fleet_run_id
         AND c.worker = $1 AND c.state IN ('claimed', 'running')
       RETURNING c.fleet_run_id, c.cluster, f.status`,
      [worker, leaseMs, keys.map((k) => k.fleetRunId), keys.map((k) => k.cluster)],
    );
    for (const r of rows)
      out.set(keyOf({ fleetRunId: r.fleet_run_id, cluster: r.cluster }), r.status as never);
    return out;
  }

  async markRunning(worker: string, key: ClaimKey, runId: string, version: string | null): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `UPDATE ${this.clusters} SET state = 'running', run_id = $4, version = coalesce($5, version),
         started_at = coalesce(started_at, ${NOW})
       WHERE fleet_run_id = $1 AND cluster = $2 AND worker = $3 AND state IN ('claimed', 'running')`,
      [key.fleetRunId, key.cluster, worker, runId, version],
    );
    return rowCount === 1;
  }

  /**
   * A cluster run that reached the target is recorded without the fleet run's lock: it only lowers
   * the live count a claim reads (a claim that read it before is merely cautious), and it changes
   * the fleet run's status only as doneMaySettle says. After its commit it waits (FOR KEY SHARE) for
   * any transaction that may change the status (FOR UPDATE; claims' FOR NO KEY UPDATE does not make
   * it wait) and only then reads, so of the two, one sees the other: either that one's counts
   * include this cluster's end, or this one reads what that one changed, and settles under the
   * lock. Any other outcome (a failure counts toward maxFailures, a cluster given back is pending
   * again) is recorded under the lock, in turn with the claims.
   */
  async finish(worker: string, key: ClaimKey, outcome: ClusterRunOutcome): Promise<boolean> {
    const values = [
      key.fleetRunId,
      key.cluster,
      worker,
      outcome.state,
      outcome.error ?? null,
      outcome.version ?? null,
      outcome.state === "pending",
    ];
    const record = `UPDATE ${this.clusters} SET state = $4, error = $5, version = coalesce($6, version),
        lease_until = NULL, ended_at = CASE WHEN $7 THEN NULL ELSE ${NOW} END,
        claimed_at = CASE WHEN $7 THEN NULL ELSE claimed_at END
      WHERE fleet_run_id = $1 AND cluster = $2 AND worker = $3 AND state IN ('claimed', 'running')`;
    if (outcome.state === "done") {
      if ((await this.pool.query(record, values)).rowCount !== 1) return false;
      await this.pool.query(`SELECT 1 FROM ${this.fleets} WHERE id = $1 FOR KEY SHARE`, [key.fleetRunId]);
      const { rows } = await this.pool.query<{ status: FleetStatus; live: boolean; pending: boolean }>(
        `SELECT status,
           EXISTS (SELECT 1 FROM ${this.clusters} WHERE fleet_run_id = $1 AND state IN ('claimed', 'running')) AS live,
           EXISTS (SELECT 1 FROM ${this.clusters} WHERE fleet_run_id = $1 AND state = 'pending') AS pending
         FROM ${this.fleets} WHERE id = $1`,
        [key.fleetRunId],
      );
      const after = rows[0];
      if (after && doneMaySettle(after.status, after.live, after.pending)) {
        await this.transaction(async (c) => {
          await this.lockFleetRun(c, key.fleetRunId);
          await this.settle(c, key.fleetRunId);
        });
      }
      return true;
    }
    return this.transaction(async (c) => {
      // The fleet row first, as a claim takes it: the counts settle() reads are then this worker's alone.
      await this.lockFleetRun(c, key.fleetRunId);
      if ((await c.query(record, values)).rowCount !== 1) return false;
      await this.settle(c, key.fleetRunId);
      return true;
    });
  }

  private async lockFleetRun(c: pg.PoolClient, fleetRunId: string): Promise<void> {
    await c.query(`SELECT 1 FROM ${this.fleets} WHERE id = $1 FOR UPDATE`, [fleetRunId]);
  }

  async setFleetStatus(
    fleetRunId: string,
    action: "pause" | "resume" | "abort",
    by: string,
  ): Promise<FleetRunRecord | undefined> {
    return this.transaction(async (c) => {
      await c.query("SET LOCAL synchronous_commit TO on");
      const { rows } = await c.query<FleetRunRow>(`SELECT * FROM ${this.fleets} WHERE id = $1 FOR UPDATE`, [
        fleetRunId,
      ]);
      const row = rows[0];
      if (!row) return undefined;
      const fleet = toFleetRun(row);
      if (fleet.endedAt !== null) return fleet;
      const next = steerFleet(fleet.status, action);
      if (next === undefined) return fleet;
      const reason = steerReason(action, by);
      await c.query(`UPDATE ${this.fleets} SET status = $2, reason = $3 WHERE id = $1`, [
        fleetRunId,
        next,
        reason,
      ]);
      await this.settle(c, fleetRunId);
      const after = await c.query<FleetRunRow>(`SELECT * FROM ${this.fleets} WHERE id = $1`, [fleetRunId]);
      return after.rows[0] && toFleetRun(after.rows[0]);
    });
  }

  /** Moves the fleet run to the status its counts call for (claim-rules.ts settleFleet); under its row lock. */
  private async settle(c: pg.PoolClient, fleetRunId: string): Promise<void> {
    const { rows } = await c.query<FleetRunRow & { now: string }>(
      `SELECT *, ${NOW} AS now FROM ${this.fleets} WHERE id = $1`,
      [fleetRunId],
    );
    const row = rows[0];
    if (!row) return;
    const fleet = toFleetRun(row);
    const counts = await c.query<CountRow>(countsSql(this.clusters, "$1", "$2"), [
      fleetRunId,
      Number(row.now),
    ]);
    const next = settleFleet(fleet, toCounts(fleet.strategy.groups.length, counts.rows));
    if (!next) return;
    let reason = fleet.reason;
    const naming = failuresToName(fleet.status, next.status, fleet.strategy.maxFailures);
    if (naming) {
      const failed = await c.query<{ cluster: string; error: string | null }>(
        `SELECT cluster, error FROM ${this.clusters}
         WHERE fleet_run_id = $1 AND state IN ('failed', 'rolled-back', 'refused') ORDER BY ended_at, ord`,
        [fleetRunId],
      );
      reason = failuresReason(naming.limit, failed.rows);
    }
    if (next.final && next.status === "aborted") {
      await c.query(
        `UPDATE ${this.clusters} SET state = 'aborted', error = $2, ended_at = ${NOW}
         WHERE fleet_run_id = $1 AND state = 'pending'`,
        [fleetRunId, NOT_STARTED_ABORTED],
      );
    }
    await c.query(
      `UPDATE ${this.fleets} SET status = $2, reason = $3, ended_at = CASE WHEN $4 THEN ${NOW} END WHERE id = $1`,
      [fleetRunId, next.status, reason, next.final],
    );
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  private transaction<T>(work: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    return inTransaction(this.pool, work);
  }
}
