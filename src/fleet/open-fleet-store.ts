/**
 * Opens the fleet store a fleet file's `state:` (or `ferry worker --state`) names. PostgreSQL is
 * the fleet's store: workers on any number of machines share it. A SQLite file is refused: its
 * claims could not be shared between machines, and one worker beside `fleet apply` is all it could
 * serve (DESIGN.md: "SQLite only when one worker runs"); run the fleet on PostgreSQL.
 */
import { OperationError, UserError } from "../errors.js";
import { maskPassword } from "../mask-password.js";
import type { FleetStore } from "./fleet-store.js";
import { PostgresFleetStore } from "./postgres-fleet-store.js";

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
  options: { poolSize?: number } = {},
): Promise<FleetStore> {
  if (!isPostgres(location)) {
    throw new UserError(
      `the fleet's state ${maskPassword(location)} is not PostgreSQL: fleet runs and worker claims need a postgres:// store that every worker reaches (SQLite serves one ferry on one machine only)`,
    );
  }
  const store = new PostgresFleetStore({ ...postgresOptions(location), ...options });
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
