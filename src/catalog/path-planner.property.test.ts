/**
 * The planner against a brute-force search on random catalogs and policies: it finds a path exactly
 * when one exists, every hop keeps the rules, and no path has fewer hops, or as few hops and fewer
 * offline ones.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import fc from "fast-check";
import { defineCatalog } from "./catalog.js";
import { indexCatalog } from "./catalog-index.js";
import { isRolling, violatedRule } from "./hop-rules.js";
import { PathRefusedError, planPath } from "./path-planner.js";

const policy = fc.record({
  stepwise: fc.boolean(),
  leaveSeriesFrom: fc.constantFrom("latest", "any"),
  skipSeries: fc.boolean(),
  crossMajor: fc.boolean(),
  downgrade: fc.constantFrom("none", "previous-series"),
  rolling: fc.constantFrom("within-series", "always", "never"),
});

// Up to 3 majors × 3 minors × 4 patches of semver, so every rule (crossMajor too) comes into play.
const catalog = fc
  .record({
    policy,
    series: fc.uniqueArray(fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 2 })), {
      minLength: 1,
      maxLength: 6,
      selector: ([a, b]) => `${a}.${b}`,
    }),
    patches: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 6, maxLength: 6 }),
  })
  .map(({ policy, series, patches }) =>
    defineCatalog({
      product: "p",
      scheme: "semver",
      policy,
      releases: series.flatMap(([ma, mi], k) =>
        Array.from({ length: patches[k] ?? 1 }, (_, p) => `${ma}.${mi}.${p}`),
      ),
    }),
  );

/** Breadth-first over every monotone path; the best (hops, offline) to `t`, or undefined. */
function bruteForce(cat: ReturnType<typeof defineCatalog>, s: number, t: number) {
  const ix = indexCatalog(cat);
  const dir = Math.sign(t - s);
  let frontier = new Map<number, number>([[s, 0]]); // release -> fewest offline hops so far
  for (let hops = 0; frontier.size > 0; hops++) {
    const done = frontier.get(t);
    if (done !== undefined) return { hops, offline: done };
    const next = new Map<number, number>();
    for (const [i, off] of frontier) {
      for (let j = i + dir; dir > 0 ? j <= t : j >= t; j += dir) {
        if (violatedRule(ix, i, j)) continue;
        const o = off + (isRolling(ix, i, j) ? 0 : 1);
        if ((next.get(j) ?? Number.POSITIVE_INFINITY) > o) next.set(j, o);
      }
    }
    frontier = next;
  }
  return undefined;
}

it("finds the best allowed path exactly when one exists", () => {
  fc.assert(
    fc.property(catalog, fc.nat(), fc.nat(), (cat, x, y) => {
      const n = cat.releases.length;
      const [s, t] = [x % n, y % n];
      const from = cat.releases[s]?.version as string;
      const to = cat.releases[t]?.version as string;
      const best = s === t ? { hops: 0, offline: 0 } : bruteForce(cat, s, t);
      let planned: ReturnType<typeof planPath>;
      try {
        planned = planPath(cat, from, to);
      } catch (err) {
        assert.ok(err instanceof PathRefusedError, String(err));
        assert.equal(best, undefined, `refused, but ${JSON.stringify(best)} exists: ${err.message}`);
        return;
      }
      assert.ok(best, `planned ${planned.path.join(" → ")}, but brute force finds none`);
      assert.equal(planned.hops.length, best.hops);
      assert.equal(planned.hops.filter((h) => h.mode === "offline").length, best.offline);
      const ix = indexCatalog(cat);
      const at = (v: string) => cat.releases.findIndex((r) => r.version === v);
      for (const hop of planned.hops) {
        assert.equal(violatedRule(ix, at(hop.from), at(hop.to)), undefined, `${hop.from} → ${hop.to}`);
      }
      assert.deepEqual(planPath(cat, from, to), planned, "deterministic");
    }),
    { numRuns: 2000 },
  );
});
