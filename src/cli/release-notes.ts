/**
 * A hop's release notes and warnings as `path`, `plan` and `apply` print them, one line each (a
 * text of several lines goes on below its first, indented), notes first:
 *
 *     note 1.9.0: Some components become StatefulSets.
 *     warning 1.9.0 (from <1.9.0, must be accepted): Volumes a storage class provisioned are lost.
 */
import type { HopWarning, PathHop, ReleaseNotes } from "../index.js";

export function releaseNoteLines(hop: Partial<ReleaseNotes>, indent: string): string[] {
  return [
    ...(hop.notes ?? []).flatMap((n) => textLines(`${indent}note ${n.release}: `, n.text, indent)),
    ...(hop.warnings ?? []).flatMap((w) =>
      textLines(`${indent}warning ${w.release}${warningTerms(w)}: `, w.text, indent),
    ),
  ];
}

/**
 * What `apply` prints before it asks anything: each hop that has notes or warnings, and them;
 * nothing when no hop has any.
 */
export function pathNoteLines(hops: readonly PathHop[]): string[] {
  const shown = hops.filter((h) => h.notes.length > 0 || h.warnings.length > 0);
  if (shown.length === 0) return [];
  return [
    "Release notes:",
    ...shown.flatMap((h) => [`  ${h.from} → ${h.to}`, ...releaseNoteLines(h, "    ")]),
  ];
}

/** The question that asks an operator to accept `warnings`, each named with its hop. */
export function acceptanceQuestion(warnings: readonly (HopWarning & { readonly hop: string })[]): string {
  const count = warnings.length === 1 ? "This warning" : `These ${warnings.length} warnings`;
  return [
    `${count} must be accepted before the upgrade runs:`,
    ...warnings.flatMap((w, i) =>
      textLines(`  ${i + 1}. ${w.release}, for the hop ${w.hop}: `, w.text, "    "),
    ),
    `Accept ${warnings.length === 1 ? "it" : "them"}?`,
  ].join("\n");
}

function warningTerms(w: HopWarning): string {
  const terms = [...(w.from ? [`from ${w.from}`] : []), ...(w.acknowledge ? ["must be accepted"] : [])];
  return terms.length > 0 ? ` (${terms.join(", ")})` : "";
}

function textLines(head: string, text: string, indent: string): string[] {
  const [first = "", ...rest] = text.trimEnd().split("\n");
  return [`${head}${first}`, ...rest.map((line) => `${indent}  ${line}`.trimEnd())];
}
