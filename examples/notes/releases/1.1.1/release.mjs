// What release 1.1.1 does with its data: as 1.1.0 (text in notes.title and notes.body, jobs in v2
// unless pinned to 1.0), and GET /notes/:id now also answers the note's createdAt.
// The other files of the folder are the same in every release; compare this file between releases
// to see what one changed.
import { VERSION } from "./common.mjs";

/** Columns this release reads or writes; it refuses to start without them. */
export const NOTE_COLUMNS = ["body", "title"];

/** Extra headers on every API answer. */
export const HEADERS = { "x-notes-version": VERSION };

/** Whether the API follows the pin file (NOTES_PIN_FILE). */
export const READS_PIN = true;

export function noteStore(db) {
  return {
    add: async (text) =>
      Number((await db.get("INSERT INTO notes (body, title) VALUES (?, ?) RETURNING id", [text, text])).id),
    get: (id) =>
      db.get('SELECT id, COALESCE(title, body) AS text, created_at AS "createdAt" FROM notes WHERE id = ?', [
        id,
      ]),
  };
}

/**
 * The format to write while the pin file says `pin` (null: no pin): v1 for a 1.0 pin ("1.0" or a
 * full "1.0.1"), v2 for 1.1 and later. A pin this release cannot read falls back to v1, which
 * every release reads.
 */
export function jobFormat(pin) {
  if (pin === null) return 2;
  const m = /^(\d+)\.(\d+)(\.\d+)?$/.exec(pin);
  if (!m) return 1;
  const [major, minor] = [Number(m[1]), Number(m[2])];
  return major > 1 || (major === 1 && minor >= 1) ? 2 : 1;
}

/** v1: `{"task":"digest","text":…,"workMs":…}`; v2: `{"v":2,"task":{"name","args":{"text"}},"limits":{"workMs"}}`. */
export function encodeJob(format, job) {
  if (format === 1) return JSON.stringify({ task: "digest", text: job.text, workMs: job.workMs });
  if (format === 2) {
    return JSON.stringify({
      v: 2,
      task: { name: "digest", args: { text: job.text } },
      limits: { workMs: job.workMs },
    });
  }
  throw new Error(`release ${VERSION} cannot write job format ${format}`);
}

export function decodeJob(format, payload) {
  const message = JSON.parse(payload);
  if (format === 1) return { task: message.task, text: message.text, workMs: message.workMs };
  if (format === 2) {
    return { task: message.task?.name, text: message.task?.args?.text, workMs: message.limits?.workMs };
  }
  throw new Error(`job format ${format} is unknown to release ${VERSION} (it reads v1 and v2)`);
}
