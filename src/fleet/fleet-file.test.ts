import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { type FleetSite, makeFleet } from "../../test/support/fleet-files.js";
import { UserError } from "../errors.js";
import { failureLimit, fleetGroups, loadFleet } from "./fleet-file.js";

const SITES: FleetSite[] = [
  { file: "sites/canary/c1.yaml" },
  { file: "sites/eu/e1.yaml" },
  { file: "sites/eu/e2.yaml" },
  { file: "sites/us/u1.yaml" },
];

function withFleet(sites: readonly FleetSite[], yaml: string, body: (dir: string, file: string) => void) {
  const f = makeFleet(sites, yaml);
  try {
    body(f.dir, f.fleetFile);
  } catch (err) {
    f.cleanup();
    throw err;
  }
  f.cleanup();
}

function problemOf(file: string): string {
  try {
    loadFleet(file);
  } catch (err) {
    assert.ok(err instanceof UserError, String(err));
    return err.message;
  }
  assert.fail("the fleet file was accepted");
}

test("globs expand in path order, a file matched twice belongs to its first entry, groups in strategy order", () => {
  const yaml = `name: edge
state: fleet.db
clusters:
  - { path: "sites/**/*.yaml", group: rest }
  - { path: "sites/canary/*.yaml", group: canary }
strategy: { groups: [canary, rest], soak: 2m, maxFailures: "10%" }
`;
  withFleet(SITES, yaml, (dir, file) => {
    const fleet = loadFleet(file);
    assert.equal(fleet.name, "edge");
    assert.equal(fleet.dir, dir);
    assert.equal(fleet.state, "fleet.db");
    assert.deepEqual(fleet.strategy, {
      groups: ["canary", "rest"],
      maxParallel: 20,
      soakMs: 120_000,
      maxFailures: { percent: 10 },
    });
    // The first entry took the canary file too: the second one matched, but only files already taken.
    assert.deepEqual(
      fleet.members.map((m) => [m.name, m.group, m.file]),
      [
        ["c1", "rest", join(dir, "sites/canary/c1.yaml")],
        ["e1", "rest", join(dir, "sites/eu/e1.yaml")],
        ["e2", "rest", join(dir, "sites/eu/e2.yaml")],
        ["u1", "rest", join(dir, "sites/us/u1.yaml")],
      ],
    );
    assert.equal(fleet.members[0]?.cluster.hosts.length, 2);
    assert.deepEqual(
      fleetGroups(fleet).map((g) => [g.name, g.members.map((m) => m.name)]),
      [
        ["canary", []],
        ["rest", ["c1", "e1", "e2", "u1"]],
      ],
    );
  });
  const canaryFirst = `name: edge
state: postgres://ferry@127.0.0.1/ferry
clusters:
  - { path: "sites/canary/c1.yaml", group: canary }
  - { path: "sites/**/*.yaml", group: rest }
strategy: { groups: [canary, rest] }
`;
  withFleet(SITES, canaryFirst, (_dir, file) => {
    const fleet = loadFleet(file);
    assert.deepEqual(fleet.strategy.maxFailures, { count: 1 });
    assert.equal(fleet.strategy.soakMs, 0);
    assert.deepEqual(
      fleetGroups(fleet).map((g) => [g.name, g.members.map((m) => m.name)]),
      [
        ["canary", ["c1"]],
        ["rest", ["e1", "e2", "u1"]],
      ],
    );
  });
});

test("a cluster file that does not validate is refused with its own file:line:field, and the rest go on", () => {
  const sites: FleetSite[] = [
    ...SITES,
    {
      file: "sites/eu/broken.yaml",
      text: "name: broken\ncatalog: releases.yaml\nhosts: []\ncomponents: []\nbogus: 1\n",
    },
  ];
  const yaml = `name: edge
state: fleet.db
clusters:
  - { path: "sites/**/*.yaml", group: all }
strategy: { groups: [all] }
`;
  withFleet(sites, yaml, (dir, file) => {
    const fleet = loadFleet(file);
    assert.deepEqual(
      fleet.members.map((m) => m.name),
      ["c1", "e1", "e2", "u1"],
    );
    assert.equal(fleet.refused.length, 1);
    const [refusal] = fleet.refused;
    assert.equal(refusal?.file, join(dir, "sites/eu/broken.yaml"));
    assert.equal(refusal?.name, "broken");
    assert.equal(refusal?.group, "all");
    assert.match(refusal?.reason ?? "", /broken\.yaml:5:\d+: bogus: unknown field/);
    assert.deepEqual(fleetGroups(fleet)[0]?.refused, [refusal]);
  });
});

test("bad fleet files: exit 2 naming the fleet file's line and field", () => {
  const cases: [string, string, RegExp][] = [
    [
      "a glob matching nothing",
      `name: edge\nstate: s.db\nclusters:\n  - { path: "sites/**/*.yaml", group: a }\n  - { path: "nowhere/*.yaml", group: a }\nstrategy: { groups: [a] }\n`,
      /fleet\.yaml:5:\d+: clusters\[1\]\.path: matches no file/,
    ],
    [
      "a plain path naming no file",
      `name: edge\nstate: s.db\nclusters:\n  - { path: sites/eu/nope.yaml, group: a }\nstrategy: { groups: [a] }\n`,
      /fleet\.yaml:4:\d+: clusters\[0\]\.path: no such file: .*sites\/eu\/nope\.yaml/,
    ],
    [
      "a folder",
      `name: edge\nstate: s.db\nclusters:\n  - { path: sites/eu, group: a }\nstrategy: { groups: [a] }\n`,
      /clusters\[0\]\.path: sites\/eu is a folder; name its files, e\.g\. sites\/eu\/\*\.yaml/,
    ],
    [
      "a group used but not in strategy.groups",
      `name: edge\nstate: s.db\nclusters:\n  - { path: "sites/**/*.yaml", group: rest }\nstrategy: { groups: [canary] }\n`,
      /fleet\.yaml:4:\d+: clusters\[0\]\.group: no group rest in strategy\.groups \(canary\)[\s\S]*fleet\.yaml:5:\d+: strategy\.groups\[0\]: no entry of clusters is in group canary/,
    ],
    [
      "a group listed twice",
      `name: edge\nstate: s.db\nclusters:\n  - { path: "sites/**/*.yaml", group: a }\nstrategy:\n  groups: [a, a]\n`,
      /fleet\.yaml:6:\d+: strategy\.groups\[1\]: group a is listed twice/,
    ],
    [
      "maxFailures neither a count nor a percentage",
      `name: edge\nstate: s.db\nclusters:\n  - { path: "sites/**/*.yaml", group: a }\nstrategy:\n  groups: [a]\n  maxFailures: "150%"\n`,
      /fleet\.yaml:7:\d+: strategy\.maxFailures: a percentage is more than 0% and at most 100%/,
    ],
    [
      "a bad soak and a missing state",
      `name: edge\nclusters:\n  - { path: "sites/**/*.yaml", group: a }\nstrategy:\n  groups: [a]\n  soak: soon\n`,
      /state: missing; it is required[\s\S]*fleet\.yaml:6:\d+: strategy\.soak: a duration is like 500ms/,
    ],
    [
      "an unknown field",
      `name: edge\nstate: s.db\nclusters:\n  - { path: "sites/**/*.yaml", group: a, wieght: 2 }\nstrategy: { groups: [a] }\n`,
      /fleet\.yaml:4:\d+: clusters\[0\]\.wieght: unknown field/,
    ],
  ];
  for (const [what, yaml, expected] of cases) {
    withFleet(SITES, yaml, (_dir, file) => {
      assert.match(problemOf(file), expected, what);
    });
  }
});

test("two cluster files of one name: exit 2 naming both files", () => {
  const sites: FleetSite[] = [
    { file: "sites/a.yaml", name: "store-7" },
    { file: "sites/b.yaml", name: "store-7" },
  ];
  const yaml = `name: edge\nstate: s.db\nclusters:\n  - { path: "sites/*.yaml", group: a }\nstrategy: { groups: [a] }\n`;
  withFleet(sites, yaml, (dir, file) => {
    const message = problemOf(file);
    assert.match(
      message,
      /sites\/b\.yaml:1:\d+: name: cluster store-7 is also the name of \S*sites\/a\.yaml/,
    );
    assert.ok(message.includes(join(dir, "sites/b.yaml")) || message.includes("sites/b.yaml"));
  });
});

test("failureLimit: a count as is; a percentage of the fleet rounded up, at least 1", () => {
  const rows: [Parameters<typeof failureLimit>[0], number, number][] = [
    [{ count: 3 }, 100, 3],
    [{ percent: 5 }, 40, 2],
    [{ percent: 5 }, 41, 3],
    [{ percent: 7 }, 100, 7],
    [{ percent: 1 }, 10, 1],
    [{ percent: 100 }, 12, 12],
    [{ percent: 50 }, 0, 1],
  ];
  for (const [max, clusters, limit] of rows)
    assert.equal(failureLimit(max, clusters), limit, JSON.stringify(max));
});
