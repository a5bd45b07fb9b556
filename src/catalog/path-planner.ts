/**
 * The version-path planner: which releases an upgrade passes through, hop by hop.
 *
 * A pure function of the catalog. Every hop of the answer keeps the policy (hop-rules.ts). Among
 * the allowed paths it picks the fewest hops, then the fewest offline hops, then the one whose
 * next release is the newest at each step (for an upgrade: the latest patch of each series passed
 * through; for a downgrade: the shortest step back), so the answer is deterministic.
 *
 * A path only moves one way: an upgrade never passes through an older release, nor a downgrade
 * through a newer one. That makes the candidates a DAG over the releases between `from` and `to`,
 * solved backwards from `to` in one sweep.
 */
import { RefusedError } from "../errors.js";
import type { Catalog } from "./catalog.js";
import { type CatalogIndex, indexCatalog, releaseIndex } from "./catalog-index.js";
import {
  describeHop,
  explainRefusal,
  formatRefusal,
  isRolling,
  type Refusal,
  violatedRule,
} from "./hop-rules.js";
import { hopReleaseNotes, type PathHop } from "./release-notes.js";

export interface VersionPath {
  readonly from: string;
  readonly to: string;
  /** Every release the cluster runs along the way, `from` first and `to` last. */
  readonly path: readonly string[];
  /** Each hop with the notes and warnings of the releases it enters. */
  readonly hops: readonly PathHop[];
}

export interface PathOptions {
  /** Only the one hop from → to, refused when the policy does not allow it as a single hop. */
  readonly direct?: boolean;
}

/** A path refusal, carrying the refused hop as data. Exit 3. */
export class PathRefusedError extends RefusedError {
  readonly refusal: Refusal;
  constructor(message: string, refusal: Refusal) {
    super(message, refusal.rule, refusal.wayOut);
    this.name = "PathRefusedError";
    this.refusal = refusal;
  }
}

/**
 * Plans the path from release `from` to release `to`.
 * Throws UserError for a version not in the catalog and PathRefusedError when no path keeps the policy.
 *
 * @example planPath(catalog, "23.09.9", "24.03.0").path // ["23.09.9", "23.09.10", "24.03.0"]
 */
export function planPath(catalog: Catalog, from: string, to: string, options: PathOptions = {}): VersionPath {
  const ix = indexCatalog(catalog);
  const s = releaseIndex(catalog, from, "--from");
  const t = releaseIndex(catalog, to, "--to");
  let chain: number[] | undefined;

  if (s === t) {
    chain = [s];
  } else if (options.direct) {
    const rule = violatedRule(ix, s, t);
    if (rule) {
      const refusal = explainRefusal(ix, s, t, rule);
      const planned = shortestPath(ix, s, t);
      const wayOut = planned
        ? `${refusal.wayOut}; the allowed path is ${summarize(planned.map((i) => versionAt(ix, i)))} (plan it without --direct)`
        : refusal.wayOut;
      throw new PathRefusedError(formatRefusal({ ...refusal, wayOut }), { ...refusal, wayOut });
    }
    chain = [s, t];
  } else {
    chain = shortestPath(ix, s, t);
    if (!chain) throw unreachable(ix, s, t);
  }

  const hops = chain.slice(1).map((b, k): PathHop => {
    const a = chain[k] as number;
    return { ...describeHop(ix, a, b), ...hopReleaseNotes(catalog, a, b) };
  });
  return Object.freeze({
    from: versionAt(ix, s),
    to: versionAt(ix, t),
    path: Object.freeze(chain.map((i) => versionAt(ix, i))),
    hops: Object.freeze(hops.map((h) => Object.freeze(h))),
  });
}

/** "a → b → … → y → z (13 hops)" for a long path, so a message stays readable. */
function summarize(path: readonly string[]): string {
  if (path.length <= 6) return path.join(" → ");
  return `${[...path.slice(0, 3), "…", ...path.slice(-2)].join(" → ")}, ${path.length - 1} hops`;
}

function versionAt(ix: CatalogIndex, i: number): string {
  return ix.catalog.releases[i]?.version ?? `#${i}`;
}

/**
 * The furthest index a hop from `i` might reach towards `t`: without skipSeries a hop ends at the
 * latest in the next series up (or the previous series down), so nothing beyond need be tried.
 */
function reachBound(ix: CatalogIndex, i: number, t: number): number {
  const s = ix.seriesOf[i] as number;
  if (t > i) {
    const bound = ix.catalog.policy.skipSeries ? t : (ix.seriesLast[s + 1] ?? ix.seriesLast[s] ?? t);
    return Math.min(t, bound);
  }
  const bound =
    ix.catalog.policy.downgrade === "none" ? i : (ix.seriesFirst[s - 1] ?? ix.seriesFirst[s] ?? t);
  return Math.max(t, bound);
}

/** The best path s → t as release indices, or undefined when there is none. */
function shortestPath(ix: CatalogIndex, s: number, t: number): number[] | undefined {
  const dir = t > s ? 1 : -1;
  const n = ix.catalog.releases.length;
  // Per release between s and t: hops and offline hops of its best path to t (-1: none), and its next release.
  const hops = new Int32Array(n).fill(-1);
  const offline = new Int32Array(n);
  const next = new Int32Array(n).fill(-1);
  hops[t] = 0;
  for (let i = t - dir; i !== s - dir; i -= dir) {
    const bound = reachBound(ix, i, t);
    let bestHops = Number.POSITIVE_INFINITY;
    let bestOffline = Number.POSITIVE_INFINITY;
    let bestNext = -1;
    // Candidates are visited nearest first; on a tie an upgrade takes the later one (newer) and a
    // downgrade keeps the earlier one (also newer), so the newest next release wins either way.
    for (let j = i + dir; dir > 0 ? j <= bound : j >= bound; j += dir) {
      const hj = hops[j] as number;
      if (hj < 0 || violatedRule(ix, i, j) !== undefined) continue;
      const h = hj + 1;
      const o = (offline[j] as number) + (isRolling(ix, i, j) ? 0 : 1);
      if (h < bestHops || (h === bestHops && (o < bestOffline || (o === bestOffline && dir > 0)))) {
        bestHops = h;
        bestOffline = o;
        bestNext = j;
      }
    }
    if (bestNext >= 0) {
      hops[i] = bestHops;
      offline[i] = bestOffline;
      next[i] = bestNext;
    }
  }
  if ((hops[s] as number) < 0) return undefined;
  const chain = [s];
  for (let i = s; i !== t; ) {
    i = next[i] as number;
    chain.push(i);
  }
  return chain;
}

/** The refusal when no path exists: how far the rules allow, and why the rest is refused. */
function unreachable(ix: CatalogIndex, s: number, t: number): PathRefusedError {
  const dir = t > s ? 1 : -1;
  const reached = new Uint8Array(ix.catalog.releases.length);
  reached[s] = 1;
  let furthest = s;
  for (let i = s; i !== t; i += dir) {
    if (!reached[i]) continue;
    const bound = reachBound(ix, i, t);
    for (let j = i + dir; dir > 0 ? j <= bound : j >= bound; j += dir) {
      if (!reached[j] && violatedRule(ix, i, j) === undefined) {
        reached[j] = 1;
        if ((j - furthest) * dir > 0) furthest = j;
      }
    }
  }
  const rule = violatedRule(ix, furthest, t);
  if (!rule)
    throw new Error(`planner: ${versionAt(ix, furthest)} → ${versionAt(ix, t)} allowed but unreached`);
  const refusal = explainRefusal(ix, furthest, t, rule);
  const head =
    furthest === s
      ? ""
      : `no allowed path leads from ${versionAt(ix, s)} to ${versionAt(ix, t)}: the rules go as far as ${versionAt(ix, furthest)}, and `;
  return new PathRefusedError(head + formatRefusal(refusal), refusal);
}
