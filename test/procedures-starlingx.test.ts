/**
 * StarlingX's orchestrated upgrade (shared/seeds/003) end to end, as examples/procedures/starlingx
 * writes it down: seven local hosts (two controllers, active and standby; two storage hosts of
 * one replication group; three workers), each a folder with its software a real process, run
 * through bin/ferry. What happened is read from the hosts' own records (hosts/<host>/events.log)
 * and, for the point of no return, from `ferry apply --json`'s events.
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  all,
  at,
  type ExampleFolder,
  type HostEvent,
  inOrder,
  lastAt,
  memberStates,
  withExampleFolder,
} from "./support/procedure-example.js";

const starlingx = (body: (ex: ExampleFolder) => Promise<void>) =>
  withExampleFolder("starlingx", { teardown: "bin/stx teardown" }, body);

const CONTROLLERS = ["controller-0", "controller-1"];
const STORAGE = ["storage-0", "storage-1"];
const WORKERS = ["worker-0", "worker-1", "worker-2"];
const MEMBERS = [
  ...CONTROLLERS.map((h) => `controller@${h}`),
  ...STORAGE.map((h) => `storage@${h}`),
  ...WORKERS.map((h) => `worker@${h}`),
];

/** Every host on 22.12.0, controller-0 active; 24.03.0's load imported unless told not to. */
async function setUp(ex: ExampleFolder, { imported = true } = {}): Promise<void> {
  const r = await ex.sh(`bin/stx setup 22.12.0${imported ? " && bin/stx load-import 24.03.0" : ""}`);
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
}

const fault = (ex: ExampleFolder, line: string) => writeFileSync(join(ex.dir, "etc", "faults"), `${line}\n`);
const active = (ex: ExampleFolder) => readFileSync(join(ex.dir, "etc", "active-controller"), "utf8").trim();

/** "HOST VERSION EVENT" of each event, for an exact order. */
const brief = (events: readonly HostEvent[]) => events.map((e) => `${e.host} ${e.version} ${e.event}`);

/** One host's whole roll from 22.12.0 to 24.03.0, as its own record has it. */
const hostRoll = (host: string) => [
  `${host} 22.12.0 locked`,
  `${host} 22.12.0 stopped`,
  `${host} 22.12.0 installed`,
  `${host} 24.03.0 activated`,
  ...(host.startsWith("controller") ? [`${host} 24.03.0 databases`] : []),
  `${host} 24.03.0 started`,
  `${host} 24.03.0 unlocked`,
];

describe("StarlingX's procedure (examples/procedures/starlingx)", () => {
  it("22.12.0 → 24.03.0: preflight (alarms, licence, load imported); the standby controller, swact, point of no return, the other controller; storage one at a time; workers side by side; activate; complete", async () => {
    await starlingx(async (ex) => {
      await setUp(ex, { imported: false });
      const untouched = ex.mark();

      // Each precondition of the seed refuses the upgrade (exit 3) and touches no host.
      const check = async (name: string) => {
        const r = await ex.ferry(["check", "--to", "24.03.0"]);
        assert.equal(r.code, 3, `${r.stdout}\n${r.stderr}`);
        assert.match(r.stdout + r.stderr, new RegExp(`preflight/check/${name}`));
      };
      await check("load-imported");
      assert.equal((await ex.sh("bin/stx load-import 24.03.0")).code, 0);
      writeFileSync(join(ex.dir, "etc", "alarms"), "250.001 controller-0 configuration is out-of-date\n");
      await check("no-alarms");
      writeFileSync(join(ex.dir, "etc", "alarms"), "");
      const licence = join(ex.dir, "etc", "license");
      const valid = readFileSync(licence, "utf8");
      writeFileSync(licence, valid.replace("24.03.0\n", ""));
      await check("license");
      writeFileSync(licence, valid);
      assert.deepEqual(ex.events(untouched), [], "no host touched by a refused check");

      // The plan: the standby controller, the swact, the point of no return, the active one.
      const plan = await ex.ferry(["plan", "--to", "24.03.0"]);
      assert.equal(plan.code, 0, plan.stderr);
      assert.match(
        plan.stdout,
        /^ {4}controller: 2 hosts, at most 1 at once\n {6}controller-1: drain → .* → undrain\n {6}controller-1: switchover\n {6}24\.03\.0\/point-of-no-return .*\n {6}controller-0: drain → /m,
      );
      assert.match(plan.stdout, /^ {6}storage-0 \[replication-group-0\]: /m);

      const before = ex.mark();
      const r = await ex.ferry(["apply", "--to", "24.03.0", "--yes", "--json"]);
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
      const events = ex.events(before);
      assert.deepEqual(all(events, { event: "start-refused" }), [], "no controller lacked its databases");

      // Controllers and storage roll one host at a time, in this order.
      const firstWorker = at(events, { component: "worker" });
      assert.deepEqual(brief(events.slice(0, firstWorker)), [
        // system upgrade-start, on the active controller: compatibility mode on.
        "controller-0 22.12.0 upgrade-start",
        // The standby controller first: its databases migrated from the active one's.
        ...hostRoll("controller-1"),
        "controller-1 24.03.0 swact",
        // Past the point of no return: the former active one, its databases synced.
        ...hostRoll("controller-0"),
        // Storage one at a time: one replication group.
        ...hostRoll("storage-0"),
        ...hostRoll("storage-1"),
      ]);
      assert.match(
        all(events, { host: "controller-1", event: "databases" })[0]?.detail ?? "",
        /^migrated from the active controller controller-0's 22\.12\.0 ones$/,
      );
      assert.match(
        all(events, { host: "controller-0", event: "databases" })[0]?.detail ?? "",
        /^synced from the active controller controller-1$/,
      );
      // Every host upgraded before activation starts in compatibility mode.
      for (const e of all(events, { version: "24.03.0", event: "started" }))
        assert.match(e.detail, /compatibility mode: messages in 22\.12\.0 format$/, e.host);

      // The point of no return, by ferry's own events: after the swact, before controller-0 is locked.
      const ponr = r.stdout
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { type: string; id?: string; state?: string; time: string })
        .filter((e) => e.type === "step" && e.id === "24.03.0/point-of-no-return");
      assert.deepEqual(
        ponr.map((e) => e.state),
        ["running", "done"],
      );
      // (ferry's times are to the millisecond, the hosts' to the microsecond.)
      const ms = (t: string) => t.slice(0, 23);
      const swact = events[at(events, { event: "swact" })] as HostEvent;
      const locked = events[at(events, { host: "controller-0", event: "locked" })] as HostEvent;
      assert.ok(ms(swact.time) <= ms(ponr[0]?.time ?? ""), `swact ${swact.time}, mark ${ponr[0]?.time}`);
      assert.ok(ms(ponr[1]?.time ?? "") <= ms(locked.time), `mark ${ponr[1]?.time}, lock ${locked.time}`);

      // Workers in parallel: every one locked (tainted, its pods moved) before any is unlocked;
      // each one's own roll in order.
      const workers = events.slice(firstWorker);
      const lastLock = lastAt(workers, { component: "worker", event: "locked" });
      const firstUnlock = at(workers, { component: "worker", event: "unlocked" });
      assert.ok(lastLock < firstUnlock, "all three workers out of service at once");
      for (const host of WORKERS) {
        assert.deepEqual(
          brief(
            all(workers, { host }).filter((e) => e.component === "worker" && e.event !== "compatibility"),
          ),
          hostRoll(host),
        );
        assert.match(
          all(workers, { host, event: "locked" })[0]?.detail ?? "",
          /tainted NoExecute/,
          "a worker is tainted when locked",
        );
      }

      // Then activate (compatibility mode off on every host), then complete.
      const tail = workers.slice(lastAt(workers, { component: "worker", event: "unlocked" }) + 1);
      assert.deepEqual(brief(tail.filter((e) => e.event !== "compatibility")), [
        "controller-1 24.03.0 upgrade-activate",
        "controller-1 24.03.0 upgrade-complete",
      ]);
      assert.deepEqual(
        all(tail, { event: "compatibility" })
          .map((e) => `${e.component}@${e.host} ${e.detail}`)
          .sort(),
        MEMBERS.map((m) => `${m} off: messages in 24.03.0 format`).sort(),
      );
      inOrder(
        events,
        { event: "upgrade-activate" },
        { host: "worker-2", event: "compatibility" },
        { event: "upgrade-complete" },
      );

      assert.equal(active(ex), "controller-1", "the upgraded standby is the active controller");
      assert.deepEqual(
        await memberStates(ex),
        MEMBERS.map((m) => `${m} 24.03.0 healthy`),
      );
    });
  });

  it("a failure on the first controller (its services do not go active after the swact): rolled back, switched back, controller-0 active and both on 22.12.0", async () => {
    await starlingx(async (ex) => {
      await setUp(ex);
      fault(ex, "swact controller-1");
      const before = ex.mark();
      const r = await ex.ferry(["apply", "--to", "24.03.0", "--yes"]);
      assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
      assert.match(
        r.stdout + r.stderr,
        /24\.03\.0\/roll\/controller\/switchover failed: .*did not go active/,
      );
      assert.match(r.stdout + r.stderr, /Rolled back: starlingx is back at 22\.12\.0/);

      const events = ex.events(before);
      assert.deepEqual(brief(events), [
        "controller-0 22.12.0 upgrade-start",
        ...hostRoll("controller-1"),
        "controller-1 24.03.0 swact",
        "controller-1 24.03.0 go-active-failed",
        // The rollback: switched back first, then controller-1's steps undone in reverse.
        "controller-0 22.12.0 swact",
        "controller-1 24.03.0 locked",
        "controller-1 24.03.0 stopped",
        "controller-1 24.03.0 databases",
        "controller-1 22.12.0 activated",
        "controller-1 22.12.0 started",
        "controller-1 22.12.0 unlocked",
        // system upgrade-abort, on controller-0, active again.
        "controller-0 22.12.0 upgrade-abort",
      ]);
      assert.equal(
        all(events, { host: "controller-0", event: "swact" })[0]?.detail,
        "active (was controller-1)",
      );
      assert.equal(active(ex), "controller-0", "the original active controller is active again");
      // Nothing past the point of no return ran: controller-0, storage and workers untouched.
      assert.deepEqual(
        [
          ...new Set(
            events
              .filter(
                (e) => e.event !== "upgrade-start" && e.event !== "upgrade-abort" && e.event !== "swact",
              )
              .map((e) => e.host),
          ),
        ],
        ["controller-1"],
      );
      assert.deepEqual(
        await memberStates(ex),
        MEMBERS.map((m) => `${m} 22.12.0 healthy`),
      );
    });
  });

  it("a worker that fails past the point of no return: the run stops, `ferry host undo` takes it back to 22.12.0, and once fixed `ferry resume` completes", async () => {
    await starlingx(async (ex) => {
      await setUp(ex);
      fault(ex, "start worker-1 24.03.0");
      const r = await ex.ferry(["apply", "--to", "24.03.0", "--yes"]);
      assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
      const out = r.stdout + r.stderr;
      assert.match(
        out,
        /24\.03\.0\/roll\/worker\/worker-1\/start failed: .*did not boot into load 24\.03\.0/,
      );
      assert.match(out, /past its point of no return/);
      assert.doesNotMatch(out, /Rolled back/);
      assert.equal(active(ex), "controller-1", "not switched back");
      const refused = await ex.ferry(["rollback", "--yes"]);
      assert.equal(refused.code, 3, `${refused.stdout}\n${refused.stderr}`);

      // The seed: "temporarily downgrading the host, addressing the issues and then upgrading the host again".
      const undoAt = ex.mark();
      const undo = await ex.ferry(["host", "undo", "worker-1", "--yes"]);
      assert.equal(undo.code, 0, `${undo.stdout}\n${undo.stderr}`);
      const undone = ex.events(undoAt);
      assert.deepEqual(brief(undone.filter((e) => e.host === "worker-1")), [
        "worker-1 22.12.0 activated",
        "worker-1 22.12.0 started",
        "worker-1 22.12.0 unlocked",
      ]);
      assert.deepEqual([...new Set(undone.map((e) => e.host))], ["worker-1"], "only worker-1 was taken back");
      const members = await memberStates(ex);
      assert.ok(members.includes("worker@worker-1 22.12.0 healthy"), members.join("\n"));
      assert.ok(members.includes("controller@controller-0 24.03.0 healthy"), members.join("\n"));

      fault(ex, "");
      const resumeAt = ex.mark();
      const resumed = await ex.ferry(["resume", "--yes"]);
      assert.equal(resumed.code, 0, `${resumed.stdout}\n${resumed.stderr}`);
      const after = ex.events(resumeAt);
      inOrder(
        after,
        { host: "worker-1", version: "22.12.0", event: "locked" },
        { host: "worker-1", version: "22.12.0", event: "stopped" },
        { host: "worker-1", version: "24.03.0", event: "activated" },
        { host: "worker-1", version: "24.03.0", event: "started" },
        { host: "worker-1", version: "24.03.0", event: "unlocked" },
        { event: "upgrade-activate" },
        { event: "upgrade-complete" },
      );
      assert.ok(
        lastAt(after, { component: "worker", event: "unlocked" }) < at(after, { event: "upgrade-activate" }),
        "activate once every worker is back",
      );
      assert.deepEqual(
        await memberStates(ex),
        MEMBERS.map((m) => `${m} 24.03.0 healthy`),
      );
    });
  });
});
