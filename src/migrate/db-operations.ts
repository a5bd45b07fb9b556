/**
 * What `ferry db …` stands on: the cluster's database, its catalog's migrations, and the migrator
 * over them; and where a run's backups are.
 */
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Catalog } from "../catalog/index.js";
import { type Cluster, stateFolder } from "../cluster/cluster.js";
import { OperationError, UserError } from "../errors.js";
import { readMigrations } from "./migration-files.js";
import type { MigrationTarget } from "./migration-target.js";
import { MIGRATION_DEFAULTS, type MigrationEvent, Migrator } from "./migrator.js";
import { openMigrationTarget } from "./open-target.js";
import { dialectOf } from "./plan-migrations.js";

export interface DbContext {
  readonly cluster: Cluster;
  readonly catalog: Catalog;
  /** The release the database runs, asked only if ferry has not met this database before. */
  readonly baseline: () => Promise<string>;
  readonly onEvent?: (event: MigrationEvent) => void;
}

/** Opens the migrator on the cluster's database for the length of `body`. */
export async function withMigrator<T>(
  ctx: DbContext,
  body: (m: Migrator, target: MigrationTarget) => Promise<T>,
): Promise<T> {
  const { cluster, catalog } = ctx;
  if (!cluster.database) throw new UserError(`${cluster.file}: database: names no database to migrate`);
  const files = readMigrations(catalog, dialectOf(cluster.database));
  const target = await openMigrationTarget(cluster.database, cluster.dir);
  try {
    const migrator = await Migrator.open(target, files, {
      ...MIGRATION_DEFAULTS,
      batch: cluster.migrations.batch,
      lockTimeoutMs: cluster.migrations.lockTimeoutMs,
      releases: catalog.releases.map((r) => r.version),
      baseline: ctx.baseline,
      ...(ctx.onEvent ? { onEvent: ctx.onEvent } : {}),
    });
    return await body(migrator, target);
  } finally {
    await target.close();
  }
}

/** The backup a run took before `hop` (default: its first hop, the state before the run). */
export function backupOf(cluster: Cluster, runId: string, hop?: string): string {
  const dir = join(stateFolder(cluster), "backups");
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.startsWith(`${runId}-hop-`));
  } catch {
    names = [];
  }
  const chosen = hop
    ? names.filter((n) => n.startsWith(`${runId}-hop-${hop}.`))
    : names.sort((a, b) => statSync(join(dir, a)).mtimeMs - statSync(join(dir, b)).mtimeMs).slice(0, 1);
  const name = chosen[0];
  if (!name) {
    throw new OperationError(`no backup of run ${runId}${hop ? ` before hop ${hop}` : ""} in ${dir}`);
  }
  return join(dir, name);
}
