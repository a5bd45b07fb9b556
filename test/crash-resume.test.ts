/**
 * kill -9 at every journal transition, then `ferry resume --yes`: the run must reach the same end
 * as an uninterrupted one (DESIGN.md "Crash safety"). The kill is injected at a named point
 * (FERRY_FAULT=journal#N: right after the N-th durable journal write), never by sleeping; N goes
 * up until a run no longer reaches it, so every transition of the plan is covered.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import { type FakeProductOptions, makeFakeProduct } from "./support/fake-product.js";
import { ferryAsync } from "./support/run-ferry-async.js";

interface Scenario {
  readonly name: string;
  readonly product: FakeProductOptions;
  readonly to: string;
  /** The end state every member must reach: its active and running version. */
  readonly end: { active: string; running: string | null };
  readonly status: "done" | "rolled-back";
}

const SCENARIOS: Scenario[] = [
  {
    name: "a rolling hop",
    product: { hosts: 2, releases: ["1.0.0", "1.0.1"] },
    to: "1.0.1",
    end: { active: "1.0.1", running: "1.0.1" },
    status: "done",
  },
  {
    name: "an offline hop",
    product: {
      hosts: 2,
      releases: ["1.0.1", "1.1.0"],
      start: "1.0.1",
      extra: "queue: { drain: 'true', undrain: 'true' }",
    },
    to: "1.1.0",
    end: { active: "1.1.0", running: "1.1.0" },
    status: "done",
  },
  {
    // The second host's new release never starts: the run rolls back, and a crash during the
    // rollback must still end rolled back.
    name: "a rolling hop that fails and rolls back",
    product: {
      hosts: 2,
      releases: ["1.0.0", "1.0.1"],
      commands: {
        start: `test "{{host}}-$(cat {{vars.root}}/{{host}}/{{component}}/current/VERSION)" != h2-1.0.1 && cat {{vars.root}}/{{host}}/{{component}}/current/VERSION > {{vars.root}}/{{host}}/{{component}}/running`,
      },
    },
    to: "1.0.1",
    end: { active: "1.0.0", running: "1.0.0" },
    status: "rolled-back",
  },
  {
    // The operator's own steps (a host action and a cluster action, each with check and undo) and a
    // point of no return placed after them: crashed while one runs or is undone, the same end.
    name: "a rolling hop with actions that fails and rolls back",
    product: {
      hosts: 2,
      releases: ["1.0.0", "1.0.1"],
      componentExtra:
        '    actions: [{ name: dirs, at: after-activate, run: "mkdir -p {{vars.root}}/{{host}}/dirs", check: "test -d {{vars.root}}/{{host}}/dirs", undo: "rm -rf {{vars.root}}/{{host}}/dirs" }]',
      extra: [
        "actions:",
        '  - { name: schema, at: expand, on: { component: api, host: last }, run: "touch {{vars.root}}/schema", check: "test -f {{vars.root}}/schema", undo: "rm -f {{vars.root}}/schema" }',
        '  - { name: announce, at: verify, run: "true", undo: "true" }',
        "pointOfNoReturn: { before: { action: announce } }",
      ].join("\n"),
      commands: {
        start: `test "{{host}}-$(cat {{vars.root}}/{{host}}/{{component}}/current/VERSION)" != h2-1.0.1 && cat {{vars.root}}/{{host}}/{{component}}/current/VERSION > {{vars.root}}/{{host}}/{{component}}/running`,
      },
    },
    to: "1.0.1",
    end: { active: "1.0.0", running: "1.0.0" },
    status: "rolled-back",
  },
];

async function crashAndResume(scenario: Scenario, k: number): Promise<"crashed" | "ran-to-end"> {
  const product = makeFakeProduct(scenario.product);
  try {
    const cluster = ["-c", product.clusterFile];
    const first = await ferryAsync(["apply", ...cluster, "--to", scenario.to, "--yes"], {
      FERRY_FAULT: `journal#${k}`,
    });
    const crashed = first.signal === "SIGKILL";
    if (crashed) {
      const resumed = await ferryAsync(["resume", ...cluster, "--yes"]);
      // A crash after the run's last write leaves nothing to resume: that is the same end too.
      if (resumed.code === 3) assert.match(resumed.stderr, /no unfinished run/, `crash at journal#${k}`);
      else {
        // Resuming a rollback ends as asked (0); resuming forward into the failure rolls back (1).
        const allowed = scenario.status === "done" ? [0] : [0, 1];
        assert.ok(
          allowed.includes(resumed.code ?? -1),
          `resume after journal#${k}: ${resumed.stderr}${resumed.stdout}`,
        );
      }
    } else {
      assert.equal(first.code, scenario.status === "done" ? 0 : 1, first.stderr);
    }
    for (const [host, components] of Object.entries(product.state())) {
      assert.deepEqual(components.api, scenario.end, `${host} after a crash at journal#${k}`);
    }
    const [run] = JSON.parse((await ferryAsync(["history", ...cluster, "--json"])).stdout);
    assert.equal(run.status, scenario.status, `run after a crash at journal#${k}`);
    return crashed ? "crashed" : "ran-to-end";
  } finally {
    product.cleanup();
  }
}

for (const scenario of SCENARIOS) {
  it(`kill -9 at every journal transition of ${scenario.name}, then resume: the same end`, async () => {
    let covered = 0;
    // Two at a time; stop at the first N that a run does not reach.
    for (let k = 1; ; k += 2) {
      const results = await Promise.all([crashAndResume(scenario, k), crashAndResume(scenario, k + 1)]);
      const end = results.indexOf("ran-to-end");
      if (end >= 0) {
        covered = k + end - 1;
        break;
      }
      assert.ok(k < 400, "the journal writes never end");
    }
    assert.ok(covered >= 10, `only ${covered} transitions`);
    process.stdout.write(
      `# ${scenario.name}: crashed and resumed at each of ${covered} journal transitions\n`,
    );
  });
}
