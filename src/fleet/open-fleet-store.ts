/**
 * Opens the fleet store a fleet file's `state:` (or `ferry worker --state`) names: PostgreSQL,
 * which workers on any number of machines share, or a SQLite file (a path relative to `dir`),
 * which one worker at a time works (sqlite-fleet-store.ts).
 */
import { resolve } from "node:path";
import { OperationError, UserError } from "../errors.js";
import { maskPassword } from "../mask-password.js";
import type { FleetStore } from "./fleet-store.js";
import { PostgresFleetStore } from "./postgres-fleet-store.js";
import { SqliteFleetStore } from "./sqlite-fleet-store.js";

export const isPostgres = (location: string): boolean => /^postgres(ql)?:\/\//i.test(location);

/** The `?schema=` parameter picks the schema, as for a cluster's state store. */
export function postgresOptions(location: string): { connectionString: string; schema?: string } {
  const url = new URL(location);
  const schema = url.searchParams.get("schema") ?? undefined;
  url.searchParams.delete("schema");
  return { connectionString: url.toString(), ...(schema ? { schema } : {}) };
}

export async function openFleetStore(
  location: string,
  options: { poolSize?: number; dir?: string } = {},
): Promise<FleetStore> {
  if (/^:?memory:$/i.test(location)) {
    throw new UserError(
      `the fleet's state ${location} is kept in memory: workers could not share it; give a postgres:// URL or a SQLite file`,
    );
  }
  const store = isPostgres(location)
    ? new PostgresFleetStore({
        ...postgresOptions(location),
        ...(options.poolSize ? { poolSize: options.poolSize } : {}),
      })
    : new SqliteFleetStore(resolve(options.dir ?? process.cwd(), location));
  try {
    await store.init();
  } catch (err) {
    await store.close().catch(() => {});
    throw new OperationError(
      `cannot open the fleet's state ${maskPassword(location)}: ${(err as Error).message}`,
    );
  }
  return store;
}
