/**
 * `ferry db status|migrate|online-migrations|purge|restore`: the product's database by hand, with
 * the same ledger and rules the upgrade steps use.
 */
import {
  backupOf,
  checkIdentifier,
  type DbContext,
  type DbStatus,
  ExitCode,
  type OnlineResult,
  RefusedError,
  releaseIndex,
  UserError,
  withMigrator,
} from "../index.js";
import { confirmer, loadClusterAndCatalog, observedStart } from "./context.js";
import { printJson, printLines, reportError } from "./output.js";
import type { SetExit } from "./program.js";

/** Cinder's exit code for "errors remain and nothing more can progress"; 1 means "run me again". */
const NO_PROGRESS: ExitCode = 2;

export interface DbFlags {
  config: string;
  from?: string;
  json?: boolean;
}

function context(flags: DbFlags): DbContext {
  const { cluster, catalog } = loadClusterAndCatalog(flags);
  return {
    cluster,
    catalog,
    baseline: async () => flags.from ?? (await observedStart(cluster, catalog)).version,
    ...(flags.json
      ? {}
      : {
          onEvent: (e) =>
            e.type === "lock-timeout" &&
            process.stderr.write(
              `${e.file}: waiting for a lock (try ${e.attempt}), again in ${e.waitMs} ms\n`,
            ),
        }),
  };
}

function positiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0)
    throw new UserError(`${flag}: "${value}" is not a whole number above 0`);
  return n;
}

export async function dbStatusCommand(flags: DbFlags): Promise<void> {
  const status = await withMigrator(context(flags), (m) => m.status());
  if (flags.json) printJson(status);
  else printLines(renderStatus(status));
}

export async function dbMigrateCommand(flags: DbFlags & { to: string; phase?: string }): Promise<void> {
  if (flags.phase !== undefined && flags.phase !== "expand" && flags.phase !== "contract") {
    throw new UserError(`--phase: "${flags.phase}" is neither expand nor contract`);
  }
  const ctx = context(flags);
  const to = ctx.catalog.releases[releaseIndex(ctx.catalog, flags.to, "--to")]?.version as string;
  const { empty, done } = await withMigrator(ctx, async (m) => ({
    empty: m.foundEmpty,
    done: await m.migrate(to, flags.phase as "expand" | "contract" | undefined),
  }));
  printLines([
    ...(empty ? ["empty database: every release's migrations run, from the first"] : []),
    ...(done.length ? done.map((f) => `applied ${f}`) : ["nothing to apply"]),
  ]);
}

export async function dbOnlineMigrationsCommand(
  flags: DbFlags & { maxCount?: string },
  setExit: SetExit,
): Promise<void> {
  const max = flags.maxCount === undefined ? undefined : positiveInt(flags.maxCount, "--max-count");
  let r: OnlineResult;
  try {
    r = await withMigrator(context(flags), (m) => m.onlineMigrations(max));
  } catch (err) {
    // Exit 1 means "run me again" here (Cinder); a failure to run at all must not loop a script.
    if (err instanceof RefusedError || err instanceof UserError) throw err;
    reportError(err, flags.json ?? false);
    setExit(NO_PROGRESS);
    return;
  }
  const lines = [`migrated ${r.migrated} rows; ${r.remaining ? "more may remain" : "none remain"}`];
  for (const e of r.errors) lines.push(`error: ${e.file}: ${e.error}`);
  printLines(lines);
  // Cinder's exit codes: with --max-count, 1 while a run changed rows and more may remain.
  if (r.errors.length > 0 && r.migrated === 0) setExit(NO_PROGRESS);
  else if (max !== undefined && r.migrated > 0 && r.remaining) setExit(ExitCode.failed);
  else if (r.errors.length > 0) setExit(NO_PROGRESS);
}

export async function dbPurgeCommand(
  flags: DbFlags & { olderThan: string; table: string; column: string },
): Promise<void> {
  const days = positiveInt(flags.olderThan, "--older-than");
  // Put into SQL as they are: checked before the database is opened (exit 2, nothing changed).
  checkIdentifier(flags.table, "--table");
  checkIdentifier(flags.column, "--column");
  const { rows, batches } = await withMigrator(context(flags), (m) =>
    m.purge(flags.table, flags.column, days),
  );
  printLines([
    `purged ${rows} rows of ${flags.table} deleted more than ${days} days ago, in ${batches} ${batches === 1 ? "batch" : "batches"}`,
  ]);
}

export async function dbRestoreCommand(
  flags: DbFlags & { run: string; hop?: string; yes?: boolean },
  setExit: SetExit,
): Promise<void> {
  const ctx = context(flags);
  const path = backupOf(ctx.cluster, flags.run, flags.hop);
  const confirm = confirmer(flags.yes);
  const question = `Replace everything in the database with ${path}? Writes since then are lost; stop the product first.`;
  if (confirm && !(await confirm(question))) {
    printLines(["cancelled; nothing was changed"]);
    setExit(ExitCode.failed);
    return;
  }
  await withMigrator(ctx, (_m, target) => target.restore(path));
  printLines([`restored ${path}`]);
}

const CHANGED = "  CHANGED since it was applied: every command that migrates refuses until it is restored";

export function renderStatus(s: DbStatus): string[] {
  return [
    `baseline ${s.baseline ?? "none (started from nothing: every release's migrations run, from the first)"}, schema at ${s.schema ?? "(none yet)"}`,
    ...s.applied.map(
      (a) => `  applied  ${a.release}/${a.phase}/${a.file}  ${a.appliedAt}${a.changed ? CHANGED : ""}`,
    ),
    ...s.pending.map(
      (p) =>
        `  pending  ${p.release}/${p.phase}/${p.file}${p.statementsDone ? ` (${p.statementsDone} statements ran${p.changed ? "; one of them CHANGED since" : ""})` : ""}`,
    ),
    ...s.data.map(
      (d) =>
        `  data     ${d.release}/data/${d.file}  ${d.complete ? "complete" : "incomplete"}, ${d.rows} rows${d.changed ? CHANGED : ""}`,
    ),
  ];
}
