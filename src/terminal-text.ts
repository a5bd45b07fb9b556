/**
 * Text that came from hosts (a version string, a command's output, an error that quotes it) made
 * safe to draw on a terminal: a host must not be able to retitle the window, clear the screen,
 * move the cursor over ferry's own lines or hide text from the operator. And, since whatever
 * reaches a terminal reaches CI logs and screen shares, no URL on it shows its password.
 *
 * What is kept as data (the journal, the run log, `--json`) keeps the raw text, which is evidence:
 * JSON escapes C0 controls itself, and `jsonForTerminal` escapes DEL and C1 too, so that a JSON
 * document printed to a terminal is inert as well.
 */
import { maskPasswordsIn } from "./mask-password.js";

/**
 * ECMA-48 sequences: CSI (ESC [ or 8-bit 0x9B) with its parameters; OSC, DCS, SOS, PM and APC
 * strings up to their terminator (BEL or ST), or to the end when unterminated; and the two-byte
 * and nF escapes (ESC c, ESC ( B, ESC 7).
 */
const SEQUENCE = new RegExp(
  [
    "(?:\\u001b\\[|\\u009b)[\\u0030-\\u003f]*[\\u0020-\\u002f]*[\\u0040-\\u007e]?",
    "(?:\\u001b[\\]PX^_]|[\\u0090\\u0098\\u009d\\u009e\\u009f])[\\s\\S]*?(?:\\u0007|\\u001b\\\\|\\u009c|$)",
    "\\u001b[\\u0020-\\u002f]*[\\u0030-\\u007e]?",
  ].join("|"),
  "g",
);
/**
 * What is left to remove: C0 controls but tab and line feed, DEL, C1 controls, and the bidi
 * overrides that make text read other than it is.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is removed
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/**
 * `text` with escape sequences and control characters removed, and every URL's password masked;
 * tabs and line feeds are kept, and a CRLF becomes a line feed (a lone CR, which would draw over
 * the line, goes).
 *
 * @example forTerminal("\u001b]0;pwned\u0007\u001b[2Jdone\r\n") // "done\n"
 */
export function forTerminal(text: string): string {
  // Most lines hold nothing to take out: one scan says so (the live tree cleans every output line).
  if (!PLAIN_SUSPECT.test(text)) return text;
  return maskPasswordsIn(text.replace(/\r\n/g, "\n").replace(SEQUENCE, "").replace(CONTROL, ""));
}

/** A character that starts a sequence or is a control, or the `://` of a URL. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is looked for
const PLAIN_SUSPECT = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\r]|:\/\//;

/** `value` as JSON with DEL and C1 controls escaped too (JSON.stringify leaves them raw). */
export function jsonForTerminal(value: unknown, space?: number): string {
  return (JSON.stringify(value, null, space) ?? "null").replace(
    /[\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g,
    (c) => {
      return `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
    },
  );
}
