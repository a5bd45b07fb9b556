/**
 * Opens the product's database named by the cluster file's `database:` URL, by its scheme:
 * `postgres://` (or postgresql://), `mysql://` (or mariadb://), `sqlite:PATH` (relative to the
 * cluster file's folder; `sqlite:///abs/path` too). The drivers load only when used.
 */
import { resolve } from "node:path";
import { OperationError, UserError } from "../errors.js";
import { maskPassword, scrubSecrets, secretsIn } from "../mask-password.js";
import type { MigrationTarget } from "./migration-target.js";

export async function openMigrationTarget(url: string, baseDir: string): Promise<MigrationTarget> {
  let target: MigrationTarget | undefined;
  try {
    target = await create(url, baseDir);
    await target.init();
  } catch (err) {
    await target?.close().catch(() => {});
    if (err instanceof UserError) throw err;
    // A driver's message may quote what it was given; the cause is kept only when it holds no secret.
    const secrets = secretsIn(url);
    const reason = scrubSecrets((err as Error).message, secrets);
    throw new OperationError(
      `cannot open the database ${maskPassword(url)}: ${reason}`,
      secrets.length === 0 ? { cause: err } : undefined,
    );
  }
  return target;
}

async function create(url: string, baseDir: string): Promise<MigrationTarget> {
  if (/^postgres(ql)?:\/\//i.test(url)) {
    const { PostgresTarget } = await import("./postgres-target.js");
    return new PostgresTarget(url);
  } else if (/^(mysql|mariadb):\/\//i.test(url)) {
    const { MysqlTarget } = await import("./mysql-target.js");
    return new MysqlTarget(url.replace(/^mariadb:/i, "mysql:"));
  } else if (/^sqlite:/i.test(url)) {
    const path = url.replace(/^sqlite:(\/\/)?/i, "");
    const { SqliteTarget } = await import("./sqlite-target.js");
    return new SqliteTarget(resolve(baseDir, path));
  }
  throw new UserError(`database: "${maskPassword(url)}" is not a postgres://, mysql:// or sqlite: URL`);
}
