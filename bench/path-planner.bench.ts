/**
 * How fast the path planner is on a big catalog: 2,000 releases (4 majors × 10 minors × 50 patches),
 * planned from the oldest release to the newest under several policies, including the ones that
 * make every pair of releases a candidate hop.
 *
 *   npm run bench:path [-- --json] [-- --runs N]
 *
 * Prints the median and the slowest of N runs for each policy: "cold" on a catalog not planned on
 * before (includes building its index), "warm" on the same catalog again.
 */
import { performance } from "node:perf_hooks";
import { type Catalog, defineCatalog, PathRefusedError, type Policy, planPath } from "../src/index.js";

const args = process.argv.slice(2);
const json = args.includes("--json");
const runs = Number(args[args.indexOf("--runs") + 1]) || 21;

const RELEASES = Array.from({ length: 4 }, (_, ma) =>
  Array.from({ length: 10 }, (_, mi) => Array.from({ length: 50 }, (_, p) => `${ma + 1}.${mi}.${p}`)),
).flat(2);

const POLICIES: Record<string, Partial<Policy>> = {
  "strict (defaults: stepwise, from latest, no skipping)": {},
  "ganeti (any release, skip series)": { stepwise: false, leaveSeriesFrom: "any", skipSeries: true },
  "unreachable (crossMajor: false, explained)": { crossMajor: false, stepwise: false, skipSeries: true },
  "downgrade, newest to oldest, previous-series": { downgrade: "previous-series", stepwise: false },
};

function catalog(policy: Partial<Policy>): Catalog {
  return defineCatalog({ product: "bench", scheme: "semver", policy, releases: RELEASES });
}

function plan(cat: Catalog, name: string): number {
  const [from, to] = name.startsWith("downgrade") ? ["4.9.49", "1.0.0"] : ["1.0.0", "4.9.49"];
  try {
    return planPath(cat, from, to).hops.length;
  } catch (err) {
    if (err instanceof PathRefusedError) return 0;
    throw err;
  }
}

function stats(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  return { medianMs: round(sorted[Math.floor(sorted.length / 2)] ?? 0), maxMs: round(sorted.at(-1) ?? 0) };
}
const round = (ms: number) => Math.round(ms * 1000) / 1000;

const results = Object.entries(POLICIES).map(([name, policy]) => {
  const cold: number[] = [];
  const warm: number[] = [];
  let hops = 0;
  for (let r = 0; r < runs; r++) {
    const cat = catalog(policy);
    let t = performance.now();
    hops = plan(cat, name);
    cold.push(performance.now() - t);
    t = performance.now();
    plan(cat, name);
    warm.push(performance.now() - t);
  }
  return { policy: name, releases: RELEASES.length, hops, cold: stats(cold), warm: stats(warm) };
});

if (json) {
  process.stdout.write(`${JSON.stringify({ runs, results }, null, 2)}\n`);
} else {
  console.log(
    `path planner, ${RELEASES.length} releases, oldest → newest, ${runs} runs each (median / max, ms)`,
  );
  for (const r of results) {
    const hops = r.hops === 0 ? "refused" : `${r.hops} hop${r.hops === 1 ? "" : "s"}`;
    console.log(`  ${r.policy.padEnd(52)} ${hops.padStart(9)}   cold ${fmt(r.cold)}   warm ${fmt(r.warm)}`);
  }
}

function fmt(s: { medianMs: number; maxMs: number }): string {
  return `${s.medianMs.toFixed(2).padStart(7)} / ${s.maxMs.toFixed(2).padStart(7)}`;
}
