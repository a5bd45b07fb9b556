/**
 * `ferry host undo HOST` through the real executable (DESIGN.md "Repairing one host"; StarlingX:
 * "temporarily downgrading the host, addressing the issues and then upgrading the host again"):
 * a stopped run's host goes back to the release it ran, undrained and healthy, its steps undone in
 * the journal; `ferry resume` upgrades it again. What happened to each host is read from the
 * product's own records: its log (every command and every drain appends a line), its `current`
 * symlink and its `running` file, and a `drained` file the drain leaves until the undrain.
 */
import assert from "node:assert/strict";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { openStateStore } from "../src/store/open-store.js";
import {
  allAt,
  type FakeProduct,
  type FakeProductOptions,
  gate,
  makeFakeProduct,
  reached,
  release,
  withProduct,
} from "./support/fake-product.js";
import { ferryAsync, startFerry } from "./support/run-ferry-async.js";
import { serveCluster } from "./support/serve.js";

const CURRENT = "{{vars.root}}/{{host}}/{{component}}/current/VERSION";
/**
 * h2's new release does not come up while `hosts/h2-broken` exists: its start exits 0 but nothing
 * runs, so its health gate fails. Removing the file is "addressing the issue".
 */
const START_BROKEN_ON_H2 = `if [ {{host}} = h2 ] && [ -f {{vars.root}}/h2-broken ] && [ "$(cat ${CURRENT})" = 1.0.1 ]; then exit 0; fi; cat ${CURRENT} > {{vars.root}}/{{host}}/{{component}}/running`;
/** h2's new release fails to start while `hosts/h2-broken` exists. */
const START_FAILS_ON_H2 = START_BROKEN_ON_H2.replace("then exit 0;", "then exit 1;");
/** The component's traffic drain: a line in the log and a `drained` file while the host is out. */
const DRAIN = `    drain: { exec: 'echo "{{host}} {{component}} drain" >> {{vars.root}}/log; touch {{vars.root}}/{{host}}/drained', undrain: 'echo "{{host}} {{component}} undrain" >> {{vars.root}}/log; rm -f {{vars.root}}/{{host}}/drained' }`;

/** Three hosts, the point of no return before h2 (StarlingX: before the second controller), h2 broken. */
const STOPS_ON_H2: FakeProductOptions = {
  hosts: 3,
  commands: { start: START_BROKEN_ON_H2 },
  componentExtra: DRAIN,
  extra: "pointOfNoReturn: { before: { component: api, host: h2 } }",
};

const breakH2 = (p: FakeProduct) => writeFileSync(join(p.dir, "hosts/h2-broken"), "");
const fixH2 = (p: FakeProduct) => rmSync(join(p.dir, "hosts/h2-broken"));
const drained = (p: FakeProduct, host: string) => existsSync(join(p.dir, "hosts", host, "drained"));
const json = async (args: string[]) => JSON.parse((await ferryAsync(args)).stdout);

/** `ferry apply` to 1.0.1, which stops past its point of no return on h2's health gate. */
async function applyStopsOnH2(p: FakeProduct, c: string[]): Promise<string> {
  breakH2(p);
  const r = await ferryAsync(["apply", ...c, "--to", "1.0.1", "--yes"]);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /1\.0\.1\/roll\/api\/h2\/(health|start) failed.*past its point of no return/);
  const [run] = await json(["history", ...c, "--json"]);
  assert.equal(run.status, "stopped");
  return run.id;
}

/** h2's own steps of the hop, in plan order. */
const H2_ROLL = ["drain", "stop", "install", "activate", "start", "health", "undrain"].map(
  (s) => `1.0.1/roll/api/h2/${s}`,
);

describe("ferry host undo", () => {
  it("takes a host that failed past the point of no return back to its release, undrained and healthy; resume upgrades it again", async () => {
    await withProduct(STOPS_ON_H2, async (p, c) => {
      const runId = await applyStopsOnH2(p, c);
      let state = p.state();
      assert.deepEqual(state.h2?.api, { active: "1.0.1", running: null }, "h2 is down on the new release");
      assert.ok(drained(p, "h2"));
      rmSync(join(p.dir, "hosts/log"));

      const undo = await ferryAsync(["host", "undo", "h2", ...c, "--yes"], { FERRY_USER: "alice" });
      assert.equal(undo.code, 0, undo.stdout + undo.stderr);
      assert.match(undo.stdout, /h2 is back on 1\.0\.0: its 6 step\(s\) of hop 1\.0\.0 → 1\.0\.1 are undone/);
      // In reverse: start's undo stops, activate's undo activates 1.0.0, stop's undo starts it, drain's undo undrains.
      assert.deepEqual(p.log(), ["h2 api stop", "h2 api activate", "h2 api start", "h2 api undrain"]);
      state = p.state();
      assert.deepEqual(state.h2?.api, { active: "1.0.0", running: "1.0.0" });
      assert.deepEqual(state.h1?.api, { active: "1.0.1", running: "1.0.1" }, "h1 stays upgraded");
      assert.deepEqual(state.h3?.api, { active: "1.0.0", running: "1.0.0" });
      assert.ok(!drained(p, "h2"), "h2 is back in traffic");

      const status = await json(["status", ...c, "--json"]);
      assert.equal(status.run.status, "stopped", "the run is still stopped, for resume");
      assert.equal(status.run.steps.undone, 6);
      assert.deepEqual(
        status.members.map((m: { host: string; version: string; healthy: boolean }) => [
          m.host,
          m.version,
          m.healthy,
        ]),
        [
          ["h1", "1.0.1", true],
          ["h2", "1.0.0", true],
          ["h3", "1.0.0", true],
        ],
      );
      assert.deepEqual(
        status.run.notes.map((n: { by: string; kind: string }) => [n.by, n.kind]),
        [["alice", "host-undo"]],
      );
      const text = (await ferryAsync(["status", ...c])).stdout;
      assert.match(text, /steps: 24 \(9 done, 6 undone, 9 pending\)/);
      assert.match(text, /^ {2}\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.?\d*Z alice: ferry host undo h2: /m);

      // The API (and so the dashboard) shows h2's steps undone and the note.
      const served = await serveCluster(c);
      try {
        const detail = (await (await fetch(new URL(`api/runs/${runId}`, served.url))).json()) as {
          run: { notes: { by: string }[] };
          steps: { id: string; state: string }[];
        };
        const states = new Map(detail.steps.map((s) => [s.id, s.state]));
        assert.deepEqual(
          H2_ROLL.map((id) => states.get(id)),
          ["undone", "undone", "undone", "undone", "undone", "undone", "pending"],
        );
        assert.equal(detail.run.notes[0]?.by, "alice");
      } finally {
        await served.stop();
      }

      fixH2(p);
      const resumed = await ferryAsync(["resume", ...c, "--yes"]);
      assert.equal(resumed.code, 0, resumed.stdout + resumed.stderr);
      assert.ok(allAt(p, "1.0.1"), JSON.stringify(p.state()));
      assert.ok(!drained(p, "h2") && !drained(p, "h3"));
      const [run] = await json(["history", ...c, "--json"]);
      assert.equal(run.status, "done");
      assert.equal(run.notes.length, 1);
      assert.match(run.notes[0].at, /^\d{4}-\d\d-\d\dT/);
      assert.deepEqual([run.notes[0].by, run.notes[0].kind], ["alice", "host-undo"]);
      assert.match(run.notes[0].text, /^ferry host undo h2: .*hop 1\.0\.0 → 1\.0\.1.*back to 1\.0\.0$/);
      const history = (await ferryAsync(["history", ...c])).stdout.split("\n");
      assert.match(history[2] ?? "", /^ {2}\S+ \S+ alice: ferry host undo h2: /, "the note under its run");
    });
  });

  it("takes back a host of a run paused before its point of no return (its roll done up to a step of its own); resume upgrades it again", async () => {
    const hold = `if [ {{host}} = h2 ]; then ${gate("holding")}; fi`;
    const componentExtra = `${DRAIN}\n    actions: [{ name: hold, at: after-healthy, run: '${hold}', undo: "true" }]`;
    await withProduct({ hosts: 3, componentExtra }, async (p, c) => {
      const applying = startFerry(["apply", ...c, "--to", "1.0.1", "--yes"]);
      await reached(p, "holding");
      const paused = await ferryAsync(["pause", ...c]);
      assert.equal(paused.code, 0, paused.stderr);
      await applying.waitFor(/pause requested by/);
      release(p, "holding");
      const applied = await applying.done;
      assert.equal(applied.code, 130, applying.output());
      assert.equal((await json(["history", ...c, "--json"]))[0].status, "paused");
      assert.deepEqual(p.state().h2?.api, { active: "1.0.1", running: "1.0.1" });
      assert.ok(drained(p, "h2"), "paused before h2's undrain");

      const undo = await ferryAsync(["host", "undo", "h2", ...c, "--yes"]);
      assert.equal(undo.code, 0, undo.stdout + undo.stderr);
      assert.match(undo.stdout, /run \S+ is paused as it was/);
      const state = p.state();
      assert.deepEqual(state.h2?.api, { active: "1.0.0", running: "1.0.0" });
      assert.deepEqual(state.h1?.api, { active: "1.0.1", running: "1.0.1" });
      assert.ok(!drained(p, "h2"));
      assert.equal((await json(["status", ...c, "--json"])).run.status, "paused");

      const resumed = await ferryAsync(["resume", ...c, "--yes"]);
      assert.equal(resumed.code, 0, resumed.stdout + resumed.stderr);
      assert.ok(allAt(p, "1.0.1"));
      assert.ok(!drained(p, "h2"));
    });
  });

  it("refuses, changing nothing: no stopped run (3), an unknown host (2), a host out of the plan (3) or of the hop (3), nothing to undo (3), a host beside one out of service (3), no --yes off a terminal (2)", async () => {
    await withProduct({ ...STOPS_ON_H2, hosts: 4, offline: ["h4"] }, async (p, c) => {
      // A host with no component: in the plan, touched by no hop.
      const text = readFileSync(p.clusterFile, "utf8");
      writeFileSync(
        p.clusterFile,
        text.replace("hosts:\n", "hosts:\n  - { name: spare, address: 127.0.0.9 }\n"),
      );
      const undo = (host: string, ...more: string[]) => ferryAsync(["host", "undo", host, ...c, ...more]);

      let r = await undo("h2", "--yes");
      assert.equal(r.code, 3, r.stderr);
      assert.match(r.stderr, /fake has no stopped run/);
      r = await undo("nosuch", "--yes");
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /cluster\.yaml: no host named nosuch \(its hosts: spare, h1, h2, h3, h4\)/);

      await applyStopsOnH2(p, c);
      const before = { state: p.state(), log: p.log(), h2Drained: drained(p, "h2") };
      const cases: [string, string[], number, RegExp][] = [
        ["nosuch", ["--yes"], 2, /no host named nosuch/],
        ["h4", ["--yes"], 3, /h4 is not in the plan of run \S+, which left it out as offline/],
        ["spare", ["--yes"], 3, /spare is not touched by hop 1\.0\.0 → 1\.0\.1 of run \S+/],
        ["h3", ["--yes"], 3, /nothing to undo: h3's steps of hop 1\.0\.0 → 1\.0\.1 are all pending/],
        [
          "h1",
          ["--yes"],
          3,
          /undoing h1 takes it out of service, and h2 is out of service already \(the run stopped with 1\.0\.1\/roll\/api\/h2\/health failed\); api allows at most 1 of its hosts out of service at once.*ferry host undo h2/,
        ],
        ["h2", [], 2, /Take h2 back to 1\.0\.0: undo its 6 step\(s\).*pass --yes/s],
      ];
      for (const [host, flags, code, message] of cases) {
        r = await undo(host, ...flags);
        assert.equal(r.code, code, `${host}: ${r.stdout}${r.stderr}`);
        assert.match(r.stderr, message);
      }
      assert.deepEqual({ state: p.state(), log: p.log(), h2Drained: drained(p, "h2") }, before);
      const [run] = await json(["history", ...c, "--json"]);
      assert.deepEqual([run.status, run.notes], ["stopped", []], "no refusal is noted");

      r = await undo("h2", "--yes");
      assert.equal(r.code, 0, r.stdout + r.stderr);
      r = await undo("h2", "--yes");
      assert.equal(r.code, 3);
      assert.match(r.stderr, /nothing to undo: h2's steps of hop 1\.0\.0 → 1\.0\.1 are undone already/);
    });
  });

  it("refuses a host whose steps hold an action without undo, naming it (3), and changes nothing", async () => {
    const componentExtra = `${DRAIN}\n    actions: [{ name: dirs, at: after-activate, run: "true" }]`;
    await withProduct({ ...STOPS_ON_H2, componentExtra }, async (p, c) => {
      await applyStopsOnH2(p, c);
      const before = p.state();
      const r = await ferryAsync(["host", "undo", "h2", ...c, "--yes"]);
      assert.equal(r.code, 3, r.stdout + r.stderr);
      assert.match(
        r.stderr,
        /h2 cannot be taken back to 1\.0\.0: 1\.0\.1\/roll\/api\/h2\/action\/dirs is an action without undo/,
      );
      assert.deepEqual(p.state(), before);
      assert.equal((await json(["status", ...c, "--json"])).run.steps.undone, undefined);
    });
  });

  it("an action without undo whose check says its effect is there is refused (3); once it is gone by hand, the host is undone", async () => {
    const dirs = "{{vars.root}}/{{host}}/dirs";
    const componentExtra = `${DRAIN}\n    actions: [{ name: dirs, at: after-activate, run: "mkdir -p ${dirs}", check: "test -d ${dirs}" }]`;
    await withProduct({ ...STOPS_ON_H2, componentExtra }, async (p, c) => {
      await applyStopsOnH2(p, c);
      const before = p.state();
      let r = await ferryAsync(["host", "undo", "h2", ...c, "--yes"]);
      assert.equal(r.code, 3, r.stdout + r.stderr);
      assert.match(
        r.stderr,
        /h2 cannot be taken back to 1\.0\.0: 1\.0\.1\/roll\/api\/h2\/action\/dirs cannot be undone: action dirs on h2 has no undo, and its check `test -d .*` says its effect is there/,
      );
      assert.deepEqual(p.state(), before);
      assert.deepEqual((await json(["history", ...c, "--json"]))[0].notes, [], "nothing journaled");

      rmSync(join(p.dir, "hosts/h2/dirs"), { recursive: true });
      r = await ferryAsync(["host", "undo", "h2", ...c, "--yes"]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.deepEqual(p.state().h2?.api, { active: "1.0.0", running: "1.0.0" });
    });
  });

  it("a signal during the undo lets the undo in flight finish and stops (130); host undo again finishes it", async () => {
    const undo = `if [ {{host}} = h2 ]; then ${gate("undoing-warm")}; fi`;
    const componentExtra = `${DRAIN}\n    actions: [{ name: warm, at: after-start, run: "true", undo: '${undo}' }]`;
    await withProduct({ ...STOPS_ON_H2, componentExtra }, async (p, c) => {
      await applyStopsOnH2(p, c);
      const undoing = startFerry(["host", "undo", "h2", ...c, "--yes"]);
      await reached(p, "undoing-warm");
      process.kill(undoing.pid, "SIGTERM");
      await undoing.waitFor(/interrupted: the undo in flight finishes/);
      release(p, "undoing-warm");
      const r = await undoing.done;
      assert.equal(r.code, 130, undoing.output());
      assert.match(r.stdout, /undone {3}1\.0\.1\/roll\/api\/h2\/action\/warm/, "the undo in flight finished");
      assert.match(
        r.stdout,
        /Stopped at a signal while undoing h2, with 5 of its steps still to undo and none in flight: `ferry host undo h2` finishes the undo/,
      );
      assert.deepEqual(p.state().h2?.api, { active: "1.0.1", running: null }, "no other undo started");
      assert.equal((await json(["status", ...c, "--json"])).run.status, "stopped");

      const again = await ferryAsync(["host", "undo", "h2", ...c, "--yes"]);
      assert.equal(again.code, 0, again.stdout + again.stderr);
      assert.deepEqual(p.state().h2?.api, { active: "1.0.0", running: "1.0.0" });
      assert.ok(!drained(p, "h2"));
      assert.equal((await json(["history", ...c, "--json"]))[0].notes.length, 2, "each host undo is noted");
    });
  });

  it("refuses a run that is running (another ferry holds its lock) or rolling back (3)", async () => {
    const hold = `if [ {{host}} = h1 ]; then ${gate("holding")}; fi`;
    const componentExtra = `    actions: [{ name: hold, at: after-start, run: '${hold}', undo: "true" }]`;
    await withProduct({ hosts: 2, componentExtra }, async (p, c) => {
      const applying = startFerry(["apply", ...c, "--to", "1.0.1", "--yes"]);
      await reached(p, "holding");
      const r = await ferryAsync(["host", "undo", "h1", ...c, "--yes"]);
      release(p, "holding");
      assert.equal(r.code, 3, r.stdout + r.stderr);
      assert.match(
        r.stderr,
        /run \S+ \(1\.0\.0 → 1\.0\.1\) is running: another ferry holds its lock \(run \S+, pid \d+/,
      );
      assert.equal((await applying.done).code, 0, applying.output());
    });
    // h2's new release never starts: the run rolls back, and is killed in the middle of it.
    const start = `test "{{host}}-$(cat ${CURRENT})" != h2-1.0.1 && cat ${CURRENT} > {{vars.root}}/{{host}}/{{component}}/running`;
    await withProduct({ hosts: 2, commands: { start } }, async (p, c) => {
      const killed = await ferryAsync(["apply", ...c, "--to", "1.0.1", "--yes"], {
        FERRY_FAULT: "1.0.1/roll/api/h2/activate:undone",
      });
      assert.equal(killed.signal, "SIGKILL");
      const r = await ferryAsync(["host", "undo", "h1", ...c, "--yes"]);
      assert.equal(r.code, 3, r.stdout + r.stderr);
      assert.match(
        r.stderr,
        /run \S+ \(1\.0\.0 → 1\.0\.1\) is rolling back \(rolling-back\).*`ferry resume` or `ferry rollback` finishes/,
      );
      assert.equal((await ferryAsync(["resume", ...c, "--yes"])).code, 0);
      assert.ok(allAt(p, "1.0.0"));
    });
  });
});

describe("ferry host undo after kill -9", () => {
  it("killed at every journal transition, then host undo again (odd) or resume (even): the same end", async () => {
    // Its start fails (not its health): from wherever the undo was cut, resume runs h2's start again.
    const p = makeFakeProduct({
      hosts: 2,
      commands: { start: START_FAILS_ON_H2 },
      componentExtra: DRAIN,
      extra: "pointOfNoReturn: { before: { component: api, host: last } }",
    });
    const snapshot = mkdtempSync(join(tmpdir(), "ferry-host-undo-"));
    const c = ["-c", p.clusterFile];
    try {
      await applyStopsOnH2(p, c);
      // Symlinks copied as they are (relative), not resolved into the snapshot.
      cpSync(p.dir, snapshot, { recursive: true, verbatimSymlinks: true });
      let k = 1;
      for (; k < 100; k++) {
        rmSync(p.dir, { recursive: true, force: true });
        cpSync(snapshot, p.dir, { recursive: true, verbatimSymlinks: true });
        const first = await ferryAsync(["host", "undo", "h2", ...c, "--yes"], {
          FERRY_FAULT: `journal#${k}`,
        });
        if (first.signal !== "SIGKILL") {
          assert.equal(first.code, 0, first.stdout + first.stderr);
          break;
        }
        const at = `after a kill at journal#${k}`;
        if (k % 2 === 1) {
          const again = await ferryAsync(["host", "undo", "h2", ...c, "--yes"]);
          // Killed after its last write: every step is undone, and there is nothing left to do.
          if (again.code === 3) assert.match(again.stderr, /are undone already/, at);
          else assert.equal(again.code, 0, `${at}: ${again.stdout}${again.stderr}`);
          assert.deepEqual(p.state().h2?.api, { active: "1.0.0", running: "1.0.0" }, at);
          assert.deepEqual(p.state().h1?.api, { active: "1.0.1", running: "1.0.1" }, at);
          assert.ok(!drained(p, "h2"), at);
          const store = await openStateStore("state/ferry.db", p.dir);
          try {
            const steps = await store.steps((await store.listRuns("fake"))[0]?.id ?? "");
            const h2 = new Map(steps.map((s) => [s.id, s.state]));
            assert.deepEqual(
              H2_ROLL.map((id) => h2.get(id)),
              ["undone", "undone", "undone", "undone", "undone", "pending", "pending"],
              at,
            );
          } finally {
            await store.close();
          }
        } else {
          fixH2(p);
          const resumed = await ferryAsync(["resume", ...c, "--yes"]);
          assert.equal(resumed.code, 0, `${at}: ${resumed.stdout}${resumed.stderr}`);
          assert.ok(allAt(p, "1.0.1"), `${at}: ${JSON.stringify(p.state())}`);
          assert.ok(!drained(p, "h2"), at);
        }
      }
      // A note, then two writes for each of h2's five steps.
      assert.ok(k >= 12, `only ${k - 1} transitions`);
    } finally {
      p.cleanup();
      rmSync(snapshot, { recursive: true, force: true });
    }
  });
});
