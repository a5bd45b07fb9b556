/**
 * `ferry fleet plan` through the real bin/ferry, over fleets of clusters whose hosts are folders on
 * this machine: each cluster's release asked of its hosts, its path, its refusal, groups in order.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { type FleetFolder, type FleetSite, makeFleet } from "./support/fleet-files.js";
import { ferry } from "./support/run-ferry.js";

const folders: FleetFolder[] = [];
after(() => {
  for (const f of folders) f.cleanup();
});

function fleet(sites: readonly FleetSite[], yaml: string): FleetFolder {
  const f = makeFleet(sites, yaml);
  folders.push(f);
  return f;
}

const EDGE = `name: edge
state: fleet.db
clusters:
  - { path: "sites/canary/*.yaml", group: canary }
  - { path: "sites/**/*.yaml", group: rest }
strategy: { groups: [canary, rest], maxParallel: 5, soak: 90s, maxFailures: "10%" }
`;

interface PlanJson {
  fleet: string;
  to: string;
  strategy: { maxParallel: number; soakMs: number; maxFailures: number };
  groups: {
    name: string;
    clusters: {
      name: string | null;
      file: string;
      from: string | null;
      path: string[] | null;
      refused: { kind: string; reason: string } | null;
    }[];
  }[];
}

describe("ferry fleet plan", () => {
  it("lists each cluster's release, its path or its refusal, group by group, and exits 0", () => {
    const f = fleet(
      [
        { file: "sites/canary/c1.yaml" },
        { file: "sites/eu/e1.yaml", versions: ["1.0.1", "1.0.1", "1.0.1"] },
        { file: "sites/eu/e2.yaml", versions: ["1.0.0", "1.0.1"] },
        { file: "sites/eu/e3.yaml", versions: ["1.0.0", null] },
        { file: "sites/us/u1.yaml", versions: ["1.1.0"] },
        { file: "sites/us/u2.yaml", versions: ["2.0.0", "2.0.0"] },
        { file: "sites/us/u3.yaml", text: "name: u3\ncatalog: ../../releases.yaml\nhosts: 3\n" },
      ],
      EDGE,
    );
    const r = ferry(["fleet", "plan", "-f", f.fleetFile, "--to", "1.1.0", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const plan = JSON.parse(r.stdout) as PlanJson;
    assert.equal(plan.fleet, "edge");
    assert.equal(plan.to, "1.1.0");
    assert.deepEqual(plan.strategy, { maxParallel: 5, soakMs: 90_000, maxFailures: 1 });
    const rows = plan.groups.map((g) => [
      g.name,
      g.clusters.map((c) => [c.name, c.from, c.path, c.refused?.kind ?? null]),
    ]);
    assert.deepEqual(rows, [
      ["canary", [["c1", "1.0.0", ["1.0.0", "1.0.1", "1.1.0"], null]]],
      [
        "rest",
        [
          ["e1", "1.0.1", ["1.0.1", "1.1.0"], null],
          ["e2", null, null, "mixed-versions"],
          ["e3", null, null, "unreachable"],
          ["u1", "1.1.0", ["1.1.0"], null],
          ["u2", "2.0.0", null, "forbidden-path"],
          ["u3", null, null, "invalid"],
        ],
      ],
    ]);
    const clusters = plan.groups.flatMap((g) => g.clusters);
    const byName = new Map(clusters.map((c) => [c.name, c]));
    assert.equal(byName.get("c1")?.file, join(f.dir, "sites/canary/c1.yaml"));
    assert.match(byName.get("e2")?.refused?.reason ?? "", /api@h1: 1\.0\.0[\s\S]*api@h2: 1\.0\.1/);
    assert.match(byName.get("e3")?.refused?.reason ?? "", /api@h2: unknown \(version command: exit 1/);
    assert.match(byName.get("u2")?.refused?.reason ?? "", /crossMajor/);
    // The invalid cluster file is named with its own line and field; the rest were planned all the same.
    assert.match(byName.get("u3")?.refused?.reason ?? "", /sites\/us\/u3\.yaml:3:\d+: hosts: /);

    const text = ferry(["fleet", "plan", "-f", f.fleetFile, "--to", "1.1.0"]);
    assert.equal(text.code, 0, text.stderr);
    const lines = text.stdout.split("\n");
    assert.match(
      lines[0] ?? "",
      /^fleet edge → 1\.1\.0: 7 clusters, 2 to upgrade, 1 there already, 4 refused$/,
    );
    assert.match(
      lines[1] ?? "",
      /at most 5 at once; no new cluster starts once 1 cluster failed; 1m30s soak/,
    );
    const canary = lines.indexOf("group canary: 1 cluster");
    const rest = lines.indexOf("group rest: 6 clusters");
    assert.ok(canary > 0 && rest > canary, text.stdout);
    assert.match(lines[canary + 1] ?? "", /^ {2}c1 +1\.0\.0 → 1\.0\.1 → 1\.1\.0 {2}\(2 hops, 1 offline\)$/);
    assert.match(text.stdout, /\n {2}u1 +at 1\.1\.0 already\n/);
    assert.match(text.stdout, /\n {2}e3 +refused \(unreachable\): ferry cannot tell which release e3 runs/);
  });

  it("exits 3 when every cluster is refused, still listing each with its reason", () => {
    const f = fleet(
      [
        { file: "sites/a.yaml", versions: ["2.0.0"] },
        { file: "sites/b.yaml", versions: [null] },
      ],
      `name: down\nstate: fleet.db\nclusters:\n  - { path: "sites/*.yaml", group: all }\nstrategy: { groups: [all] }\n`,
    );
    const r = ferry(["fleet", "plan", "-f", f.fleetFile, "--to", "1.1.0", "--json"]);
    assert.equal(r.code, 3, r.stderr);
    const plan = JSON.parse(r.stdout) as PlanJson;
    assert.deepEqual(
      plan.groups[0]?.clusters.map((c) => [c.name, c.refused?.kind]),
      [
        ["a", "forbidden-path"],
        ["b", "unreachable"],
      ],
    );
  });

  it("asks the clusters in parallel, at most 16 at once", () => {
    // Each version command marks itself running in a shared folder, waits, and logs how many it saw.
    const sites: FleetSite[] = Array.from({ length: 24 }, (_, i) => ({
      file: `sites/s${String(i).padStart(2, "0")}.yaml`,
      versions: ["1.0.0"],
      versionCommand:
        "mkdir -p {{vars.root}}/../../busy && touch {{vars.root}}/../../busy/$$ && sleep 0.4 && ls {{vars.root}}/../../busy | wc -l >> {{vars.root}}/../../seen && rm {{vars.root}}/../../busy/$$ && cat {{vars.root}}/{{host}}/VERSION",
    }));
    const f = fleet(
      sites,
      `name: wide\nstate: fleet.db\nclusters:\n  - { path: "sites/*.yaml", group: all }\nstrategy: { groups: [all] }\n`,
    );
    const r = ferry(["fleet", "plan", "-f", f.fleetFile, "--to", "1.0.1", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const plan = JSON.parse(r.stdout) as PlanJson;
    const refused = plan.groups[0]?.clusters.filter((c) => c.refused) ?? [];
    assert.deepEqual(refused, []);
    assert.equal(plan.groups[0]?.clusters.filter((c) => c.from === "1.0.0").length, 24);
    const seen = readFileSync(join(f.dir, "seen"), "utf8").trim().split("\n").map(Number);
    assert.equal(seen.length, 24);
    const most = Math.max(...seen);
    assert.ok(most <= 16, `at most 16 clusters at once, saw ${most}`);
    assert.ok(most > 1, `clusters are asked side by side, saw ${most} at most`);
  });

  describe("bad input: exit 2, nothing asked of any host", () => {
    const sites: FleetSite[] = [
      {
        file: "sites/a.yaml",
        versionCommand: "touch {{vars.root}}/asked; cat {{vars.root}}/{{host}}/VERSION",
      },
      { file: "sites/b.yaml" },
    ];
    const cases: [string, string, string[], RegExp][] = [
      [
        "a glob matching nothing",
        `name: e\nstate: s.db\nclusters:\n  - { path: "sites/*.yaml", group: a }\n  - { path: "elsewhere/**/*.yaml", group: a }\nstrategy: { groups: [a] }\n`,
        ["--to", "1.1.0"],
        /fleet\.yaml:5:\d+: clusters\[1\]\.path: matches no file/,
      ],
      [
        "a group not in strategy.groups",
        `name: e\nstate: s.db\nclusters:\n  - { path: "sites/*.yaml", group: canary }\nstrategy: { groups: [rest] }\n`,
        ["--to", "1.1.0"],
        /fleet\.yaml:4:\d+: clusters\[0\]\.group: no group canary in strategy\.groups/,
      ],
      [
        "a target no catalog knows",
        `name: e\nstate: s.db\nclusters:\n  - { path: "sites/*.yaml", group: a }\nstrategy: { groups: [a] }\n`,
        ["--to", "9.9.9"],
        /--to: 9\.9\.9 is not a release/,
      ],
    ];
    for (const [what, yaml, args, expected] of cases) {
      it(what, () => {
        const f = fleet(sites, yaml);
        const r = ferry(["fleet", "plan", "-f", f.fleetFile, ...args]);
        assert.equal(r.code, 2, r.stderr);
        assert.equal(r.stdout, "");
        assert.match(r.stderr, expected);
        assert.throws(() => readFileSync(join(f.dir, "hosts/a/asked")), /ENOENT/);
      });
    }

    it("two cluster files with the same cluster name, naming both", () => {
      const f = fleet(
        [
          { file: "sites/a.yaml", name: "store-7" },
          { file: "sites/b.yaml", name: "store-7" },
        ],
        `name: e\nstate: s.db\nclusters:\n  - { path: "sites/*.yaml", group: a }\nstrategy: { groups: [a] }\n`,
      );
      const r = ferry(["fleet", "plan", "-f", "fleet.yaml", "--to", "1.1.0"], { cwd: f.dir });
      assert.equal(r.code, 2, r.stderr);
      assert.match(
        r.stderr,
        /sites\/b\.yaml:1:\d+: name: cluster store-7 is also the name of sites\/a\.yaml/,
      );
    });

    it("a missing fleet file", () => {
      const r = ferry(["fleet", "plan", "-f", "/nonexistent/fleet.yaml", "--to", "1.1.0"]);
      assert.equal(r.code, 2);
      assert.match(
        r.stderr,
        /\/nonexistent\/fleet\.yaml: cannot read it: no such file \(name another with -f\)/,
      );
    });
  });
});
