/**
 * Numbers the planner needs about a catalog, computed once per catalog: which series each release
 * is in, each series' first and last release, and a lookup from version to index. Releases of one
 * series are contiguous in the sorted list (a series is a version prefix), which the rules rely on.
 */
import { UserError } from "../errors.js";
import { type Catalog, schemeOf } from "./catalog.js";

export interface CatalogIndex {
  readonly catalog: Catalog;
  /** Per release: the ordinal of its series, oldest series 0. */
  readonly seriesOf: Int32Array;
  /** Per series: index of its first and last release. */
  readonly seriesFirst: Int32Array;
  readonly seriesLast: Int32Array;
  readonly seriesNames: readonly string[];
  readonly majorOf: Int32Array;
  readonly byKey: ReadonlyMap<string, number>;
}

const cache = new WeakMap<Catalog, CatalogIndex>();

export function indexCatalog(catalog: Catalog): CatalogIndex {
  const hit = cache.get(catalog);
  if (hit) return hit;
  const scheme = schemeOf(catalog);
  const n = catalog.releases.length;
  const seriesOf = new Int32Array(n);
  const majorOf = new Int32Array(n);
  const first: number[] = [];
  const last: number[] = [];
  const names: string[] = [];
  const byKey = new Map<string, number>();
  catalog.releases.forEach((r, i) => {
    if (names.at(-1) !== r.series) {
      names.push(r.series);
      first.push(i);
    }
    last[names.length - 1] = i;
    seriesOf[i] = names.length - 1;
    majorOf[i] = r.major;
    const key = scheme.parse(r.version)?.key;
    if (key !== undefined) byKey.set(key, i);
  });
  const index: CatalogIndex = {
    catalog,
    seriesOf,
    seriesFirst: Int32Array.from(first),
    seriesLast: Int32Array.from(last),
    seriesNames: names,
    majorOf,
    byKey,
  };
  cache.set(catalog, index);
  return index;
}

/**
 * The index of `version` among the catalog's releases. A version that is malformed or not in the
 * catalog is bad input (exit 2); `what` names where it came from (`--from`).
 */
export function releaseIndex(catalog: Catalog, version: string, what: string): number {
  const found = lookupRelease(catalog, version);
  if ("problem" in found) throw new UserError(`${what}: ${found.problem}`);
  return found.index;
}

/** The index of `version` among the catalog's releases, or why it is not one of them. */
export function lookupRelease(catalog: Catalog, version: string): { index: number } | { problem: string } {
  const scheme = schemeOf(catalog);
  const parsed = scheme.parse(version);
  if (!parsed)
    return { problem: `${JSON.stringify(version)} is not a ${scheme.name} version (${scheme.shape})` };
  const ix = indexCatalog(catalog);
  const i = ix.byKey.get(parsed.key);
  if (i !== undefined) return { index: i };
  const s = ix.seriesNames.indexOf(parsed.series);
  const hint =
    s >= 0
      ? `series ${parsed.series} has ${listVersions(catalog, ix.seriesFirst[s] ?? 0, ix.seriesLast[s] ?? 0)}`
      : `it has no series ${parsed.series}; its series are ${ix.seriesNames.join(", ")}`;
  return { problem: `${version} is not a release in ${catalog.file ?? "the catalog"}; ${hint}` };
}

function listVersions(catalog: Catalog, from: number, to: number): string {
  const v = (i: number) => catalog.releases[i]?.version;
  const count = to - from + 1;
  if (count <= 4)
    return catalog.releases
      .slice(from, to + 1)
      .map((r) => r.version)
      .join(", ");
  return `${v(from)} … ${v(to)} (${count} releases)`;
}
