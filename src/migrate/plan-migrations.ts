/**
 * The migration steps of a run, over the product's real database: the executor's MigrationRunner.
 * It works from the migrations kept in the run's plan, not the files as they are now, and names
 * backups after the run and the hop, in the state folder.
 */
import { existsSync, mkdirSync, renameSync } from "node:fs";
import { join } from "node:path";
import type { Catalog } from "../catalog/index.js";
import { OperationError } from "../errors.js";
import type { PlanMigrations } from "../plan/build-plan.js";
import type { Faults } from "../run/faults.js";
import type { MigrationRunner } from "../run/migration-runner.js";
import { type Dialect, fileKey, type MigrationFile, readMigrations } from "./migration-files.js";
import type { MigrationTarget } from "./migration-target.js";
import { MIGRATION_DEFAULTS, Migrator } from "./migrator.js";
import { openMigrationTarget } from "./open-target.js";

export interface DatabaseMigrationsOptions {
  readonly url: string;
  /** The cluster file's folder, for a relative sqlite: path. */
  readonly baseDir: string;
  readonly releases: readonly string[];
  readonly files: readonly MigrationFile[];
  /** The release the database runs if ferry has not met it before: the run's start. */
  readonly baseline: string;
  readonly batch: number;
  readonly lockTimeoutMs: number;
  readonly backupDir: string;
  readonly runId: string;
  /** For the crash tests: `data-batch#N` is reached right after the N-th data batch committed. */
  readonly faults?: Faults;
}

const BACKUP_SUFFIX: Record<Dialect, string> = { postgres: ".dump", mysql: ".sql", sqlite: ".db" };

export class DatabaseMigrations implements MigrationRunner {
  private constructor(
    private readonly migrator: Migrator,
    private readonly target: MigrationTarget,
    private readonly files: ReadonlyMap<string, MigrationFile>,
    private readonly o: DatabaseMigrationsOptions,
  ) {}

  static async open(o: DatabaseMigrationsOptions): Promise<DatabaseMigrations> {
    const target = await openMigrationTarget(o.url, o.baseDir);
    let batches = 0;
    let migrator: Migrator;
    try {
      migrator = await Migrator.open(target, o.files, {
        ...MIGRATION_DEFAULTS,
        batch: o.batch,
        lockTimeoutMs: o.lockTimeoutMs,
        releases: o.releases,
        baseline: o.baseline,
        onEvent: (e) => {
          if (e.type === "batch") o.faults?.hit(`data-batch#${++batches}`);
        },
      });
    } catch (err) {
      await target.close();
      throw err;
    }
    return new DatabaseMigrations(migrator, target, new Map(o.files.map((f) => [fileKey(f), f])), o);
  }

  async ready(release: string): Promise<void> {
    await this.migrator.assertReady(release);
  }

  async run(key: string): Promise<string> {
    const file = this.#file(key);
    if (file.phase === "data") {
      const { rows } = await this.migrator.runData(file);
      return `${key}: ${rows} rows migrated, none left`;
    }
    return (await this.migrator.applySchema(file)) ? `${key}: applied` : `${key}: already applied`;
  }

  async isDone(key: string): Promise<boolean> {
    await this.migrator.refresh();
    return this.migrator.isDone(this.#file(key));
  }

  async markSchema(release: string): Promise<void> {
    await this.migrator.markSchema(release);
  }

  /** Written under another name and renamed when whole, so a cut-off backup is never restored. */
  async backup(name: string): Promise<string> {
    mkdirSync(this.o.backupDir, { recursive: true });
    const path = this.#backupPath(name);
    await this.target.backup(`${path}.partial`);
    renameSync(`${path}.partial`, path);
    return path;
  }

  /** Restores the hop's backup; when there is none whole, the backup never finished and nothing after it ran. */
  async restore(name: string): Promise<string> {
    const path = this.#backupPath(name);
    if (!existsSync(path))
      return `no whole backup ${path}: the backup had not finished, so no migration ran after it`;
    await this.target.restore(path);
    return `restored ${path}`;
  }

  async close(): Promise<void> {
    await this.target.close();
  }

  #backupPath(name: string): string {
    return join(this.o.backupDir, `${this.o.runId}-${name}${BACKUP_SUFFIX[this.target.dialect]}`);
  }

  #file(key: string): MigrationFile {
    const f = this.files.get(key);
    if (!f) throw new OperationError(`the run's plan has no migration ${key}`);
    return f;
  }
}

/** Which database a `database:` URL names, without connecting to it. */
export function dialectOf(url: string): Dialect {
  if (/^postgres(ql)?:/i.test(url)) return "postgres";
  if (/^(mysql|mariadb):/i.test(url)) return "mysql";
  return "sqlite";
}

/** What a plan needs to migrate the cluster's database: the catalog's release order and its files. */
export function migrationsFor(database: string | undefined, catalog: Catalog): PlanMigrations {
  if (!database) return { releases: [], files: [] };
  return {
    releases: catalog.releases.map((r) => r.version),
    files: readMigrations(catalog, dialectOf(database)),
  };
}
