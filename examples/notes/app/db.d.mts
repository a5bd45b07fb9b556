// Types of db.mjs, the notes database (SQLite or PostgreSQL), for the TypeScript that looks
// inside it (the tests).

export interface NotesDb {
  readonly dialect: "sqlite" | "postgres";
  /** SQL for the current time, in the column type of this dialect's schema. */
  readonly now: string;
  /** SQL for that many seconds ago; takes one `?`: the seconds. */
  readonly secondsAgo: string;
  /** Appended to the claim's subquery: FOR UPDATE SKIP LOCKED on PostgreSQL, nothing on SQLite. */
  readonly skipLocked: string;
  // biome-ignore lint/suspicious/noExplicitAny: a row is whatever the statement selects
  get(sql: string, params?: unknown[]): Promise<any>;
  // biome-ignore lint/suspicious/noExplicitAny: as get
  all(sql: string, params?: unknown[]): Promise<any[]>;
  /** The number of rows changed. */
  run(sql: string, params?: unknown[]): Promise<number>;
  /** Statements without parameters, several at once (a schema file). */
  exec(sql: string): Promise<void>;
  columns(table: string): Promise<string[]>;
  /** Whether an error means the database was busy and nothing was committed. */
  busy(err: unknown): boolean;
  close(): Promise<void>;
}

export function isPostgres(target: string): boolean;
export function redact(target: string): string;
export function openDb(target: string, options?: { busyTimeoutMs?: number }): Promise<NotesDb>;
