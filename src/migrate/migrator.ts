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
 * Where a database starts: ferry decides it the first time it meets the database, when the
 * ledger is empty and no baseline is recorded (`Migrator.open`):
 *
 * - The database is empty (no table, view or sequence but ferry's own): it starts from nothing,
 *   and every release's migrations run, from the first. No baseline is recorded; from the first
 *   file on, the ledger's rows say where it is.
 * - It holds a schema and no ledger (it was installed, or migrated, without ferry): the release it
 *   runs is recorded as its baseline (Flyway's `baselineOnMigrate`), and releases at or below it
 *   are taken as migrated.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { FerryError, OperationError, RefusedError, UserError } from "../errors.js";
import { fileKey, type MigrationFile, type MigrationPhase, withBatch } from "./migration-files.js";
import {
  checkIdentifier,
  type LedgerEntry,
  LockTimeoutError,
  type MigrationTarget,
  StatementError,
  statementChecksum,
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
  /** The release recorded as the baseline; null when the database started from nothing. */
  readonly baseline: string | null;
  readonly schema: string | null;
  /** `changed`: the file is not as it was when it ran (every command that migrates refuses then). */
  readonly applied: readonly {
    release: string;
    phase: MigrationPhase;
    file: string;
    checksum: string;
    appliedAt: string;
    changed: boolean;
  }[];
  /** `statementsDone`: a file that stopped part-way (MySQL); `changed`: a statement that ran has changed since. */
  readonly pending: readonly {
    release: string;
    phase: MigrationPhase;
    file: string;
    statementsDone?: number;
    changed: boolean;
  }[];
  readonly data: readonly {
    release: string;
    file: string;
    complete: boolean;
    rows: number;
    changed: boolean;
  }[];
}

/** What `purge` deleted, and in how many batches. */
export interface PurgeResult {
  readonly rows: number;
  readonly batches: number;
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
  #foundEmpty = false;

  private constructor(target: MigrationTarget, files: readonly MigrationFile[], options: MigratorOptions) {
    this.#target = target;
    this.#files = files;
    this.#o = options;
    this.#rank = new Map(options.releases.map((r, i) => [r, i]));
  }

  /**
   * A migrator on `target`. The first time ferry meets a database (no ledger row, no baseline), an
   * empty database starts from nothing and `baseline` is not asked; one that holds a schema gets
   * `baseline`, the release it runs, recorded. Later calls keep what the first decided.
   */
  static async open(
    target: MigrationTarget,
    files: readonly MigrationFile[],
    options: MigratorOptions & { readonly baseline?: string | (() => Promise<string>) },
  ): Promise<Migrator> {
    const m = new Migrator(target, files, options);
    await m.#reload();
    m.#baseline = (await target.getState(BASELINE)) ?? null;
    // A ledger row without a baseline: ferry met the database empty and has migrated it since.
    const met = m.#baseline !== null || m.#ledger.size > 0;
    if (!met && (await target.isEmpty())) {
      m.#foundEmpty = true;
    } else if (!met && options.baseline !== undefined) {
      // Asked only when the database has none yet: finding it may mean asking the cluster.
      const baseline = typeof options.baseline === "string" ? options.baseline : await options.baseline();
      await target.setState(BASELINE, baseline);
      m.#baseline = baseline;
    }
    m.#schema = (await target.getState(SCHEMA)) ?? m.#baseline;
    return m;
  }

  /** Whether ferry met the database empty and nothing has run yet: every release's migrations run, from the first. */
  get foundEmpty(): boolean {
    return this.#foundEmpty && this.#ledger.size === 0;
  }

  async status(): Promise<DbStatus> {
    await this.#reload();
    const tracked = this.#files.filter((f) => !this.#belowBaseline(f.release));
    const byKey = new Map(this.#files.map((f) => [fileKey(f), f]));
    const changed = (f: MigrationFile | undefined) => f !== undefined && this.#change(f) !== undefined;
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
          changed: changed(byKey.get(fileKey({ release: e.release, phase: e.phase, name: e.file }))),
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
            changed: changed(f),
          };
        }),
      data: tracked
        .filter((f) => f.phase === "data")
        .map((f) => {
          const e = this.#ledger.get(fileKey(f));
          return {
            release: f.release,
            file: f.name,
            complete: e?.complete ?? false,
            rows: e?.rows ?? 0,
            changed: changed(f),
          };
        }),
    };
  }

  /**
   * The ledger against the files as they are now, before anything runs: a file that ran to the
   * end and has changed since is refused (exit 3), naming it. A schema file that stopped part-way
   * (MySQL, whose DDL commits statement by statement) may be mended after its last statement that
   * ran, and a re-run goes on from there; a change to a statement that ran is refused, naming it,
   * since going on would skip the new statement and run an old one twice.
   */
  validate(): void {
    const changes = this.#files.flatMap((f) => {
      const change = this.#change(f);
      return change ? [change] : [];
    });
    if (changes.length === 0) return;
    const wayOut = [...new Set(changes.map((c) => c.wayOut))].join("; ");
    throw refusal(changes.map((c) => c.message).join("; "), "checksum", wayOut);
  }

  /** How `f` differs from what the ledger recorded when it ran, or undefined when it does not. */
  #change(f: MigrationFile): { message: string; wayOut: string } | undefined {
    const e = this.#ledger.get(fileKey(f));
    if (!e || e.checksum === f.checksum) return undefined;
    if (e.complete) {
      return {
        message: `${fileKey(f)} has changed since it was applied (checksum ${e.checksum.slice(0, 12)}… then, ${f.checksum.slice(0, 12)}… now)`,
        wayOut:
          "a migration that ran must not change: restore the file as it was, and put the change in a new file",
      };
    }
    // A data migration that has not finished may be mended: each batch is repeated until none is left.
    const ran = e.statementsDone;
    if (f.phase === "data" || ran === 0) return undefined;
    const now = splitStatements(f.sql).map(statementChecksum);
    const first = Array.from({ length: ran }, (_, i) => i).find(
      (i) => e.statementChecksums[i] === undefined || e.statementChecksums[i] !== now[i],
    );
    if (first === undefined) return undefined;
    const which =
      e.statementChecksums[first] === undefined
        ? "it has changed since; the ledger (of an older ferry) does not say which statements ran"
        : now[first] === undefined
          ? `the file now has only ${now.length} statements`
          : `statement ${first + 1} has changed since it ran`;
    return {
      message: `${fileKey(f)} stopped after statement ${ran}, and ${which}`,
      wayOut: `${fileKey(f)}: keep statements 1–${ran} as they ran and change only what follows them (statement ${ran + 1}, where it stopped, and after); or undo what statements 1–${ran} did by hand and delete the file's ledger row (DELETE FROM ferry_migrations WHERE release_version = '${f.release}' AND phase = '${f.phase}' AND file = '${f.name}') so that it runs whole`,
    };
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
    this.validate();
    const rank = this.#rankOf(release);
    // The cluster runs `release`: its schema must be in (an empty database starts from nothing).
    const missing = this.#files.filter(
      (f) => f.phase !== "data" && !this.isDone(f) && this.#rankOf(f.release) <= rank,
    );
    if (missing.length > 0) {
      throw refusal(
        `the database lacks the schema of ${release}, which the cluster runs: ${missing.map(fileKey).join(", ")} ${missing.length === 1 ? "has" : "have"} not run${this.foundEmpty ? " (the database is empty, so it starts from nothing)" : ""}`,
        "schema-missing",
        `run \`ferry db migrate --to ${release}\`, then apply again`,
      );
    }
    const incomplete = this.#files.filter(
      (f) => f.phase === "data" && !this.isDone(f) && this.#rankOf(f.release) <= rank,
    );
    if (incomplete.length > 0) {
      throw refusal(
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
    this.validate();
    if (this.isDone(file)) return false;
    const refused = this.refusal(file);
    if (refused) throw refused;
    const statements = splitStatements(file.sql);
    const applied = await this.#withRetries(file, async () => {
      // validate() has checked that the statements before `from` are the ones that ran.
      const from = this.#target.transactionalDdl ? 0 : (this.#ledger.get(fileKey(file))?.statementsDone ?? 0);
      try {
        return await this.#target.applySchema(file, statements, from, this.#o.lockTimeoutMs);
      } finally {
        await this.#reload();
      }
    });
    if (applied) this.#o.onEvent?.({ type: "applied", file: fileKey(file) });
    return applied;
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
    this.validate();
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
    // Validated first, also when nothing is pending: a changed file must not pass as "nothing to apply".
    await this.#reload();
    this.validate();
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
    this.validate();
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

  /**
   * `ferry db purge`: the rows of `table` whose `column` is more than `days` days old (on the
   * database's clock), in batches of `batch` rows, each its own short transaction. A table or
   * column that is not one is bad input (UserError), found before anything is deleted.
   */
  async purge(table: string, column: string, days: number): Promise<PurgeResult> {
    checkIdentifier(table, "table");
    checkIdentifier(column, "column");
    const problem = await this.#target.purgeProblem(table, column);
    if (problem) throw new UserError(problem);
    await this.#lock();
    let rows = 0;
    for (let batches = 1; ; batches++) {
      const n = await this.#withRetries(undefined, () =>
        this.#target.purgeBatch(table, column, days, this.#o.batch, this.#o.lockTimeoutMs),
      );
      rows += n;
      if (n < this.#o.batch) return { rows, batches };
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

/**
 * A refusal whose message carries its way out: an upgrade's preflight step reports only the
 * message, and the CLI does not repeat a way out the message already says.
 */
function refusal(message: string, rule: string, wayOut: string): RefusedError {
  return new RefusedError(`${message}. Way out: ${wayOut}`, rule, wayOut);
}

function failure(file: MigrationFile | undefined, err: unknown, attempts: number): Error {
  if (err instanceof FerryError) return err;
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
