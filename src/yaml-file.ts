/**
 * Reading a YAML file that a user wrote, and validating it, so that every error names the file,
 * the line and the field. Shared by the catalog and the cluster file.
 *
 * Two parsers, for two jobs: js-yaml reads the file fast (a 10,000-host cluster file in tens of
 * milliseconds), and `yaml`, which keeps every node's position, reads it again only when there is
 * a problem to place on its line. Both read YAML 1.2's core schema, so they agree on the values.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import jsYaml from "js-yaml";
import type { Document, LineCounter } from "yaml";
import { type SourceProblem, UserError } from "./errors.js";
import { maskPasswordsIn } from "./mask-password.js";
import type { z } from "./zod-mini.js";

export type FieldPath = readonly (string | number)[];

type YamlModule = typeof import("yaml");
let yamlModule: YamlModule | undefined;

/**
 * `yaml`, loaded the first time a file has a problem to place on its line (or a password to mask
 * in place): a file that is valid, the usual case, never needs it, and `ferry path` starts
 * without it. Through require, because the reading that needs it is synchronous.
 */
function yaml(): YamlModule {
  yamlModule ??= createRequire(import.meta.url)("yaml") as YamlModule;
  return yamlModule;
}

/** A parsed document with its positions. */
interface Located {
  readonly doc: Document;
  readonly lines: LineCounter;
}

export class YamlFile {
  #located: Located | undefined;

  /** `file` as the user gave it, for messages. */
  constructor(
    readonly file: string,
    readonly text: string,
  ) {}

  /** The file's contents as plain values; a syntax error is a UserError on its line. */
  data(): unknown {
    try {
      return jsYaml.load(this.text, { schema: jsYaml.CORE_SCHEMA, filename: this.file });
    } catch {
      // Let the positional parser say where; should it accept what js-yaml did not, use its reading.
      return this.located().doc.toJS();
    }
  }

  /** The document with positions, parsed on first use. */
  located(): Located {
    if (!this.#located) {
      const { LineCounter, parseDocument } = yaml();
      const lines = new LineCounter();
      const doc = parseDocument(this.text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
      if (doc.errors.length > 0) {
        throw UserError.fromProblems(
          doc.errors.map((e) => {
            const pos = lines.linePos(e.pos[0]);
            return {
              file: this.file,
              line: pos.line,
              column: pos.col,
              message: e.message.split("\n")[0] ?? e.message,
            };
          }),
        );
      }
      this.#located = { doc, lines };
    }
    return this.#located;
  }
}

/** Reads a YAML file; a missing or unreadable file is a UserError naming it. */
export function readYamlFile(file: string, hint = ""): YamlFile {
  try {
    return new YamlFile(file, readFileSync(file, "utf8"));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT" ? `no such file${hint}` : code === "EISDIR" ? "it is a folder" : String(err);
    throw UserError.fromProblems([{ file, message: `cannot read it: ${why}` }]);
  }
}

/** `releases[3].version`: a field path the way a user reads it. */
export function formatFieldPath(path: FieldPath): string {
  let out = "";
  for (const part of path) {
    out += typeof part === "number" ? `[${part}]` : out ? `.${part}` : part;
  }
  return out;
}

function nodeAt(doc: Document, path: FieldPath): unknown {
  return path.length === 0 ? doc.contents : doc.getIn(path, true);
}

function rangeOf(node: unknown): readonly [number, number, number] | undefined {
  return (node as { range?: [number, number, number] } | null | undefined)?.range;
}

/** Where the key of `path`'s last part stands in its parent map, if it is a key there. */
function keyRange(doc: Document, path: FieldPath): readonly [number, number, number] | undefined {
  if (path.length === 0) return undefined;
  const parent = nodeAt(doc, path.slice(0, -1));
  const { isMap, isScalar } = yaml();
  const pair = isMap(parent)
    ? parent.items.find((p) => isScalar(p.key) && p.key.value === path.at(-1))
    : undefined;
  return rangeOf(pair?.key);
}

/**
 * The problem `message` at `path`, placed on the line of the value when it exists; a missing field
 * on the line of its parent's key (`commands:`), an empty value on its own key's line.
 */
export function problemAt(yaml: YamlFile | undefined, path: FieldPath, message: string): SourceProblem {
  const field = formatFieldPath(path) || undefined;
  if (!yaml) return { file: "(data)", field, message };
  const { doc, lines } = yaml.located();
  for (let n = path.length; n >= 0; n--) {
    const prefix = path.slice(0, n);
    const own = rangeOf(nodeAt(doc, prefix));
    const range = n === path.length ? (own ?? keyRange(doc, prefix)) : (keyRange(doc, prefix) ?? own);
    if (range) {
      const pos = lines.linePos(range[0]);
      return { file: yaml.file, line: pos.line, column: pos.col, field, message };
    }
  }
  return { file: yaml.file, field, message };
}

/** Converts zod's issues to problems located in the file; `data` is what was validated. */
export function zodProblems(
  yaml: YamlFile | undefined,
  issues: readonly z.core.$ZodIssue[],
  data: unknown,
): SourceProblem[] {
  const out: SourceProblem[] = [];
  for (const issue of issues) {
    const path = issue.path as FieldPath;
    // A value of one branch's type that fails inside it (a release object whose warning lacks its
    // text) is that branch's problem, on its own line: not "a release is a string or an object".
    if (issue.code === "invalid_union") {
      const typed = issue.errors.filter(
        (b) => !b.some((i) => i.path.length === 0 && i.code === "invalid_type"),
      );
      if (typed.length === 1) {
        const inner = (typed[0] ?? []).map((i) => ({ ...i, path: [...path, ...i.path] }));
        out.push(...zodProblems(yaml, inner, data));
        continue;
      }
    }
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys)
        out.push(problemAt(yaml, [...path, key], "unknown field (check its spelling)"));
      continue;
    }
    // zod says "Invalid input: expected string, received undefined"; a user wants "missing".
    const value = valueAt(data, path);
    const expectation = issue.message.replace(/^Invalid (input|option): /, "").replace(/, received \w+$/, "");
    const missing = value === undefined && (issue.code === "invalid_type" || issue.code === "invalid_value");
    const message = missing
      ? `missing; it is required (${expectation})`
      : value === null
        ? `empty; ${expectation}`
        : issue.message;
    out.push(problemAt(yaml, path, message));
  }
  return out;
}

function valueAt(data: unknown, path: FieldPath): unknown {
  let v = data;
  for (const part of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<string | number, unknown>)[part];
  }
  return v;
}

/** A schema of the files ferry reads (zod/mini: zod-mini.ts). */
type Validator = z.core.$ZodType & {
  safeParse(data: unknown): { success: true; data: unknown } | { success: false; error: z.core.$ZodError };
};

/**
 * Validates `data` (the file's contents as plain values) with `schema`; every problem is reported
 * at once, each with its line.
 */
export function validateWith<S extends Validator>(
  yaml: YamlFile | undefined,
  schema: S,
  data: unknown,
): z.output<S> {
  const result = schema.safeParse(data);
  if (result.success) return result.data as z.output<S>;
  throw UserError.fromProblems(zodProblems(yaml, result.error.issues, data));
}

/**
 * YAML text with the password of every URL in it masked (`state: postgres://ferry:***@db/ops`), in
 * values however they are written (plain, quoted with escapes, block) and in comments; the rest
 * stays as written. For the copy of a file a run keeps: what reads it again needs no password.
 */
export function yamlWithoutPasswords(text: string): string {
  // The fast reading finds the values that hold a password; a value written as it reads is masked
  // where it stands. Only one that is not (escapes, '' quotes, folded lines) needs the positions,
  // which cost seconds on a 10,000-host file.
  const secret = new Set<string>();
  try {
    collectStrings(jsYaml.load(text, { schema: jsYaml.CORE_SCHEMA }), (v) => {
      if (maskPasswordsIn(v) !== v) secret.add(v);
    });
  } catch {
    return maskPasswordsIn(maskScalars(text));
  }
  let out = text;
  let hidden = false;
  for (const value of [...secret].sort((a, b) => b.length - a.length)) {
    if (out.includes(value)) out = out.replaceAll(value, maskPasswordsIn(value));
    else hidden = true;
  }
  if (hidden) out = maskScalars(out);
  // What is left is outside any value: comments.
  return maskPasswordsIn(out);
}

function collectStrings(value: unknown, found: (s: string) => void): void {
  if (typeof value === "string") found(value);
  else if (Array.isArray(value)) for (const v of value) collectStrings(v, found);
  else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      found(k);
      collectStrings(v, found);
    }
  }
}

/** Every scalar whose value holds a password, rewritten in place as a double-quoted masked one. */
function maskScalars(text: string): string {
  const { parseDocument, visit } = yaml();
  const doc = parseDocument(text);
  const edits: { from: number; to: number; text: string }[] = [];
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value !== "string" || !node.range) return;
      const masked = maskPasswordsIn(node.value);
      if (masked === node.value) return;
      const [from, to] = node.range;
      // A JSON string is a YAML double-quoted scalar; a block scalar's range takes its line end along.
      edits.push({
        from,
        to,
        text: JSON.stringify(masked) + (text.slice(from, to).endsWith("\n") ? "\n" : ""),
      });
    },
  });
  let out = text;
  for (const e of edits.sort((a, b) => b.from - a.from))
    out = out.slice(0, e.from) + e.text + out.slice(e.to);
  return out;
}
