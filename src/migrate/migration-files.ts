/**
 * A release's database migrations, read from its `migrations` folder (DESIGN.md "Database
 * migrations"): `expand/`, `contract/` and `data/`, SQL files run in name order.
 *
 * A file may be written for one database: `0002-index.postgres.sql` stands in for `0002-index.sql`
 * on PostgreSQL (also `.mysql.sql`, `.sqlite.sql`), so one catalog can serve a product that runs
 * on several. A data migration is one statement with `{{batch}}`, repeated until it changes no row.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Catalog } from "../catalog/index.js";
import { UserError } from "../errors.js";
import { splitStatements } from "./sql-statements.js";

export type MigrationPhase = "expand" | "data" | "contract";
export type Dialect = "postgres" | "mysql" | "sqlite";

/** The order of a release's phases: additive first, then the backfill, then what it makes safe to drop. */
export const PHASES: readonly MigrationPhase[] = ["expand", "data", "contract"];
const DIALECTS: readonly Dialect[] = ["postgres", "mysql", "sqlite"];

export interface MigrationFile {
  readonly release: string;
  readonly phase: MigrationPhase;
  /** The file's name, as the ledger records it. */
  readonly name: string;
  readonly sql: string;
  /** sha256 of the file's bytes, hex. */
  readonly checksum: string;
}

/** Where a file stands in the ledger: `1.1.0/expand/0001-add-column.sql`. */
export function fileKey(f: Pick<MigrationFile, "release" | "phase" | "name">): string {
  return `${f.release}/${f.phase}/${f.name}`;
}

/** Every migration of the catalog's releases for `dialect`, in the order they run. */
export function readMigrations(catalog: Catalog, dialect: Dialect): MigrationFile[] {
  const where = catalog.file ?? "the catalog";
  const files: MigrationFile[] = [];
  for (const release of catalog.releases) {
    if (!release.migrations) continue;
    const dir = release.migrations;
    if (!existsSync(dir) || !statSync(dir).isDirectory()) {
      throw new UserError(
        `${where}: release ${release.version}: its migrations folder ${dir} does not exist`,
      );
    }
    for (const entry of readdirSync(dir)) {
      if (!(PHASES as readonly string[]).includes(entry)) {
        throw new UserError(
          `${where}: release ${release.version}: ${join(dir, entry)} is not expand/, data/ or contract/`,
        );
      }
    }
    for (const phase of PHASES) {
      const phaseDir = join(dir, phase);
      if (!existsSync(phaseDir)) continue;
      for (const name of chooseFiles(readdirSync(phaseDir), dialect)) {
        const bytes = readFileSync(join(phaseDir, name));
        const sql = bytes.toString("utf8");
        if (phase === "data") checkDataMigration(join(phaseDir, name), sql);
        files.push({
          release: release.version,
          phase,
          name,
          sql,
          checksum: createHash("sha256").update(bytes).digest("hex"),
        });
      }
    }
  }
  return files;
}

/** The .sql files for `dialect`, by name: a dialect's own variant replaces the generic file. */
function chooseFiles(names: readonly string[], dialect: Dialect): string[] {
  const byBase = new Map<string, string>();
  for (const name of [...names].sort()) {
    if (!name.endsWith(".sql")) continue;
    const variant = DIALECTS.find((d) => name.endsWith(`.${d}.sql`));
    if (variant && variant !== dialect) continue;
    const base = variant ? name.slice(0, -`.${variant}.sql`.length) : name.slice(0, -".sql".length);
    if (variant || !byBase.has(base)) byBase.set(base, name);
  }
  return [...byBase.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, name]) => name);
}

function checkDataMigration(file: string, sql: string): void {
  const statements = splitStatements(sql);
  if (statements.length !== 1) {
    throw new UserError(
      `${file}: a data migration is one statement, run again until it changes no row; this file has ${statements.length}`,
    );
  }
  if (!sql.includes("{{batch}}")) {
    throw new UserError(
      `${file}: a data migration must limit its work to {{batch}} rows (e.g. LIMIT {{batch}})`,
    );
  }
}

/** The data statement with its batch size filled in. */
export function withBatch(sql: string, batch: number): string {
  return (splitStatements(sql)[0] ?? "").replaceAll("{{batch}}", String(batch));
}
