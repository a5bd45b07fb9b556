/**
 * The migrator: applies a catalog's migrations to the product's database through a migration
 * target, and keeps the rules (DESIGN.md "Database migrations", the Cinder seed):
 *
 * - A ledger in the product's database records every file with its checksum; a file changed after
 *   it ran is refused, naming it.
 * - Files of releases a path skipped are still applied, in version order.
 * - A migration of release R is refused while a data migration of an earlier release is
 *   incomplete (Cinder: N+1's schema waits for N's online data migrations), and R's own contract
 *   waits for R's own data migrations, which back-fill what it drops.
 * - Every wait for a lock is short, and a statement that timed out is retried with backoff, so a
 *   migration never queues behind a long transaction and blocks the live application behind it.
 *
 * Releases at or below the baseline (the release the database ran when ferry first met it) are
 * taken as migrated.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { OperationError, RefusedError } from "../errors.js";
import { fileKey, type MigrationFile, type MigrationPhase, withBatch } from "./migration-files.js";
import {
  type LedgerEntry,
  LockTimeoutError,
  type MigrationTarget,
  StatementError,
} from "./migration-target.js";
import { splitStatements } from "./sql-statements.js";

export interface MigratorOptions {
  /** Rows a data migration's statement may change at once ({{batch}}). */
  readonly batch: number;
  /** How long one statement may wait for a lock before it gives up and is tried again. */
  readonly lockTimeoutMs: number;
  /** How many times a statement that timed out on a lock is tried in all. */
  readonly attempts: number;
  /** The first pause after a lock timeout; it doubles each time, up to 5 s. */
  readonly backoffMs: number;
  /** Each release's place in version order, oldest first. */
  readonly releases: readonly string[];
  /** Told about retries and batches, for progress and logs. */
  readonly onEvent?: (event: MigrationEvent) => void;
}

export type MigrationEvent =
  | { readonly type: "applied"; readonly file: string }
  | { readonly type: "batch"; readonly file: string; readonly rows: number }
  | {
      readonly type: "lock-timeout";
      readonly file: string;
      readonly attempt: number;
      readonly waitMs: number;
    };

export const MIGRATION_DEFAULTS = { batch: 1000, lockTimeoutMs: 500, attempts: 30, backoffMs: 100 } as const;

export interface DbStatus {
  readonly baseline: string | null;
  readonly schema: string | null;
  readonly applied: readonly {
    release: string;
    phase: MigrationPhase;
    file: string;
    checksum: string;
    appliedAt: string;
  }[];
  readonly pending: readonly {
    release: string;
    phase: MigrationPhase;
    file: string;
    statementsDone?: number;
  }[];
  readonly data: readonly { release: string; file: string; complete: boolean; rows: number }[];
}

export interface OnlineResult {
  /** Rows changed in this call. */
  readonly migrated: number;
  /** Whether a data migration may still have rows to change. */
  readonly remaining: boolean;
  readonly errors: readonly { readonly file: string; readonly error: string }[];
}

const BASELINE = "baseline";
const SCHEMA = "schema";

export class Migrator {
  readonly #target: MigrationTarget;
  readonly #files: readonly MigrationFile[];
  readonly #o: MigratorOptions;
  readonly #rank: ReadonlyMap<string, number>;
  #ledger = new Map<string, LedgerEntry>();
  #baseline: string | null = null;
  #locked = false;
  #schema: string | null = null;

  private constructor(target: MigrationTarget, files: readonly MigrationFile[], options: MigratorOptions) {
    this.#target = target;
    this.#files = files;
    this.#o = options;
    this.#rank = new Map(options.releases.map((r, i) => [r, i]));
  }

  /**
   * A migrator on `target`. The first time ferry meets a database it records `baseline`, the
   * release the database runs; later calls keep the recorded one.
   */
  static async open(
    target: MigrationTarget,
    files: readonly MigrationFile[],
    options: MigratorOptions & { readonly baseline?: string | (() => Promise<string>) },
  ): Promise<Migrator> {
    const m = new Migrator(target, files, options);
    m.#baseline = (await target.getState(BASELINE)) ?? null;
    if (m.#baseline === null && options.baseline !== undefined) {
      // Asked only when the database has none yet: finding it may mean asking the cluster.
      const baseline = typeof options.baseline === "string" ? options.baseline : await options.baseline();
      await target.setState(BASELINE, baseline);
      m.#baseline = baseline;
    }
    m.#schema = (await target.getState(SCHEMA)) ?? m.#baseline;
    await m.#reload();
    return m;
  }

  async status(): Promise<DbStatus> {
    await this.#reload();
    const tracked = this.#files.filter((f) => !this.#belowBaseline(f.release));
    return {
      baseline: this.#baseline,
      schema: this.#schema,
      applied: [...this.#ledger.values()]
        .filter((e) => e.phase !== "data" && e.complete)
        .map((e) => ({
          release: e.release,
          phase: e.phase,
          file: e.file,
          checksum: e.checksum,
          appliedAt: new Date(e.appliedAt).toISOString(),
        })),
      pending: tracked
        .filter((f) => f.phase !== "data" && !this.#done(f))
        .map((f) => {
          const done = this.#ledger.get(fileKey(f))?.statementsDone ?? 0;
          return {
            release: f.release,
            phase: f.phase,
            file: f.name,
            ...(done > 0 ? { statementsDone: done } : {}),
          };
        }),
      data: tracked
        .filter((f) => f.phase === "data")
        .map((f) => {
          const e = this.#ledger.get(fileKey(f));
          return { release: f.release, file: f.name, complete: e?.complete ?? false, rows: e?.rows ?? 0 };
        }),
    };
  }

  /**
   * Every file that ran to the end and has changed since: refused, naming it (exit 3). A file
   * that stopped part-way (MySQL) may be mended: a re-run goes on after its last statement that ran.
   */
  checkChecksums(): void {
    for (const f of this.#files) {
      const e = this.#ledger.get(fileKey(f));
      if (e?.complete && e.checksum !== f.checksum) {
        throw new RefusedError(
          `${fileKey(f)} has changed since it was applied (checksum ${e.checksum.slice(0, 12)}… then, ${f.checksum.slice(0, 12)}… now)`,
          "checksum",
          "a migration that ran must not change: restore the file as it was, and put the change in a new file",
        );
      }
    }
  }

  /** Why `file` may not run now, or undefined. */
  refusal(file: MigrationFile): RefusedError | undefined {
    const rank = this.#rankOf(file.release);
    const blocking = this.#files.filter(
      (d) =>
        d.phase === "data" &&
        !this.#done(d) &&
        !this.#belowBaseline(d.release) &&
        (this.#rankOf(d.release) < rank || (d.release === file.release && file.phase === "contract")),
    );
    if (blocking.length === 0) return undefined;
    const names = blocking.map(fileKey).join(", ");
    return new RefusedError(
      `${fileKey(file)} is refused: the data migrations before it are incomplete (${names})`,
      "data-migrations",
      "run `ferry db online-migrations` until it exits 0, then try again",
    );
  }

  /** The files of releases in (from, to] for `phase`, in order; the skipped releases' too. */
  filesBetween(from: string | null, to: string, phase?: MigrationPhase): MigrationFile[] {
    const lo = from === null ? -1 : this.#rankOf(from);
    const hi = this.#rankOf(to);
    return this.#files.filter((f) => {
      const r = this.#rankOf(f.release);
      return r > lo && r <= hi && (phase === undefined || f.phase === phase);
    });
  }

  /** Holds the database's migration lock from the first change on: one migrator at a time. */
  async #lock(): Promise<void> {
    if (this.#locked) return;
    if (!(await this.#target.tryLock())) {
      throw new RefusedError(
        "another ferry is migrating this database (a session holds its migration lock)",
        "migration-lock",
        "wait for it to finish; the lock goes with its connection",
      );
    }
    this.#locked = true;
    // The other one may have moved the ledger on while this one read it.
    await this.#reload();
  }

  /** Reads the ledger again (another process may have moved it on). */
  async refresh(): Promise<void> {
    await this.#reload();
  }

  /**
   * Preflight of a hop from `release` (Cinder): the ledger's checksums hold, and every data
   * migration up to `release` is complete; else refused, naming them.
   */
  async assertReady(release: string): Promise<void> {
    await this.#reload();
    this.checkChecksums();
    const rank = this.#rankOf(release);
    const incomplete = this.#files.filter(
      (f) => f.phase === "data" && !this.isDone(f) && this.#rankOf(f.release) <= rank,
    );
    if (incomplete.length > 0) {
      throw new RefusedError(
        `the data migrations up to ${release} are incomplete (${incomplete.map(fileKey).join(", ")})`,
        "data-migrations",
        "run `ferry db online-migrations` until it exits 0, then try again",
      );
    }
  }

  /** Whether the ledger says `file` has run to the end (or it is at or below the baseline). */
  isDone(file: MigrationFile): boolean {
    return this.#belowBaseline(file.release) || this.#done(file);
  }

  /** Applies a schema file unless it is done (false then); refuses by the rules; retries lock timeouts. */
  async applySchema(file: MigrationFile): Promise<boolean> {
    await this.#lock();
    await this.#reload();
    this.checkChecksums();
    if (this.isDone(file)) return false;
    const refused = this.refusal(file);
    if (refused) throw refused;
    const statements = splitStatements(file.sql);
    await this.#withRetries(file, async () => {
      const from = this.#target.transactionalDdl ? 0 : (this.#ledger.get(fileKey(file))?.statementsDone ?? 0);
      try {
        await this.#target.applySchema(file, statements, from, this.#o.lockTimeoutMs);
      } finally {
        await this.#reload();
      }
    });
    this.#o.onEvent?.({ type: "applied", file: fileKey(file) });
    return true;
  }

  /**
   * Runs a data migration in batches until a batch changes no row, or `maxRows` rows have changed.
   * Each batch commits with its ledger row, so a run that dies mid-way loses nothing and a re-run
   * goes on where it was.
   */
  async runData(
    file: MigrationFile,
    maxRows = Number.POSITIVE_INFINITY,
  ): Promise<{ rows: number; complete: boolean }> {
    await this.#reload();
    this.checkChecksums();
    if (this.isDone(file)) return { rows: 0, complete: true };
    const refused = this.refusal(file);
    if (refused) throw refused;
    let rows = 0;
    while (rows < maxRows) {
      const batch = Math.min(this.#o.batch, maxRows - rows);
      const statement = withBatch(file.sql, batch);
      const changed = await this.#withRetries(file, () =>
        this.#target.dataBatch(file, statement, this.#o.lockTimeoutMs),
      );
      rows += changed;
      this.#o.onEvent?.({ type: "batch", file: fileKey(file), rows: changed });
      if (changed === 0) {
        await this.#target.completeData(file);
        await this.#reload();
        return { rows, complete: true };
      }
    }
    await this.#reload();
    return { rows, complete: false };
  }

  /**
   * Records that `release` runs now, so its data migrations may run (an upgrade does it after
   * activate; `ferry db migrate` as it goes, at the operator's word, like Cinder's db sync).
   */
  async markSchema(release: string): Promise<void> {
    if (this.#schema !== null && this.#rankOf(this.#schema) >= this.#rankOf(release)) return;
    await this.#target.setState(SCHEMA, release);
    this.#schema = release;
  }

  /**
   * `ferry db migrate --to V [--phase]`: every pending file of the releases up to V, release by
   * release: expand, then the data migrations to the end, then contract. With a phase, only it.
   */
  async migrate(to: string, phase?: "expand" | "contract"): Promise<string[]> {
    const done: string[] = [];
    for (const release of this.#o.releases.slice(0, this.#rankOf(to) + 1)) {
      for (const f of this.filesBetween(this.#baseline, to).filter((x) => x.release === release)) {
        if (this.isDone(f) || (phase && f.phase !== phase)) continue;
        if (f.phase === "data") {
          await this.runData(f);
          done.push(fileKey(f));
        } else if (await this.applySchema(f)) {
          done.push(fileKey(f));
        }
      }
      await this.markSchema(release);
    }
    return done;
  }

  /**
   * `ferry db online-migrations [--max-count N]` (Cinder's): runs the data migrations of every
   * release whose schema is in, at most `maxRows` rows in all. A migration that fails is reported
   * and the others go on.
   */
  async onlineMigrations(maxRows = Number.POSITIVE_INFINITY): Promise<OnlineResult> {
    await this.#reload();
    this.checkChecksums();
    const eligible = this.#pendingData();
    let migrated = 0;
    const errors: { file: string; error: string }[] = [];
    for (const f of eligible) {
      if (migrated >= maxRows) break;
      try {
        migrated += (await this.runData(f, maxRows - migrated)).rows;
      } catch (err) {
        errors.push({ file: fileKey(f), error: (err as Error).message });
      }
    }
    const remaining = this.#pendingData().length > 0;
    return { migrated, remaining, errors };
  }

  /** `ferry db purge`: soft-deleted rows older than `days`, in batches. */
  async purge(table: string, column: string, days: number): Promise<number> {
    await this.#lock();
    const before = new Date(Date.now() - days * 86_400_000);
    let total = 0;
    for (;;) {
      const n = await this.#withRetries(undefined, () =>
        this.#target.purgeBatch(table, column, before, this.#o.batch, this.#o.lockTimeoutMs),
      );
      total += n;
      if (n < this.#o.batch) return total;
    }
  }

  /** Data migrations not yet done, of the releases up to the one that runs (the schema mark). */
  #pendingData(): MigrationFile[] {
    const upTo = this.#schema;
    if (upTo === null) return [];
    const rank = this.#rankOf(upTo);
    return this.#files.filter(
      (f) => f.phase === "data" && !this.isDone(f) && this.#rankOf(f.release) <= rank,
    );
  }

  async #reload(): Promise<void> {
    this.#ledger = new Map(
      (await this.#target.ledger()).map((e) => [
        fileKey({ release: e.release, phase: e.phase, name: e.file }),
        e,
      ]),
    );
  }

  #done(f: MigrationFile): boolean {
    return this.#ledger.get(fileKey(f))?.complete ?? false;
  }

  #belowBaseline(release: string): boolean {
    return this.#baseline !== null && this.#rankOf(release) <= this.#rankOf(this.#baseline);
  }

  #rankOf(release: string): number {
    const r = this.#rank.get(release);
    if (r === undefined) throw new OperationError(`release ${release} is not in the catalog`);
    return r;
  }

  /** Runs `body`, again after a lock timeout, with a doubling pause; other failures name the file and statement. */
  async #withRetries<T>(file: MigrationFile | undefined, body: () => Promise<T>): Promise<T> {
    let pause = this.#o.backoffMs;
    for (let attempt = 1; ; attempt++) {
      try {
        return await body();
      } catch (err) {
        if (err instanceof LockTimeoutError && attempt < this.#o.attempts) {
          const waitMs = Math.round(pause * (0.75 + Math.random() / 2));
          this.#o.onEvent?.({ type: "lock-timeout", file: file ? fileKey(file) : "purge", attempt, waitMs });
          await sleep(waitMs);
          pause = Math.min(pause * 2, 5000);
          continue;
        }
        throw failure(file, err, attempt);
      }
    }
  }
}

function failure(file: MigrationFile | undefined, err: unknown, attempts: number): Error {
  if (err instanceof RefusedError || err instanceof OperationError) return err;
  const where = file ? `${file.release}/${file.phase}/` : "";
  if (err instanceof LockTimeoutError) {
    return new OperationError(
      `${where}${file?.name ?? "purge"}: still waiting for a lock after ${attempts} tries: ${err.message}`,
      { cause: err },
    );
  }
  if (err instanceof StatementError) {
    return new OperationError(`migration ${where}${err.message}`, { cause: err });
  }
  return new OperationError(`${where}${file?.name ?? "purge"}: ${(err as Error).message}`, { cause: err });
}
