/**
 * apply, resume, rollback, status and history through the real executable, on the fake product:
 * exit codes, the lock, signals before and after the point of no return, and --json documents.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { type FakeProduct, gate, reached, release, withProduct } from "./support/fake-product.js";
import { FERRY } from "./support/run-ferry.js";
import { ferryAsync, startFerry } from "./support/run-ferry-async.js";

/** The closing `result` event of a --json event stream. */
function lastEvent(stdout: string): Record<string, unknown> {
  const last = JSON.parse(stdout.trim().split("\n").at(-1) ?? "");
  assert.equal(last.type, "result");
  return last;
}

const allAt = (p: FakeProduct, active: string, running: string | null = active) =>
  Object.values(p.state()).every((cs) =>
    Object.values(cs).every((s) => s.active === active && s.running === running),
  );

describe("ferry apply, status and history", () => {
  it("upgrades, then status and history show it in DESIGN.md's shapes", async () => {
    await withProduct({ hosts: 2 }, async (p, c) => {
      const r = await ferryAsync(["apply", ...c, "--to", "1.0.2", "--yes", "--json"]);
      assert.equal(r.code, 0, r.stderr);
      const outcome = lastEvent(r.stdout);
      assert.equal(outcome.status, "done");
      assert.ok(allAt(p, "1.0.2"));

      const status = JSON.parse((await ferryAsync(["status", ...c, "--json"])).stdout);
      assert.deepEqual(status, {
        cluster: "fake",
        version: "1.0.2",
        mixed: false,
        members: p.hosts.map((host) => ({ host, component: "api", version: "1.0.2", healthy: true })),
        run: null,
      });
      const [run] = JSON.parse((await ferryAsync(["history", ...c, "--json"])).stdout);
      assert.equal(run.id, outcome.runId);
      assert.deepEqual([run.from, run.to, run.status], ["1.0.0", "1.0.2", "done"]);
      assert.deepEqual(run.path, ["1.0.0", "1.0.1", "1.0.2"]);
      assert.match(run.startedBy, /.+@.+/);
      assert.equal(typeof run.durationS, "number");
    });
  });

  it("asks each member its version once before the first change: the start's answer serves the preflight", async () => {
    const asked = `echo "{{host}} {{component}} version" >> {{vars.root}}/log; cat {{vars.root}}/{{host}}/{{component}}/current/VERSION`;
    await withProduct({ hosts: 3, commands: { version: asked } }, async (p, c) => {
      const r = await ferryAsync(["apply", ...c, "--to", "1.0.1", "--yes"]);
      assert.equal(r.code, 0, r.stderr);
      const log = p.log();
      const firstChange = log.findIndex((line) => !line.endsWith(" version"));
      assert.ok(firstChange > 0, log.join("\n"));
      assert.deepEqual(
        log.slice(0, firstChange).sort(),
        p.hosts.map((h) => `${h} api version`),
        log.join("\n"),
      );
    });
  });

  it("plan counts a component's hosts in words: 1 host, not 1 hosts", async () => {
    await withProduct({ hosts: 1 }, async (_p, c) => {
      const plan = await ferryAsync(["plan", ...c, "--to", "1.0.1"]);
      assert.equal(plan.code, 0, plan.stderr);
      assert.match(plan.stdout, /^ {4}api: 1 host, at most 1 at once$/m);
    });
  });

  it("without --to, upgrades to the file's `version`", async () => {
    await withProduct({ extra: "version: 1.0.1" }, async (p, c) => {
      assert.equal((await ferryAsync(["apply", ...c, "--yes"])).code, 0);
      assert.ok(allAt(p, "1.0.1"));
    });
  });

  it("off a terminal without --yes changes nothing (exit 2)", async () => {
    await withProduct({}, async (p, c) => {
      const r = await ferryAsync(["apply", ...c, "--to", "1.0.1"]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /pass --yes/);
      assert.ok(allAt(p, "1.0.0"));
      assert.deepEqual(JSON.parse((await ferryAsync(["history", ...c, "--json"])).stdout), []);
    });
  });

  it("refuses mixed versions that no run explains (exit 3)", async () => {
    await withProduct({ hosts: 2 }, async (p, c) => {
      const mixed = join(p.dir, "hosts/h2/api");
      await ferryAsync(["apply", ...c, "--to", "1.0.1", "--yes"]);
      // h2 is put back by hand, behind ferry's back.
      await new Promise((r) => spawn("sh", ["-c", `ln -sfn versions/1.0.0 ${mixed}/current`]).on("close", r));
      const r = await ferryAsync(["apply", ...c, "--to", "1.0.2", "--yes"]);
      assert.equal(r.code, 3);
      assert.match(r.stderr, /api@h1: 1\.0\.1[\s\S]*api@h2: 1\.0\.0/);
      assert.equal((await ferryAsync(["status", ...c, "--json"])).stdout.includes('"mixed": true'), true);
    });
  });

  it("a failed step rolls the hop back and exits 1 saying so", async () => {
    await withProduct({ hosts: 2, commands: { install: "exit 4" } }, async (p, c) => {
      const r = await ferryAsync(["apply", ...c, "--to", "1.0.1", "--yes"]);
      assert.equal(r.code, 1);
      assert.match(
        r.stdout,
        /1\.0\.1\/roll\/api\/h1\/install failed: .*exit 4.*Rolled back: fake is back at 1\.0\.0/,
      );
      assert.ok(allAt(p, "1.0.0"));
    });
  });
});

describe("preflight over the fleet", () => {
  it("checks every online host, refuses (exit 3) when one cannot install the target, and leaves offline hosts out", async () => {
    const check = "test ! -e {{vars.root}}/{{host}}/no-{{version}}";
    await withProduct({ hosts: 3, offline: ["h2"], commands: { check } }, async (p, c) => {
      const root = join(p.dir, "hosts");
      writeFileSync(join(root, "h3", "no-1.0.1"), "");
      writeFileSync(join(root, "h2", "no-1.0.1"), ""); // offline: never asked
      // `ferry check --to` runs the same preflight, and changes nothing either.
      const checked = await ferryAsync(["check", ...c, "--to", "1.0.1"]);
      assert.equal(checked.code, 3, checked.stdout + checked.stderr);
      assert.match(
        checked.stdout,
        /preflight of the first hop failed: 1\.0\.1\/preflight\/api\/h3\/installable on h3/,
      );
      const refused = await ferryAsync(["apply", ...c, "--to", "1.0.1", "--yes"]);
      assert.equal(refused.code, 3, refused.stdout + refused.stderr);
      assert.match(refused.stdout, /1\.0\.1\/preflight\/api\/h3\/installable failed/);
      assert.ok(allAt(p, "1.0.0"), JSON.stringify(p.state()));
      assert.deepEqual(
        p
          .log()
          .filter((l) => l.endsWith("check"))
          .sort(),
        ["h1 api check", "h1 api check", "h3 api check", "h3 api check"],
        "every online host checked (by check, then by apply); the offline one never reached",
      );

      rmSync(join(root, "h3", "no-1.0.1"));
      const passes = await ferryAsync(["check", ...c, "--to", "1.0.1"]);
      assert.equal(passes.code, 0, passes.stdout + passes.stderr);
      assert.match(passes.stdout, /preflight of the first hop: \d+ checks passed/);
      const plan = await ferryAsync(["plan", ...c, "--to", "1.0.1"]);
      assert.match(plan.stdout, /left out, marked offline: h2/);
      const done = await ferryAsync(["apply", ...c, "--to", "1.0.1", "--yes"]);
      assert.equal(done.code, 0, done.stdout + done.stderr);
      assert.match(done.stdout, /left out, marked offline: h2/);
      const state = p.state();
      assert.deepEqual(
        [state.h1?.api?.active, state.h2?.api?.active, state.h3?.api?.active],
        ["1.0.1", "1.0.0", "1.0.1"],
      );
      const status = JSON.parse((await ferryAsync(["status", ...c, "--json"])).stdout);
      assert.equal(status.version, "1.0.1", "the offline host does not make the cluster mixed");

      // A later hop's preflight fails after an earlier hop changed the cluster: a failure, not a refusal.
      writeFileSync(join(root, "h1", "no-1.1.0"), "");
      const later = await ferryAsync(["apply", ...c, "--to", "1.1.0", "--yes"]);
      assert.equal(later.code, 1, later.stdout + later.stderr);
      assert.match(later.stdout, /1\.1\.0\/preflight\/api\/h1\/installable failed/);
      assert.equal(p.state().h1?.api?.active, "1.0.2");
    });
  });
});

describe("one run at a time", () => {
  it("a second apply while a run holds the lock exits 3 naming the holder; SIGTERM before the point of no return rolls back", async () => {
    await withProduct(
      { hosts: 2, extra: `hooks: { before: { roll: '${gate("in-hook")}' } }` },
      async (p, c) => {
        const first = startFerry(["apply", ...c, "--to", "1.0.1", "--yes"]);
        await reached(p, "in-hook");
        const second = await ferryAsync(["apply", ...c, "--to", "1.0.1", "--yes"]);
        assert.equal(second.code, 3);
        assert.match(second.stderr, new RegExp(`another ferry holds the lock .*pid ${first.pid} on `));

        process.kill(first.pid, "SIGTERM");
        // The hook in flight ends only once ferry has taken the signal in.
        await first.waitFor(/interrupted: rolling back/);
        release(p, "in-hook");
        const code = (await first.done).code;
        const out = first.output();
        assert.equal(code, 130, out);
        assert.match(
          out,
          /ferry: SIGTERM\n[\s\S]*interrupted: rolling back \(the steps in flight finish first\)/,
        );
        assert.match(out, /done {5}1\.0\.1\/roll\/before-hook/, "the step in flight finished");
        assert.ok(allAt(p, "1.0.0"));
        const [run] = JSON.parse((await ferryAsync(["history", ...c, "--json"])).stdout);
        assert.equal(run.status, "rolled-back");
      },
    );
  });

  it("after a crash, apply to the same target says to resume; another target is refused", async () => {
    await withProduct({ hosts: 2 }, async (_p, c) => {
      const crashed = await ferryAsync(["apply", ...c, "--to", "1.0.1", "--yes"], {
        FERRY_FAULT: "journal#5",
      });
      assert.equal(crashed.signal, "SIGKILL");
      const same = await ferryAsync(["apply", ...c, "--to", "1.0.1", "--yes"]);
      assert.equal(same.code, 3);
      assert.match(same.stderr, /is unfinished.*use `ferry resume`/);
      const other = await ferryAsync(["apply", ...c, "--to", "1.0.2", "--yes"]);
      assert.equal(other.code, 3);
      assert.match(other.stderr, /a run to 1\.0\.2 cannot start before it ends/);
      const status = JSON.parse((await ferryAsync(["status", ...c, "--json"])).stdout);
      assert.equal(status.run.status, "running");
      assert.equal(status.run.heldBy, null, "nobody holds a dead run's lock");
      assert.equal((await ferryAsync(["resume", ...c, "--yes"])).code, 0);
    });
  });

  it("rollback undoes a paused run; resume with nothing open is refused", async () => {
    await withProduct(
      { hosts: 2, extra: "onFailure: pause", commands: { install: "exit 4" } },
      async (p, c) => {
        const paused = await ferryAsync(["apply", ...c, "--to", "1.0.1", "--yes"]);
        assert.equal(paused.code, 1);
        assert.match(paused.stdout, /Paused/);
        const back = await ferryAsync(["rollback", ...c, "--yes", "--json"]);
        assert.equal(back.code, 0, back.stderr);
        assert.equal(lastEvent(back.stdout).status, "rolled-back");
        assert.ok(allAt(p, "1.0.0"));
        const none = await ferryAsync(["resume", ...c, "--yes"]);
        assert.equal(none.code, 3);
        assert.match(none.stderr, /no unfinished run/);
      },
    );
  });

  it("a crash right after a step fails still rolls back on resume, even if the step would now pass", async () => {
    // h2's new release fails to start once (a marker file remembers), then would start fine.
    const once = "test -f {{vars.root}}/failed-once || { touch {{vars.root}}/failed-once; exit 1; }";
    const start = `${once}; cat {{vars.root}}/{{host}}/{{component}}/current/VERSION > {{vars.root}}/{{host}}/{{component}}/running`;
    await withProduct(
      { hosts: 2, commands: { start: start.replace(once, `if [ {{host}} = h2 ]; then ${once}; fi`) } },
      async (p, c) => {
        const crashed = await ferryAsync(["apply", ...c, "--to", "1.0.1", "--yes"], {
          FERRY_FAULT: "1.0.1/roll/api/h2/start:failed",
        });
        assert.equal(crashed.signal, "SIGKILL");
        const resumed = await ferryAsync(["resume", ...c, "--yes", "--json"]);
        assert.equal(resumed.code, 0, resumed.stderr + resumed.stdout);
        assert.equal(lastEvent(resumed.stdout).status, "rolled-back");
        assert.ok(allAt(p, "1.0.0"), JSON.stringify(p.state()));
      },
    );
  });

  it("resume after a crash takes over the dead run's lock and says so; a reader that goes away does not stop it", async () => {
    await withProduct({ hosts: 2 }, async (p, c) => {
      assert.equal(
        (await ferryAsync(["apply", ...c, "--to", "1.0.1", "--yes"], { FERRY_FAULT: "journal#5" })).signal,
        "SIGKILL",
      );
      // `| head -1`: the reader leaves after the first line, and the run must still finish.
      const piped = spawnSync("sh", ["-c", `${FERRY} resume -c ${p.clusterFile} --yes | head -1`], {
        encoding: "utf8",
      });
      assert.match(
        piped.stdout.split("\n")[0] ?? "",
        /took over the lock of run .*pid \d+ on .*, which had died/,
      );
      const [run] = JSON.parse((await ferryAsync(["history", ...c, "--json"])).stdout);
      assert.equal(run.status, "done");
      assert.ok(allAt(p, "1.0.1"));
    });
  });
});

/** Each hop's unpin, after its point of no return, is held at a gate: the test signals ferry there. */
const HELD_UNPIN = `unpin: '${gate("unpinning-{{version}}")}'`;

describe("signals after the point of no return (Ganeti: carry on to the end of the hop)", () => {
  it("SIGTERM past the point of no return of a middle hop: the hop completes, exit 130, resume finishes", async () => {
    await withProduct({ hosts: 2, extra: HELD_UNPIN }, async (p, c) => {
      const run = startFerry(["apply", ...c, "--to", "1.0.2", "--yes"]);
      await reached(p, "unpinning-1.0.1");
      process.kill(run.pid, "SIGTERM");
      await run.waitFor(/ignoring the signal and continuing to the end of hop 1\.0\.0 → 1\.0\.1/);
      release(p, "unpinning-1.0.1");
      release(p, "unpinning-1.0.2");
      const r = await run.done;
      assert.equal(r.code, 130, r.stdout + r.stderr);
      assert.match(r.stdout, /done {5}1\.0\.1\/verify\/cluster/, "the hop ran to its end");
      assert.doesNotMatch(r.stdout, /1\.0\.2\/preflight/, "the next hop did not start");
      assert.match(
        r.stdout,
        /fake runs 1\.0\.1\. Stopped before hop 1\.0\.1 → 1\.0\.2; `ferry resume` goes on with it/,
      );
      assert.ok(allAt(p, "1.0.1"), JSON.stringify(p.state()));
      const [stopped] = JSON.parse((await ferryAsync(["history", ...c, "--json"])).stdout);
      assert.equal(stopped.status, "stopped");

      const resumed = await ferryAsync(["resume", ...c, "--yes"]);
      assert.equal(resumed.code, 0, resumed.stdout + resumed.stderr);
      assert.ok(allAt(p, "1.0.2"));
      const [run2] = JSON.parse((await ferryAsync(["history", ...c, "--json"])).stdout);
      assert.equal(run2.status, "done");
    });
  });

  it("SIGTERM past the point of no return of the last hop: the hop completes and the run is done, exit 0", async () => {
    await withProduct({ hosts: 2, extra: HELD_UNPIN }, async (p, c) => {
      const run = startFerry(["apply", ...c, "--to", "1.0.1", "--yes"]);
      await reached(p, "unpinning-1.0.1");
      process.kill(run.pid, "SIGTERM");
      await run.waitFor(/ignoring the signal and continuing to the end of hop 1\.0\.0 → 1\.0\.1/);
      release(p, "unpinning-1.0.1");
      const r = await run.done;
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /done {5}1\.0\.1\/verify\/cluster/);
      assert.ok(allAt(p, "1.0.1"));
      const [done] = JSON.parse((await ferryAsync(["history", ...c, "--json"])).stdout);
      assert.equal(done.status, "done");
    });
  });

  it("two SIGTERMs past the point of no return: the step in flight finishes, exit 130, resumable; rollback is refused", async () => {
    await withProduct({ hosts: 2, extra: HELD_UNPIN }, async (p, c) => {
      const run = startFerry(["apply", ...c, "--to", "1.0.2", "--yes"]);
      await reached(p, "unpinning-1.0.1");
      process.kill(run.pid, "SIGTERM");
      await run.waitFor(/ignoring the signal and continuing/);
      process.kill(run.pid, "SIGTERM");
      await run.waitFor(/stopping: the steps in flight finish/);
      release(p, "unpinning-1.0.1");
      const r = await run.done;
      assert.equal(r.code, 130, r.stdout + r.stderr);
      assert.match(r.stdout, /done {5}1\.0\.1\/activate\/unpin/, "the step in flight finished");
      assert.doesNotMatch(r.stdout, /1\.0\.1\/verify\/cluster/, "no step started after it");
      assert.match(r.stdout, /past its point of no return.*ferry resume/);
      const [stopped] = JSON.parse((await ferryAsync(["history", ...c, "--json"])).stdout);
      assert.equal(stopped.status, "stopped");
      // status says what can be run next: only resume, since rollback would be refused.
      const status = await ferryAsync(["status", ...c]);
      assert.match(
        status.stdout,
        /no ferry is running it: `ferry resume` \(hop 1\.0\.0 → 1\.0\.1 is past its point of no return\)/,
      );
      assert.equal(
        JSON.parse((await ferryAsync(["status", ...c, "--json"])).stdout).run.pastPointOfNoReturn,
        true,
      );
      const back = await ferryAsync(["rollback", ...c, "--yes"]);
      assert.equal(back.code, 3);
      assert.match(back.stderr, /passed its point of no return/);

      release(p, "unpinning-1.0.2");
      const resumed = await ferryAsync(["resume", ...c, "--yes"]);
      assert.equal(resumed.code, 0, resumed.stdout + resumed.stderr);
      assert.ok(allAt(p, "1.0.2"));
    });
  });
});
