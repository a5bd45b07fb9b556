/**
 * Opens the product's database named by the cluster file's `database:` URL, by its scheme:
 * `postgres://` (or postgresql://), `mysql://` (or mariadb://), `sqlite:PATH` (relative to the
 * cluster file's folder; `sqlite:///abs/path` too). The drivers load only when used.
 */
import { resolve } from "node:path";
import { OperationError, UserError } from "../errors.js";
import type { MigrationTarget } from "./migration-target.js";

export async function openMigrationTarget(url: string, baseDir: string): Promise<MigrationTarget> {
  let target: MigrationTarget | undefined;
  try {
    target = await create(url, baseDir);
    await target.init();
  } catch (err) {
    await target?.close().catch(() => {});
    if (err instanceof UserError) throw err;
    throw new OperationError(`cannot open the database ${masked(url)}: ${(err as Error).message}`, {
      cause: err,
    });
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
  throw new UserError(`database: "${masked(url)}" is not a postgres://, mysql:// or sqlite: URL`);
}

/** The URL with its password hidden, for messages. */
export function masked(url: string): string {
  return url.replace(/(\/\/[^:/@]+:)[^@]*@/, "$1***@");
}
