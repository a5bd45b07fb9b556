/**
 * What the executor needs from the product's database to run a plan's migration steps. The core
 * declares it; src/migrate implements it over a real database (plan-migrations.ts).
 */
export interface MigrationRunner {
  /** Preflight: checksums hold, and every data migration up to `release` is complete (Cinder). */
  ready(release: string): Promise<void>;
  /** Runs one file (`1.1.0/expand/0001-add.sql`), a data migration to its end; says what it did. */
  run(file: string): Promise<string>;
  isDone(file: string): Promise<boolean>;
  markSchema(release: string): Promise<void>;
  /** A backup named `name` for this run; returns where it is. */
  backup(name: string): Promise<string>;
  /** Says what it did (there may have been no whole backup to restore). */
  restore(name: string): Promise<string>;
}
