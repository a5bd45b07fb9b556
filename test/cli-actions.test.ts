/**
 * The operator's own steps and the point of no return where the cluster file puts it, through the
 * real executable on the fake product (DESIGN.md "Your own steps"): `plan` shows them; `apply`
 * runs each action at its point or phase on the host it names, by `when`; a rollback undoes them,
 * or stops at one it cannot undo; a resumed run asks an action found running its `check`; the
 * point of no return decides between rolling back and stopping. What happened is read from the
 * log the hosts write (every product command and every action appends a line to it).
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { type Plan, planSteps } from "../src/index.js";
import { allAt, type FakeProduct, until, withProduct } from "./support/fake-product.js";
import { noPseudoTerminal, onTerminal, withoutEscapes } from "./support/pseudo-terminal.js";
import { ferryAsync, startFerry } from "./support/run-ferry-async.js";
import { serveCluster } from "./support/serve.js";

/** A command that logs `WHO what` as the product's own commands do ({{host}} {{component}} command). */
const logs = (what: string, who = "{{host}} {{component}}") => `echo "${who} ${what}" >> {{vars.root}}/log`;
/** A cluster action's own line in the log: where it ran (FERRY_HOST; "here" on this machine). */
const logsWhere = (what: string) => `echo "\${FERRY_HOST:-here} ${what}" >> {{vars.root}}/log`;

/** The log's lines that match `pattern`. */
const logged = (p: FakeProduct, pattern: RegExp) => p.log().filter((l) => pattern.test(l));

/** h2's new release never starts (the fake product's start, failing there): a failure late in the roll. */
const START_FAILS_ON_H2 = `test "{{host}}-$(cat {{vars.root}}/{{host}}/{{component}}/current/VERSION)" != h2-1.0.1 && cat {{vars.root}}/{{host}}/{{component}}/current/VERSION > {{vars.root}}/{{host}}/{{component}}/running`;
/** The same, failing only the first time (a marker file remembers). */
const START_FAILS_ON_H2_ONCE = `if [ {{host}} = h2 ] && [ ! -f {{vars.root}}/failed-once ] && [ "$(cat {{vars.root}}/{{host}}/{{component}}/current/VERSION)" = 1.0.1 ]; then touch {{vars.root}}/failed-once; exit 1; fi; cat {{vars.root}}/{{host}}/{{component}}/current/VERSION > {{vars.root}}/{{host}}/{{component}}/running`;

/** The parts of `GET /api/runs/:id` read here. */
interface RunDetail {
  readonly hops: readonly {
    readonly phases: readonly { readonly name: string; readonly steps: readonly string[] }[];
  }[];
  readonly steps: readonly { id: string; state: string; host: string | null; component: string | null }[];
}

const history = async (c: string[]) => JSON.parse((await ferryAsync(["history", ...c, "--json"])).stdout);

describe("ferry plan shows actions and the point of no return", () => {
  it("lists action steps with their path ids, renders {{kind}} and {{direction}}, and puts the point of no return before the action it names", async () => {
    const extra = `actions:
  - { name: schema, at: expand, on: { component: api, host: last }, run: "migrate {{kind}} {{direction}} {{version}}", check: "migrated" }
  - { name: cfgdowngrade, at: expand, run: "cfgupgrade --downgrade", when: downgrade }
pointOfNoReturn: { before: { action: schema } }`;
    const componentExtra = `    actions:
      - { name: reload, at: after-unpin, run: "kill -HUP 1" }
      - { name: dirs, at: after-activate, run: "ensure-dirs {{direction}}", undo: "true" }`;
    await withProduct({ hosts: 2, extra, componentExtra }, async (_p, c) => {
      const text = await ferryAsync(["plan", ...c, "--from", "1.0.0", "--to", "1.0.1"]);
      assert.equal(text.code, 0, text.stderr);
      const lines = text.stdout.split("\n");
      const at = (pattern: RegExp) => lines.findIndex((l) => pattern.test(l));
      assert.ok(
        at(/^ {4}1\.0\.1\/expand\/action\/schema on h2 {2}\$ migrate patch upgrade 1\.0\.1$/) > 0,
        text.stdout,
      );
      assert.equal(
        at(/^ {4}1\.0\.1\/point-of-no-return {2}\(from here on, ferry never undoes this hop by itself\)$/),
        at(/action\/schema/) - 1,
        "just before the action",
      );
      assert.match(text.stdout, /^ {6}h1: stop → install → activate → action\/dirs → start → health$/m);
      assert.match(
        text.stdout,
        /^ {2}activate\n {4}api: 2 hosts, at most 1 at once\n {6}h1: action\/reload\n {6}h2: action\/reload$/m,
      );
      assert.doesNotMatch(text.stdout, /cfgdowngrade/, "a downgrade's action is not planned in an upgrade");
      assert.doesNotMatch(text.stdout, /^ {2}point-of-no-return$/m, "no default phase");

      const json = await ferryAsync(["plan", ...c, "--from", "1.0.0", "--to", "1.0.1", "--json"]);
      const plan: unknown = JSON.parse(json.stdout);
      const steps = [...planSteps(plan as Plan)].map(({ step }) => step);
      const ids = steps.map((s: { id: string }) => s.id);
      assert.deepEqual(
        ids.filter((id: string) => id.includes("action") || id.includes("point-of-no-return")),
        [
          "1.0.1/point-of-no-return",
          "1.0.1/expand/action/schema",
          "1.0.1/roll/api/h1/action/dirs",
          "1.0.1/roll/api/h2/action/dirs",
          "1.0.1/activate/api/h1/action/reload",
          "1.0.1/activate/api/h2/action/reload",
        ],
      );
      const schema = steps.find((s) => s.id === "1.0.1/expand/action/schema");
      assert.deepEqual(
        { host: schema?.host, run: schema?.run, check: schema?.check, undo: schema?.undo },
        {
          host: "h2",
          run: [{ type: "exec", command: "migrate patch upgrade 1.0.1" }],
          check: { type: "exec", command: "migrated" },
          undo: [{ type: "irreversible", action: "schema", check: "migrated" }],
        },
      );
    });
  });

  it("refuses an action on a component that does not exist (exit 2), naming file, line and field", async () => {
    const extra =
      "actions:\n  - { name: schema, at: expand, on: { component: manager, host: active }, run: x }";
    await withProduct({ extra }, async (p, c) => {
      const r = await ferryAsync(["plan", ...c, "--from", "1.0.0", "--to", "1.0.1"]);
      assert.equal(r.code, 2);
      const line =
        readFileSync(p.clusterFile, "utf8")
          .split("\n")
          .findIndex((l) => l.includes("manager")) + 1;
      assert.match(
        r.stderr,
        new RegExp(
          `cluster\\.yaml:${line}:\\d+: actions\\[0\\]\\.on\\.component: no component named manager`,
        ),
      );
    });
  });
});

describe("ferry check", () => {
  it("runs the preflight's own checks but not its actions, nor a point of no return placed before one", async () => {
    const extra = `preflight: [{ name: alarms, run: '${logsWhere("check:alarms")}' }]
actions: [{ name: announce, at: preflight, run: '${logsWhere("action:announce")}', undo: "true" }]
pointOfNoReturn: { before: { action: announce } }`;
    await withProduct({ hosts: 2, extra }, async (p, c) => {
      const r = await ferryAsync(["check", ...c, "--to", "1.0.1"]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.deepEqual(p.log(), ["here check:alarms"]);
    });
  });
});

describe("ferry apply runs actions", () => {
  it("runs a component's actions on each host at their points of its roll, in order", async () => {
    const points = [
      "before-drain",
      "after-stop",
      "after-install",
      "after-activate",
      "after-start",
      "after-healthy",
      "after-unpin",
    ];
    const componentExtra = `    actions:\n${points.map((at) => `      - { name: ${at}, at: ${at}, run: '${logs(`action:${at}`)}', undo: "true" }`).join("\n")}`;
    await withProduct({ hosts: 2, componentExtra }, async (p, c) => {
      const r = await ferryAsync(["apply", ...c, "--to", "1.0.1", "--yes"]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const roll = (h: string) => [
        `${h} api action:before-drain`,
        `${h} api stop`,
        `${h} api action:after-stop`,
        `${h} api install`,
        `${h} api action:after-install`,
        `${h} api activate`,
        `${h} api action:after-activate`,
        `${h} api start`,
        `${h} api action:after-start`,
        `${h} api action:after-healthy`,
      ];
      assert.deepEqual(p.log(), [
        ...roll("h1"),
        ...roll("h2"),
        "h1 api action:after-unpin",
        "h2 api action:after-unpin",
      ]);
      assert.ok(allAt(p, "1.0.1"));
    });
  });

  it("runs a cluster action on the host it names: active, first, last, all, a name, or this machine", async () => {
    const on = (name: string, at: string, host: string) =>
      `  - { name: ${name}, at: ${at}, on: { component: api, host: ${host} }, run: '${logsWhere(`${name}@{{host}}`)}', undo: "true" }`;
    const extra = [
      "actions:",
      on("active", "expand", "active"),
      on("first", "pin", "first"),
      on("last", "pin", "last"),
      on("named", "pin", "h2"),
      on("all", "roll", "all"),
      on("active-after", "verify", "active"),
      `  - { name: here, at: preflight, run: '${logsWhere("here@{{version}}")}', undo: "true" }`,
    ].join("\n");
    // h1 is active: the standby h2 rolls first, takes over, then h1 rolls; `all` goes in that order too.
    const componentExtra = [
      "    mode: active-passive",
      `    role: 'test "$(cat {{vars.root}}/active)" = {{host}} && echo active || echo standby'`,
      "    switchover: 'echo {{host}} > {{vars.root}}/active'",
    ].join("\n");
    await withProduct({ hosts: 2, extra, componentExtra }, async (p, c) => {
      writeFileSync(join(p.dir, "hosts/active"), "h1\n");
      const r = await ferryAsync(["apply", ...c, "--to", "1.0.1", "--yes"]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.deepEqual(logged(p, /@/), [
        "here here@1.0.1",
        "h1 active@h1",
        "h2 first@h2",
        "h1 last@h1",
        "h2 named@h2",
        "h2 all@h2",
        "h1 all@h1",
        "h2 active-after@h2",
      ]);
      assert.ok(allAt(p, "1.0.1"));
      assert.equal(readFileSync(join(p.dir, "hosts/active"), "utf8").trim(), "h2");
    });
  });

  it("runs a `when: downgrade` action only in a downgrade hop, with {{kind}}, {{direction}} and their FERRY_* values", async () => {
    const catalog = {
      text: 'product: fake\nscheme: semver\npolicy: { downgrade: previous-series }\nreleases: ["1.0.0", "1.1.0"]\n',
    };
    const extra = `actions:
  - { name: up, at: install, run: '${logsWhere("up {{kind}} {{direction}} $FERRY_KIND $FERRY_DIRECTION")}' }
  - { name: down, at: install, run: '${logsWhere("down {{kind}} {{direction}}")}', when: downgrade, undo: "true" }
  - { name: both, at: verify, run: '${logsWhere("both {{direction}}")}', when: always }`;
    await withProduct({ hosts: 2, releases: ["1.0.0", "1.1.0"], catalog, extra }, async (p, c) => {
      const up = await ferryAsync(["apply", ...c, "--to", "1.1.0", "--yes"]);
      assert.equal(up.code, 0, up.stdout + up.stderr);
      assert.deepEqual(logged(p, /^here /), ["here up series upgrade series upgrade", "here both upgrade"]);
      rmSync(join(p.dir, "hosts/log"));
      const down = await ferryAsync(["apply", ...c, "--to", "1.0.0", "--yes"]);
      assert.equal(down.code, 0, down.stdout + down.stderr);
      assert.deepEqual(logged(p, /^here /), ["here down downgrade downgrade", "here both downgrade"]);
      assert.ok(allAt(p, "1.0.0"));
    });
  });
});

describe("actions in a rollback", () => {
  it("a failure after an action with undo rolls back and runs the undo, with the way back's values, in reverse order", async () => {
    const componentExtra = `    actions:
      - { name: dirs, at: after-activate, run: '${logs("action:dirs {{version}}")}', undo: '${logs("undo:dirs {{version}} {{direction}}")}' }`;
    await withProduct({ hosts: 2, componentExtra, commands: { start: START_FAILS_ON_H2 } }, async (p, c) => {
      const r = await ferryAsync(["apply", ...c, "--to", "1.0.1", "--yes"]);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stdout, /1\.0\.1\/roll\/api\/h2\/start failed.*Rolled back: fake is back at 1\.0\.0/);
      assert.deepEqual(logged(p, /dirs/), [
        "h1 api action:dirs 1.0.1",
        "h2 api action:dirs 1.0.1",
        "h2 api undo:dirs 1.0.0 downgrade",
        "h1 api undo:dirs 1.0.0 downgrade",
      ]);
      assert.ok(allAt(p, "1.0.0"));
    });
  });

  it("a rollback that reaches an action without undo stops there and names it (exit 1); resume carries the hop forward", async () => {
    const extra = `actions:\n  - { name: schema, at: expand, run: '${logsWhere("action:schema")}' }`;
    await withProduct({ hosts: 2, extra, commands: { start: START_FAILS_ON_H2_ONCE } }, async (p, c) => {
      const r = await ferryAsync(["apply", ...c, "--to", "1.0.1", "--yes"]);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(
        r.stdout,
        /1\.0\.1\/roll\/api\/h2\/start failed.*Rolling back hop 1\.0\.0 → 1\.0\.1 stopped at 1\.0\.1\/expand\/action\/schema, which cannot be undone: action schema has no undo .*`ferry resume` carries the hop forward/,
      );
      const [run] = await history(c);
      assert.equal(run.status, "stopped");
      assert.match(run.error, /action schema has no undo/);
      // Every step after the action is undone: the hosts are back where they were.
      assert.ok(allAt(p, "1.0.0"), JSON.stringify(p.state()));
      const back = await ferryAsync(["rollback", ...c, "--yes"]);
      assert.equal(back.code, 1, "an explicit rollback stops at the same action");
      assert.match(back.stdout, /stopped at 1\.0\.1\/expand\/action\/schema/);

      const resumed = await ferryAsync(["resume", ...c, "--yes"]);
      assert.equal(resumed.code, 0, resumed.stdout + resumed.stderr);
      assert.ok(allAt(p, "1.0.1"));
      assert.deepEqual(logged(p, /schema/), ["here action:schema"], "the action ran once: it was done");
    });
  });

  it("an action without undo whose check says its effect is gone does not stop the rollback", async () => {
    const effect = "{{vars.root}}/schema-applied";
    const extra = `actions:\n  - { name: schema, at: expand, run: "touch ${effect}", check: "test -f ${effect}" }`;
    await withProduct({ hosts: 2, extra, commands: { start: START_FAILS_ON_H2 } }, async (p, c) => {
      const r = await ferryAsync(["apply", ...c, "--to", "1.0.1", "--yes"]);
      assert.equal(r.code, 1);
      assert.match(
        r.stdout,
        /action schema has no undo, and its check `test -f .*schema-applied` says its effect is there/,
      );
      // The operator undoes it by hand; the check now says so, and the rollback goes past it.
      rmSync(join(p.dir, "hosts/schema-applied"));
      const back = await ferryAsync(["rollback", ...c, "--yes"]);
      assert.equal(back.code, 0, back.stdout + back.stderr);
      assert.match(back.stdout, /Rolled back: fake is back at 1\.0\.0/);
      assert.equal((await history(c))[0].status, "rolled-back");
    });
  });
});

describe("resuming an action", () => {
  for (const [there, runs] of [
    [true, 1],
    [false, 2],
  ] as const) {
    it(`kill -9 while an action runs, then resume: its check ${there ? "passes, so it is not run again" : "fails, so it runs again"}`, async () => {
      const root = "{{vars.root}}";
      // The first run records its pid and then hangs, as a long migration would, until ferry dies.
      const run = `echo ran >> ${root}/runs; if [ ! -f ${root}/hung ]; then echo $$ > ${root}/action.pid; touch ${root}/hung; exec sleep 30; fi`;
      const extra = `actions:\n  - { name: schema, at: expand, on: { component: api, host: h2 }, run: '${run}', check: "test -f ${root}/effect", undo: "true" }`;
      await withProduct({ hosts: 2, extra }, async (p, c) => {
        const hosts = join(p.dir, "hosts");
        const first = startFerry(["apply", ...c, "--to", "1.0.1", "--yes"]);
        try {
          await until(join(hosts, "hung"));
          process.kill(first.pid, "SIGKILL");
          assert.equal((await first.done).signal, "SIGKILL");
          if (there) writeFileSync(join(hosts, "effect"), "");
          const resumed = await ferryAsync(["resume", ...c, "--yes"]);
          assert.equal(resumed.code, 0, resumed.stdout + resumed.stderr);
          assert.equal(readFileSync(join(hosts, "runs"), "utf8").trim().split("\n").length, runs);
          assert.ok(allAt(p, "1.0.1"));
        } finally {
          const pid = join(hosts, "action.pid");
          if (existsSync(pid)) {
            try {
              process.kill(Number(readFileSync(pid, "utf8")), "SIGKILL");
            } catch {
              // already gone
            }
          }
        }
      });
    });
  }
});

describe("the point of no return where the cluster file puts it", () => {
  it("SIGTERM before it rolls back, even where the default point of no return would already be past", async () => {
    const extra = `unpin: 'touch {{vars.root}}/unpinning; sleep 1'
actions: [{ name: announce, at: verify, run: "true", undo: "true" }]
pointOfNoReturn: { before: { action: announce } }`;
    await withProduct({ hosts: 2, extra }, async (p, c) => {
      const run = startFerry(["apply", ...c, "--to", "1.0.1", "--yes"]);
      await until(join(p.dir, "hosts/unpinning"));
      process.kill(run.pid, "SIGTERM");
      const r = await run.done;
      assert.equal(r.code, 130, r.stdout + r.stderr);
      assert.match(r.stdout, /Rolled back: fake is back at 1\.0\.0/);
      assert.ok(allAt(p, "1.0.0"));
      assert.equal((await history(c))[0].status, "rolled-back");
    });
  });

  it("a failure after it (before the last host of a component) stops without undoing; rollback is refused", async () => {
    const extra = "pointOfNoReturn: { before: { component: api, host: last } }";
    await withProduct({ hosts: 2, extra, commands: { start: START_FAILS_ON_H2 } }, async (p, c) => {
      const r = await ferryAsync(["apply", ...c, "--to", "1.0.1", "--yes"]);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(
        r.stdout,
        /1\.0\.1\/roll\/api\/h2\/start failed.*past its point of no return.*`ferry resume`/,
      );
      const state = p.state();
      assert.deepEqual(state.h1?.api, { active: "1.0.1", running: "1.0.1" }, "h1's roll is not undone");
      assert.equal(state.h2?.api?.active, "1.0.1");
      assert.equal(logged(p, /h1 api (stop|start)/).length, 2, "h1 was not stopped again");
      assert.equal((await history(c))[0].status, "stopped");
      const back = await ferryAsync(["rollback", ...c, "--yes"]);
      assert.equal(back.code, 3);
      assert.match(back.stderr, /passed its point of no return/);
    });
  });
});

describe("actions as the run is watched", () => {
  it("the terminal tree shows a running action with its output, and a roll cut by the point of no return as one count per component", {
    skip: noPseudoTerminal,
  }, async () => {
    const wait = `if [ {{host}} = h1 ]; then echo reloading; while [ ! -f {{vars.root}}/go ]; do sleep 0.05; done; fi`;
    const componentExtra = `    actions:\n      - { name: warm, at: after-start, run: '${wait}', undo: "true" }`;
    const extra = "pointOfNoReturn: { before: { component: api, host: last } }";
    await withProduct({ hosts: 2, componentExtra, extra }, async (p, c) => {
      const term = onTerminal(["apply", ...c, "--to", "1.0.1", "--yes"]);
      await term.waitFor(/› reloading/);
      writeFileSync(join(p.dir, "hosts/go"), "");
      const { code, screen } = await term.done;
      assert.equal(code, 0, screen);
      const plain = withoutEscapes(screen);
      assert.match(plain, /1\.0\.1\/roll\/api\/h1\/action\/warm {2}\d+\.\ds {2}› reloading/);
      assert.match(plain, /roll {2}api 0\/2 hosts {2}\d+\/\d+ steps/);
      assert.doesNotMatch(plain, /api \d\/1 hosts/);
    });
  });

  it("the API's run shows action steps, where they ran, and the point of no return inside the roll", async () => {
    const componentExtra = `    actions:\n      - { name: warm, at: after-start, run: "true", undo: "true" }`;
    const extra = `pointOfNoReturn: { before: { component: api, host: last } }
actions: [{ name: note, at: verify, on: { component: api, host: all }, run: "true" }]`;
    await withProduct({ hosts: 2, componentExtra, extra }, async (_p, c) => {
      const r = await ferryAsync(["apply", ...c, "--to", "1.0.1", "--yes"]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const [run] = await history(c);
      const served = await serveCluster(c);
      try {
        const detail = (await (await fetch(new URL(`api/runs/${run.id}`, served.url))).json()) as RunDetail;
        const roll = detail.hops[0]?.phases.find((ph) => ph.name === "roll");
        assert.deepEqual(
          roll?.steps.filter((id) => /action|point-of-no-return/.test(id)),
          ["1.0.1/roll/api/h1/action/warm", "1.0.1/point-of-no-return", "1.0.1/roll/api/h2/action/warm"],
        );
        const note = detail.steps.find((s) => s.id === "1.0.1/verify/action/note/h2");
        assert.deepEqual([note?.state, note?.host, note?.component], ["done", "h2", "api"]);
      } finally {
        await served.stop();
      }
    });
  });
});
