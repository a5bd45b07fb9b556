// What release 1.0.0 does with its data: a note's text lives in notes.body, and jobs are written
// and read in message format v1 only. The other files of the folder are the same in every
// release; compare this file between releases to see what one changed.
import { VERSION } from "./common.mjs";

/** Columns this release reads or writes; it refuses to start without them. */
export const NOTE_COLUMNS = ["body"];

/** Extra headers on every API answer. */
export const HEADERS = {};

/** Whether the API follows the pin file (NOTES_PIN_FILE); 1.0.0 predates pins. */
export const READS_PIN = false;

export function noteStore(db) {
  return {
    add: async (text) =>
      Number((await db.get("INSERT INTO notes (body) VALUES (?) RETURNING id", [text])).id),
    get: (id) => db.get("SELECT id, body AS text FROM notes WHERE id = ?", [id]),
  };
}

/** The format to write while the pin file says `pin` (null: no pin). 1.0.0 knows no pins. */
export function jobFormat(_pin) {
  return 1;
}

/** v1: `{"task":"digest","text":…,"workMs":…}`. */
export function encodeJob(format, job) {
  if (format !== 1) throw new Error(`release ${VERSION} cannot write job format ${format}`);
  return JSON.stringify({ task: "digest", text: job.text, workMs: job.workMs });
}

/**
 * A job in a format this release does not know is an error, not something to guess at: the
 * worker marks it failed. That is the loss the pin exists to prevent.
 */
export function decodeJob(format, payload) {
  if (format !== 1) throw new Error(`job format ${format} is unknown to release ${VERSION} (it reads v1)`);
  const v1 = JSON.parse(payload);
  return { task: v1.task, text: v1.text, workMs: v1.workMs };
}
