/**
 * A state store whose file is damaged: SQLite found pages that do not hold what they should
 * (overwritten, truncated, not a database at all). ferry then trusts nothing it could read there,
 * changes nothing, and says what the operator can do; it never starts afresh by itself, since a
 * new journal would not know of a run the damaged one may hold unfinished.
 */
import { basename, dirname, join } from "node:path";
import { OperationError } from "../errors.js";

/** SQLite's result codes for a damaged file (SQLITE_CORRUPT and its extended codes, SQLITE_NOTADB). */
const DAMAGE = /^SQLITE_(CORRUPT|NOTADB)/;

export class DamagedStoreError extends OperationError {
  override readonly kind = "state-store-damaged";
  readonly file: string;

  constructor(file: string, detail: string, options?: ErrorOptions) {
    const name = basename(file);
    super(
      [
        `the state store ${file} is damaged (${oneLine(detail)}): ferry trusts nothing in it and changed nothing.`,
        `  Keep the file as it is (and ${name}-wal beside it, if there is one), then either`,
        "  - put back a backup of the file, or",
        `  - save what SQLite can still read into a new file (sqlite3 ${name} .recover | sqlite3 saved.db, see https://www.sqlite.org/recovery.html)`,
        "    and point `state:` in the cluster file at it.",
        `  Each run's log in ${join(dirname(file), "logs")} says what that run did. Do not delete the file to start afresh while a run may be unfinished: a new journal knows nothing of that run.`,
      ].join("\n"),
      options,
    );
    this.name = "DamagedStoreError";
    this.file = file;
  }

  /** What to throw for `err`, raised on `file`: a DamagedStoreError when SQLite says the file is damaged. */
  static from(file: string, err: unknown): unknown {
    if (err instanceof DamagedStoreError) return err;
    const code = (err as { code?: unknown } | null)?.code;
    if (typeof code === "string" && DAMAGE.test(code)) {
      return new DamagedStoreError(file, (err as Error).message, { cause: err });
    }
    return err;
  }
}

/** quick_check's report spans lines and opens with a banner; one line reads better in a message. */
function oneLine(detail: string): string {
  return detail
    .replace(/\*\*\* in database \w+ \*\*\*/g, "")
    .replace(/\s+/g, " ")
    .trim();
}
