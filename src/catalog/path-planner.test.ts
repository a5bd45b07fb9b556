import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { backendAi, ganeti } from "../../test/support/catalogs.js";
import { PathRefusedError, planPath } from "./path-planner.js";

const refusedBy = (rule: string) => (err: unknown) =>
  err instanceof PathRefusedError && err.refusal.rule === rule;

describe("Backend.AI rules (DESIGN.md examples)", () => {
  const catalog = backendAi();

  for (const [from, to] of [
    ["23.09.10", "24.03.0"],
    ["23.09.10", "24.03.5"],
    ["23.09.9", "23.09.10"],
  ] as const) {
    it(`allows the hop ${from} → ${to}`, () => {
      assert.deepEqual(planPath(catalog, from, to, { direct: true }).path, [from, to]);
    });
  }

  for (const [from, to, rule, words] of [
    [
      "23.09.9",
      "24.03.0",
      "leaveSeriesFrom",
      "must start from the latest release of 23.09, which is 23.09.10",
    ],
    ["23.03.0", "24.03.0", "skipSeries", "skips 23.09"],
    ["24.03.0", "24.03.2", "stepwise", "24.03.1 lies between"],
    ["24.03.1", "24.03.0", "downgrade", "allows no downgrade"],
  ] as const) {
    it(`refuses the hop ${from} → ${to} by ${rule}, saying why and the way out`, () => {
      assert.throws(
        () => planPath(catalog, from, to, { direct: true }),
        (err: unknown) => {
          assert.ok(refusedBy(rule)(err), String(err));
          const e = err as PathRefusedError;
          assert.equal(e.exitCode, 3);
          assert.match(e.message, new RegExp(`^${from} → ${to} is refused: `));
          assert.ok(e.message.includes(words), e.message);
          assert.ok(e.message.includes(`policy.${rule}`), "names the policy field");
          assert.match(e.message, /Way out: ./);
          return true;
        },
      );
    });
  }

  it("says the way out of 23.09.9 → 24.03.0 in the words DESIGN.md uses", () => {
    assert.throws(
      () => planPath(catalog, "23.09.9", "24.03.0", { direct: true }),
      /: 23\.09\.9 → 24\.03\.0 is refused: a hop into series 24\.03 must start from the latest release of 23\.09, which is 23\.09\.10/,
    );
  });

  for (const [from, to, path] of [
    ["23.09.9", "24.03.0", ["23.09.9", "23.09.10", "24.03.0"]],
    ["24.03.0", "24.03.3", ["24.03.0", "24.03.1", "24.03.2", "24.03.3"]],
    ["23.03.11", "24.03.5", ["23.03.11", "23.09.10", "24.03.5"]],
    ["24.03.5", "24.03.5", ["24.03.5"]],
  ] as const) {
    it(`plans ${from} → ${to} as ${path.join(" → ")}`, () => {
      assert.deepEqual(planPath(catalog, from, to).path, path);
    });
  }

  it("marks patch hops rolling and series hops offline", () => {
    assert.deepEqual(planPath(catalog, "23.09.9", "24.03.0").hops, [
      { from: "23.09.9", to: "23.09.10", kind: "patch", mode: "rolling", notes: [], warnings: [] },
      { from: "23.09.10", to: "24.03.0", kind: "series", mode: "offline", notes: [], warnings: [] },
    ]);
  });

  it("refuses a downgrade even as a path, and points at rollback", () => {
    assert.throws(() => planPath(catalog, "24.03.0", "23.09.10"), /allows no downgrade.*ferry rollback/);
  });
});

describe("Ganeti rules (DESIGN.md examples)", () => {
  const catalog = ganeti();

  for (const [from, to, kind] of [
    ["2.10.3", "2.12.4", "series"],
    ["2.10.3", "2.9.1", "downgrade"],
    ["2.10.3", "2.10.1", "downgrade"],
    ["2.10.0", "2.10.8", "patch"],
    ["2.12.6", "2.13.0-rc.1", "series"],
  ] as const) {
    it(`allows the hop ${from} → ${to} (${kind})`, () => {
      const p = planPath(catalog, from, to, { direct: true });
      assert.deepEqual(p.path, [from, to]);
      assert.equal(p.hops[0]?.kind, kind);
    });
  }

  for (const [from, to, rule] of [
    ["2.10.3", "2.8.0", "downgrade"],
    ["2.10.3", "3.0.0", "crossMajor"],
    ["3.0.0", "2.12.0", "crossMajor"],
  ] as const) {
    it(`refuses the hop ${from} → ${to} by ${rule}`, () => {
      assert.throws(() => planPath(catalog, from, to, { direct: true }), refusedBy(rule));
    });
  }

  it("refuses any path across a major, naming how far the rules go", () => {
    assert.throws(
      () => planPath(catalog, "2.8.0", "3.0.0"),
      (err: unknown) =>
        refusedBy("crossMajor")(err) &&
        /^no allowed path leads from 2\.8\.0 to 3\.0\.0: the rules go as far as 2\.13\.0, and 2\.13\.0 → 3\.0\.0 is refused/.test(
          (err as Error).message,
        ),
    );
  });

  it("runs every hop offline, a patch hop too: one version on every node (rolling: never)", () => {
    for (const [from, to] of [
      ["2.10.0", "2.10.8"],
      ["2.10.3", "2.12.4"],
      ["2.10.3", "2.9.1"],
    ] as const) {
      assert.equal(planPath(catalog, from, to, { direct: true }).hops[0]?.mode, "offline", `${from} → ${to}`);
    }
  });

  it("goes back two series one series at a time, each hop allowed", () => {
    assert.deepEqual(planPath(catalog, "2.10.3", "2.8.0").path, ["2.10.3", "2.9.6", "2.8.0"]);
  });

  it("orders pre-releases before their release", () => {
    assert.deepEqual(planPath(catalog, "2.13.0-beta.2", "2.13.0").path, ["2.13.0-beta.2", "2.13.0"]);
    assert.equal(planPath(catalog, "2.13.0-rc.1", "2.13.0-beta.2").hops[0]?.kind, "downgrade");
  });
});

describe("unknown versions", () => {
  it("are bad input (exit 2) naming the flag, the catalog and what the series has", () => {
    assert.throws(
      () => planPath(backendAi(), "23.09.9", "24.03.9"),
      (err: unknown) =>
        (err as { exitCode?: number }).exitCode === 2 &&
        /--to: 24\.03\.9 is not a release in .*backend-ai\.yaml; series 24\.03 has 24\.03\.0 … 24\.03\.5/.test(
          (err as Error).message,
        ),
    );
    assert.throws(() => planPath(backendAi(), "23.9", "24.03.0"), /--from: "23\.9" is not a calver version/);
  });
});
