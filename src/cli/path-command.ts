/** `ferry path --catalog F --from A --to B [--direct] [--json]`: the allowed version path. */
import { loadCatalog, planPath, type VersionPath } from "../index.js";
import { printJson, printLines } from "./output.js";
import { releaseNoteLines } from "./release-notes.js";

export interface PathFlags {
  catalog: string;
  from: string;
  to: string;
  direct?: boolean;
  json?: boolean;
}

export function pathCommand(flags: PathFlags): void {
  const catalog = loadCatalog(flags.catalog);
  const path = planPath(catalog, flags.from, flags.to, { direct: flags.direct ?? false });
  if (flags.json) printJson(path);
  else printLines(renderPath(catalog.product, path));
}

export function renderPath(product: string, p: VersionPath): string[] {
  if (p.hops.length === 0) return [`${product} ${p.from}: already there, nothing to do`];
  const fromWidth = Math.max(...p.hops.map((h) => h.from.length));
  const toWidth = Math.max(...p.hops.map((h) => h.to.length));
  return [
    `${product} ${p.from} → ${p.to}: ${p.hops.length} hop${p.hops.length === 1 ? "" : "s"}`,
    ...p.hops.flatMap((h) => [
      `  ${h.from.padEnd(fromWidth)} → ${h.to.padEnd(toWidth)}  ${h.kind.padEnd(9)} ${h.mode}`.trimEnd(),
      ...releaseNoteLines(h, "    "),
    ]),
  ];
}
