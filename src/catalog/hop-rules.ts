/**
 * The policy rules for one hop, from one release straight to another (DESIGN.md, releases.yaml).
 *
 * `violatedRule` is the single source of truth: the planner asks it about every candidate hop, so
 * it allocates nothing. `explainRefusal` turns a violated rule into words: which rule, and the way
 * out. Rules are checked in order of how fundamental they are, so that a hop breaking several is
 * refused for the one no intermediate hop can fix (23.03.0 → 24.03.0 "skips 23.09" before "does not
 * start from the latest 23.03").
 */
import type { CatalogIndex } from "./catalog-index.js";

export type HopKind = "patch" | "series" | "major" | "downgrade";
export type HopMode = "rolling" | "offline";
export type PolicyRule = "downgrade" | "crossMajor" | "skipSeries" | "leaveSeriesFrom" | "stepwise";

export interface Hop {
  readonly from: string;
  readonly to: string;
  readonly kind: HopKind;
  readonly mode: HopMode;
}

export interface Refusal {
  readonly rule: PolicyRule;
  readonly from: string;
  readonly to: string;
  /** Why, naming the policy field: "… (policy.stepwise: true)". */
  readonly reason: string;
  /** What the operator can do instead. */
  readonly wayOut: string;
}

/** The first rule the hop from release `a` to release `b` (indices, a ≠ b) breaks, if any. */
export function violatedRule(ix: CatalogIndex, a: number, b: number): PolicyRule | undefined {
  const { policy, scheme } = ix.catalog;
  const sa = ix.seriesOf[a] as number;
  const sb = ix.seriesOf[b] as number;
  if (scheme === "semver" && !policy.crossMajor && ix.majorOf[a] !== ix.majorOf[b]) return "crossMajor";
  if (b < a) {
    if (policy.downgrade === "none") return "downgrade";
    if (sb === sa) return policy.stepwise && b !== a - 1 ? "stepwise" : undefined;
    return sb === sa - 1 ? undefined : "downgrade";
  }
  if (sb === sa) return policy.stepwise && b !== a + 1 ? "stepwise" : undefined;
  if (!policy.skipSeries && sb !== sa + 1) return "skipSeries";
  if (policy.leaveSeriesFrom === "latest" && a !== ix.seriesLast[sa]) return "leaveSeriesFrom";
  return undefined;
}

export function hopKind(ix: CatalogIndex, a: number, b: number): HopKind {
  if (b < a) return "downgrade";
  if (ix.seriesOf[a] === ix.seriesOf[b]) return "patch";
  return ix.catalog.scheme === "semver" && ix.majorOf[a] !== ix.majorOf[b] ? "major" : "series";
}

/** Whether a hop may run rolling, by `policy.rolling`; within-series counts downgrades in a series too. */
export function isRolling(ix: CatalogIndex, a: number, b: number): boolean {
  switch (ix.catalog.policy.rolling) {
    case "always":
      return true;
    case "never":
      return false;
    case "within-series":
      return ix.seriesOf[a] === ix.seriesOf[b];
  }
}

export function describeHop(ix: CatalogIndex, a: number, b: number): Hop {
  return {
    from: version(ix, a),
    to: version(ix, b),
    kind: hopKind(ix, a, b),
    mode: isRolling(ix, a, b) ? "rolling" : "offline",
  };
}

function version(ix: CatalogIndex, i: number): string {
  return ix.catalog.releases[i]?.version ?? `#${i}`;
}

/** The refusal of the hop a → b for `rule` (as returned by violatedRule), in words. */
export function explainRefusal(ix: CatalogIndex, a: number, b: number, rule: PolicyRule): Refusal {
  const { policy } = ix.catalog;
  const va = version(ix, a);
  const vb = version(ix, b);
  const sa = ix.seriesOf[a] as number;
  const sb = ix.seriesOf[b] as number;
  const series = (s: number) => ix.seriesNames[s] ?? `#${s}`;
  const refusal = (reason: string, wayOut: string): Refusal => ({ rule, from: va, to: vb, reason, wayOut });

  switch (rule) {
    case "crossMajor":
      return refusal(
        `a hop may not change MAJOR (${ix.majorOf[a]} → ${ix.majorOf[b]}) (policy.crossMajor: false)`,
        `the catalog allows no upgrade across majors: ${vb} needs a new installation`,
      );
    case "downgrade":
      if (policy.downgrade === "none") {
        return refusal(
          `${vb} is older than ${va}, and this catalog allows no downgrade (policy.downgrade: none)`,
          "an unfinished upgrade is undone with `ferry rollback`; a finished one only by restoring its backup",
        );
      }
      // Only reached for a hop more than one series back: sb < sa - 1, so sa - 1 exists.
      return refusal(
        `a downgrade may go back only to the previous series, ${series(sa - 1)}, and ${vb} is in ${series(sb)} (policy.downgrade: previous-series)`,
        `go back to a release of ${series(sa - 1)} first`,
      );
    case "skipSeries": {
      const skipped = ix.seriesNames.slice(sa + 1, sb);
      return refusal(
        `a hop may not jump over a whole series, and it skips ${skipped.join(", ")} (policy.skipSeries: false)`,
        `go through ${series(sa + 1)} first`,
      );
    }
    case "leaveSeriesFrom": {
      const latest = version(ix, ix.seriesLast[sa] as number);
      return refusal(
        `a hop into series ${series(sb)} must start from the latest release of ${series(sa)}, which is ${latest} (policy.leaveSeriesFrom: latest)`,
        `upgrade to ${latest} first`,
      );
    }
    case "stepwise": {
      const step = b > a ? 1 : -1;
      const next = version(ix, a + step);
      return refusal(
        `within a series every release is passed in order, and ${next} lies between (policy.stepwise: true)`,
        `${step > 0 ? "upgrade" : "go back"} to ${next} first`,
      );
    }
  }
}

/** "23.09.9 → 24.03.0 is refused: …; way out: …" */
export function formatRefusal(r: Refusal): string {
  return `${r.from} → ${r.to} is refused: ${r.reason}. Way out: ${r.wayOut}.`;
}
