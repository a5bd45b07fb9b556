/**
 * Reading a YAML file that a user wrote, and validating it, so that every error names the file,
 * the line and the field. Shared by the catalog and the cluster file.
 */
import { readFileSync } from "node:fs";
import { type Document, isMap, isScalar, LineCounter, parseDocument } from "yaml";
import type { z } from "zod";
import { type SourceProblem, UserError } from "./errors.js";

export type FieldPath = readonly (string | number)[];

export interface YamlSource {
  /** The path as the user gave it, for messages. */
  readonly file: string;
  readonly doc: Document;
  readonly lines: LineCounter;
}

/** Reads and parses a YAML file; a missing file or a syntax error is a UserError. */
export function readYamlFile(file: string): YamlSource {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a folder" : String(err);
    throw UserError.fromProblems([{ file, message: `cannot read it: ${why}` }]);
  }
  return parseYaml(file, text);
}

export function parseYaml(file: string, text: string): YamlSource {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw UserError.fromProblems(
      doc.errors.map((e) => {
        const pos = lines.linePos(e.pos[0]);
        return { file, line: pos.line, column: pos.col, message: e.message.split("\n")[0] ?? e.message };
      }),
    );
  }
  return { file, doc, lines };
}

/** `releases[3].version`: a field path the way a user reads it. */
export function formatFieldPath(path: FieldPath): string {
  let out = "";
  for (const part of path) {
    out += typeof part === "number" ? `[${part}]` : out ? `.${part}` : part;
  }
  return out;
}

function nodeAt(src: YamlSource, path: FieldPath): unknown {
  return path.length === 0 ? src.doc.contents : src.doc.getIn(path, true);
}

function rangeOf(node: unknown): readonly [number, number, number] | undefined {
  return (node as { range?: [number, number, number] } | null | undefined)?.range;
}

/**
 * The problem `message` at `path`, placed on the line of the nearest node that exists (a missing
 * field is reported on its parent's line, an empty value on its key's line).
 */
export function problemAt(src: YamlSource | undefined, path: FieldPath, message: string): SourceProblem {
  const field = formatFieldPath(path) || undefined;
  if (!src) return { file: "(data)", field, message };
  for (let n = path.length; n >= 0; n--) {
    let range = rangeOf(nodeAt(src, path.slice(0, n)));
    if (!range && n > 0) {
      const parent = nodeAt(src, path.slice(0, n - 1));
      const pair = isMap(parent)
        ? parent.items.find((p) => isScalar(p.key) && p.key.value === path[n - 1])
        : undefined;
      range = rangeOf(pair?.key);
    }
    if (range) {
      const pos = src.lines.linePos(range[0]);
      return { file: src.file, line: pos.line, column: pos.col, field, message };
    }
  }
  return { file: src.file, field, message };
}

/** Converts zod's issues to problems located in the file; `data` is what was validated. */
export function zodProblems(
  src: YamlSource | undefined,
  issues: readonly z.core.$ZodIssue[],
  data: unknown,
): SourceProblem[] {
  const out: SourceProblem[] = [];
  for (const issue of issues) {
    const path = issue.path as FieldPath;
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys)
        out.push(problemAt(src, [...path, key], "unknown field (check its spelling)"));
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
    out.push(problemAt(src, path, message));
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

/**
 * Validates `data` (the file's contents as plain values) with `schema`; every problem is reported
 * at once, each with its line.
 */
export function validateWith<S extends z.ZodType>(
  src: YamlSource | undefined,
  schema: S,
  data: unknown,
): z.output<S> {
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  throw UserError.fromProblems(zodProblems(src, result.error.issues, data));
}
