/**
 * Opens the state store a cluster file's `state:` names: a `postgres://` URL, `memory:`, or a
 * SQLite file path (relative to the cluster file's folder). Errors name the location with any
 * password masked, since they end up in terminals and CI logs.
 */
import { resolve } from "node:path";
import { OperationError } from "../errors.js";
import { maskPassword, scrubSecrets, secretsIn } from "../mask-password.js";
import { DamagedStoreError } from "./damaged-store-error.js";
import { MemoryStore } from "./memory-store.js";
import type { PostgresStore } from "./postgres-store.js";
import type { StateStore } from "./state-store.js";

/** The location that selects the in-memory store: nothing is kept after the process ends. */
export const MEMORY_LOCATION = "memory:";

/** The state store could not be opened or initialised; `location` is safe to print. */
export class StateStoreOpenError extends OperationError {
  override readonly kind = "state-store";
  readonly location: string;

  constructor(location: string, reason: string, options?: ErrorOptions) {
    super(`cannot open the state store ${location}: ${reason}`, options);
    this.name = "StateStoreOpenError";
    this.location = location;
  }
}

/**
 * Opens and initialises the store at `location`.
 *
 * @example
 *   await openStateStore(".ferry/state.db", dirname(clusterFile))   // SQLite, created if missing
 *   await openStateStore("postgres://ferry@db.internal/ops?schema=ferry_demo", ".")
 */
export async function openStateStore(location: string, baseDir: string): Promise<StateStore> {
  // ":memory:" too, as SQLite spells it: a file by that name is never what was meant.
  if (location === MEMORY_LOCATION || location === ":memory:") return new MemoryStore();
  if (/^postgres(ql)?:\/\//i.test(location)) return openPostgres(location);
  if (location.trim() === "") throw new StateStoreOpenError('""', "the location is empty");
  const file = resolve(baseDir, location);
  // Loaded on use: every command would otherwise pay for both database drivers at start.
  const { SqliteStore } = await import("./sqlite-store.js");
  const store = new SqliteStore(file);
  try {
    await store.init();
  } catch (err) {
    // A damaged file was opened: its error says so, and what to do, better than "cannot open".
    if (err instanceof DamagedStoreError) throw err;
    throw new StateStoreOpenError(file, messageOf(err), { cause: err });
  }
  return store;
}

/**
 * A `schema` query parameter picks the schema (pg does not know it, so it is taken out of the URL
 * it gets); separate schemas give clusters sharing a database separate locks.
 */
async function openPostgres(location: string): Promise<StateStore> {
  const shown = maskPassword(location);
  const secrets = secretsIn(location);
  let store: PostgresStore;
  try {
    const url = new URL(location);
    const schema = url.searchParams.get("schema") ?? undefined;
    url.searchParams.delete("schema");
    const { PostgresStore } = await import("./postgres-store.js");
    store = new PostgresStore({ connectionString: url.toString(), schema });
  } catch (err) {
    throw new StateStoreOpenError(shown, scrubSecrets(messageOf(err), secrets));
  }
  try {
    await store.init();
  } catch (err) {
    await store.close().catch(() => {});
    // The cause is kept only when it cannot carry the password (a parse error may quote the URL).
    const reason = scrubSecrets(messageOf(err), secrets);
    throw new StateStoreOpenError(shown, reason, secrets.length === 0 ? { cause: err } : undefined);
  }
  return store;
}

function messageOf(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return err.errors.map(messageOf).join("; ");
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}
