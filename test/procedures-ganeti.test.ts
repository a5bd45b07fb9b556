/**
 * Ganeti's upgrade procedure (shared/seeds/004, `gnt-cluster upgrade`) end to end, as
 * examples/procedures/ganeti writes it down: four nodes, each a folder with its versions side by
 * side and a symlink, ganeti-noded on every online node and ganeti-masterd on the master, real
 * processes, run through bin/ferry. What happened is read from the nodes' own records
 * (hosts/<node>/events.log) and from their files (the symlinks, the configuration, the queue).
 *
 * The signals land where the test means them to: a command of the cluster file is held at a gate
 * (a file it creates on arrival, then waits for the test's go), never after a sleep.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { until } from "./support/fake-product.js";
import {
  all,
  at,
  type ExampleFolder,
  type HostEvent,
  inOrder,
  lastAt,
  type Mark,
  memberStates,
  show,
  withExampleFolder,
} from "./support/procedure-example.js";

const ganeti = (body: (ex: ExampleFolder) => Promise<void>) =>
  withExampleFolder("ganeti", { teardown: "bin/ganeti teardown" }, body);

const ONLINE = ["node1", "node2", "node3"] as const;
const MEMBERS = [...ONLINE.map((n) => `noded@${n}`), "masterd@node1"];

/** Every online node on 2.10.8, 2.11.1 installed beside it ahead of time; node4 (offline) has only 2.10.8. */
async function setUp(ex: ExampleFolder): Promise<void> {
  const r = await ex.sh(
    `bin/ganeti setup 2.10.8 && for n in ${ONLINE.join(" ")}; do bin/ganeti install $n 2.11.1; done`,
  );
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
}

/** A job the master daemon needs `ticks` × 0.1 s for. */
async function submit(ex: ExampleFolder, job: string, ticks: number): Promise<void> {
  const r = await ex.sh(`bin/ganeti queue node1 submit ${job} ${ticks}`);
  assert.equal(r.code, 0, r.stderr);
}

/** Resolves once a node has recorded an event that matches (its file polled, 30 s at most). */
async function recorded(ex: ExampleFolder, since: Mark, match: Partial<HostEvent>): Promise<void> {
  for (const start = Date.now(); all(ex.events(since), match).length === 0; await sleep(20))
    if (Date.now() - start > 30_000) assert.fail(`no event ${JSON.stringify(match)} within 30 s`);
}

/** The configuration's version on `node`: what cfgupgrade changes. */
const configVersion = (ex: ExampleFolder, node = "node1") =>
  /^version (.*)$/m.exec(
    readFileSync(join(ex.dir, "hosts", node, "var/lib/ganeti/config.data"), "utf8"),
  )?.[1];

/** Where each online node's etc/ganeti/share symlink points. */
async function symlinks(ex: ExampleFolder): Promise<string[]> {
  const out: string[] = [];
  for (const n of ONLINE) out.push((await ex.sh(`bin/ganeti version ${n}`)).stdout.trim());
  return out;
}

const drained = (ex: ExampleFolder) => existsSync(join(ex.dir, "hosts/node1/var/lib/ganeti/queue/drained"));

/**
 * Holds the cluster file's command `key: command` at a gate named `name`, before the command runs
 * or once it has succeeded, when its rendered `{{host}}-{{version}}` is `when`. The gate creates
 * a file on arrival (reached), then waits for the test's go (release), 30 s at most.
 */
function gate(
  ex: ExampleFolder,
  {
    key,
    command,
    when,
    name,
    after = false,
  }: { key: string; command: string; when: string; name: string; after?: boolean },
) {
  const file = join(ex.dir, "cluster.yaml");
  const text = readFileSync(file, "utf8");
  const line = `${key}: ${command}\n`;
  assert.ok(text.includes(line), `cluster.yaml has no line "${line}"`);
  const arrived = join(ex.dir, `${name}.arrived`);
  const go = join(ex.dir, `${name}.go`);
  const hold = `if [ {{host}}-{{version}} = ${when} ]; then touch ${arrived}; i=0; while [ ! -f ${go} ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done; fi`;
  const held = after ? `${command} && { ${hold}; }` : `${hold}; ${command}`;
  writeFileSync(file, text.replace(line, `${key}: ${JSON.stringify(held)}\n`));
  return { reached: () => until(arrived, 30_000), release: () => writeFileSync(go, "") };
}

/** The step ids of the plan's only hop, in execution order. */
async function planIds(ex: ExampleFolder, to: string): Promise<string[]> {
  const r = await ex.ferry(["plan", "--to", to, "--json"]);
  assert.equal(r.code, 0, r.stderr);
  type Ids = { phases: { stages: { pools: { lanes: { steps: { id: string }[] }[] }[] }[] }[] };
  const [hop] = JSON.parse(r.stdout).hops as Ids[];
  return (hop as Ids).phases.flatMap((p) =>
    p.stages.flatMap((s) => s.pools.flatMap((pool) => pool.lanes.flatMap((l) => l.steps.map((st) => st.id)))),
  );
}

/** Asserts every event matching `first` comes before every event matching `then`, and both exist. */
function allBefore(events: readonly HostEvent[], first: Partial<HostEvent>, then: Partial<HostEvent>): void {
  const last = lastAt(events, first);
  const next = at(events, then);
  assert.ok(
    last < next,
    `every ${JSON.stringify(first)} should come before ${JSON.stringify(then)}:\n${events.map(show).join("\n")}`,
  );
}

describe("Ganeti's procedure (examples/procedures/ganeti)", () => {
  it("2.10.8 → 2.11.1 and back: check on every online node, drain, check again, stop, backup, switch, cfgupgrade at the point of no return, ensure-dirs everywhere, start, verify, undrain; the way back runs cfgupgrade --downgrade before the switch", async () => {
    await ganeti(async (ex) => {
      await setUp(ex);

      const ids = await planIds(ex, "2.11.1");
      const ponr = ids.indexOf("2.11.1/point-of-no-return");
      assert.deepEqual(
        ids.slice(ponr - 1, ponr + 3),
        [
          "2.11.1/install/masterd/node1/activate",
          "2.11.1/point-of-no-return",
          "2.11.1/install/action/cfgupgrade",
          "2.11.1/install/action/ensure-dirs/node1",
        ],
        "the point of no return just before cfgupgrade, after every symlink is switched",
      );
      assert.deepEqual(
        ids.filter((id) => id.endsWith("/installable")),
        [
          // "verifies that the version to change to is installed on all nodes … not marked as offline"
          ...["noded/node1", "noded/node2", "noded/node3", "masterd/node1"].map(
            (m) => `2.11.1/preflight/${m}/installable`,
          ),
          // "It is verified again", once the queue is drained.
          ...["noded/node1", "noded/node2", "noded/node3", "masterd/node1"].map(
            (m) => `2.11.1/drain/${m}/installable`,
          ),
        ],
      );
      assert.ok(
        ids.indexOf("2.11.1/drain/queue-empty") < ids.indexOf("2.11.1/drain/noded/node1/installable"),
      );
      assert.ok(!ids.some((id) => id.includes("node4")), "node4 is offline");

      // A long job (an instance's migration, say): the drain must wait for it to end. It ends
      // once the queue is drained, when the test says so (0 ticks left).
      await submit(ex, "job-1", 100_000);
      const before = ex.mark();
      const apply = ex.start(["apply", "--to", "2.11.1", "--yes"]);
      await recorded(ex, before, { host: "node1", component: "queue", event: "drained" });
      await apply.waitFor(/running +2\.11\.1\/drain\/queue-empty/);
      writeFileSync(join(ex.dir, "hosts/node1/var/lib/ganeti/queue/jobs/job-1"), "0\n");
      const up = await apply.done;
      assert.equal(up.code, 0, `${up.stdout}\n${up.stderr}`);
      assert.match(up.stdout, /left out, marked offline: node4/);

      const events = ex.events(before);
      assert.deepEqual(all(events, { event: "start-refused" }), [], events.map(show).join("\n"));
      assert.deepEqual(
        events.filter((e) => e.host === "node4"),
        [],
        "nothing happens to the offline node",
      );
      // The queue drained, and the job in hand finished, before any daemon stops.
      inOrder(
        events,
        { host: "node1", component: "queue", event: "drained" },
        { host: "node1", component: "masterd", event: "job-done", detail: "job-1" },
        { host: "node1", component: "masterd", version: "2.10.8", event: "stopped" },
      );
      // The master's daemons first, then every node's; all stopped before the backup.
      allBefore(events, { component: "masterd", event: "stopped" }, { component: "noded", event: "stopped" });
      assert.equal(all(events, { component: "noded", version: "2.10.8", event: "stopped" }).length, 3);
      allBefore(events, { event: "stopped" }, { component: "config", event: "backup" });
      // The symlink switched on every online node, then the configuration upgraded, once, on the master.
      allBefore(events, { component: "config", event: "backup" }, { event: "activated" });
      assert.deepEqual(
        all(events, { event: "activated" })
          .map((e) => `${e.host} ${e.version}`)
          .sort(),
        ONLINE.map((n) => `${n} 2.11.1`),
      );
      allBefore(events, { event: "activated" }, { component: "config", event: "cfgupgrade" });
      assert.deepEqual(
        all(events, { event: "cfgupgrade" }).map((e) => `${e.host} ${e.version} ${e.detail}`),
        ["node1 2.11.1 2.10 -> 2.11"],
      );
      // ensure-dirs on every online node after the configuration change, before any daemon starts.
      allBefore(events, { event: "cfgupgrade" }, { event: "ensure-dirs" });
      assert.deepEqual(
        all(events, { event: "ensure-dirs" }).map((e) => `${e.host} ${e.version}`),
        ONLINE.map((n) => `${n} 2.11.1`),
      );
      allBefore(events, { event: "ensure-dirs" }, { event: "started" });
      // Every node's daemon, then the master's; the configuration distributed; verified; undrained.
      allBefore(
        events,
        { component: "noded", version: "2.11.1", event: "started" },
        { component: "masterd", version: "2.11.1", event: "started" },
      );
      assert.equal(all(events, { component: "noded", version: "2.11.1", event: "started" }).length, 3);
      inOrder(
        events,
        { host: "node1", component: "masterd", version: "2.11.1", event: "started" },
        { host: "node1", component: "config", event: "redist-conf", detail: "to node2 node3" },
        { host: "node1", component: "cluster", version: "2.11.1", event: "verify", detail: "ok" },
        { host: "node1", component: "queue", event: "undrained" },
      );
      assert.equal(events.at(-1)?.event, "undrained", "the queue is undrained last");
      assert.deepEqual(await symlinks(ex), ["2.11.1", "2.11.1", "2.11.1"]);
      for (const n of ONLINE) assert.equal(configVersion(ex, n), "2.11");
      assert.equal(drained(ex), false);
      assert.deepEqual(
        await memberStates(ex),
        MEMBERS.map((m) => `${m} 2.11.1 healthy`),
      );

      // The way back, "calling gnt-cluster upgrade from the newer version with the older version as
      // argument": the configuration downgraded by 2.11.1's cfgupgrade, before the symlink switch.
      const downIds = await planIds(ex, "2.10.8");
      const downMark = downIds.indexOf("2.10.8/point-of-no-return");
      assert.deepEqual(
        downIds.slice(downMark - 1, downMark + 2),
        ["2.10.8/backup/command", "2.10.8/point-of-no-return", "2.10.8/backup/action/cfgdowngrade"],
        "the way back's point of no return just before its configuration change",
      );
      const back = ex.mark();
      const down = await ex.ferry(["apply", "--to", "2.10.8", "--yes"]);
      assert.equal(down.code, 0, `${down.stdout}\n${down.stderr}`);
      const way = ex.events(back);
      assert.deepEqual(all(way, { event: "start-refused" }), [], way.map(show).join("\n"));
      inOrder(
        way,
        { host: "node1", component: "queue", event: "drained" },
        { host: "node1", component: "masterd", version: "2.11.1", event: "stopped" },
        { host: "node1", component: "config", event: "backup" },
        {
          host: "node1",
          component: "config",
          version: "2.11.1",
          event: "cfgupgrade",
          detail: "--downgrade 2.11 -> 2.10",
        },
        { host: "node1", component: "ganeti", version: "2.10.8", event: "activated" },
        { host: "node1", component: "ganeti", version: "2.10.8", event: "ensure-dirs" },
        { host: "node1", component: "masterd", version: "2.10.8", event: "started" },
        { host: "node1", component: "queue", event: "undrained" },
      );
      allBefore(way, { event: "stopped" }, { event: "cfgupgrade" });
      allBefore(way, { event: "cfgupgrade" }, { event: "activated" });
      assert.equal(all(way, { event: "cfgupgrade" }).length, 1);
      assert.deepEqual(await symlinks(ex), ["2.10.8", "2.10.8", "2.10.8"]);
      assert.equal(configVersion(ex), "2.10");
      assert.deepEqual(
        await memberStates(ex),
        MEMBERS.map((m) => `${m} 2.10.8 healthy`),
      );
    });
  });

  it("2.11.1 gone from a node while the queue drained: the second check fails, the queue is undrained, no daemon was stopped", async () => {
    await ganeti(async (ex) => {
      await setUp(ex);
      await submit(ex, "job-1", 100_000);
      const before = ex.mark();
      const apply = ex.start(["apply", "--to", "2.11.1", "--yes"]);
      await recorded(ex, before, { host: "node1", component: "queue", event: "drained" });
      await apply.waitFor(/running +2\.11\.1\/drain\/queue-empty/);
      rmSync(join(ex.dir, "hosts/node2/usr/share/ganeti/2.11.1"), { recursive: true });
      writeFileSync(join(ex.dir, "hosts/node1/var/lib/ganeti/queue/jobs/job-1"), "0\n");
      const r = await apply.done;
      const out = `${r.stdout}\n${r.stderr}`;
      assert.equal(r.code, 1, out);
      assert.match(out, /2\.11\.1\/drain\/noded\/node2\/installable failed/);
      assert.match(out, /ganeti 2\.11\.1 is not installed on node2/);
      assert.match(out, /Rolled back: ganeti is back at 2\.10\.8/);

      const events = ex.events(before);
      assert.deepEqual(
        events.map((e) => `${e.host} ${e.component} ${e.event} ${e.detail}`.trimEnd()),
        ["node1 queue drained", "node1 masterd job-done job-1", "node1 queue undrained"],
        events.map(show).join("\n"),
      );
      assert.equal(drained(ex), false);
      assert.equal(configVersion(ex), "2.10");
      assert.deepEqual(
        await memberStates(ex),
        MEMBERS.map((m) => `${m} 2.10.8 healthy`),
      );
    });
  });

  it("SIGTERM before cfgupgrade: rolled back, the configuration as it was, 2.10.8 everywhere, the queue undrained", async () => {
    await ganeti(async (ex) => {
      await setUp(ex);
      // node3's symlink switch waits for the test, which signals once node1's and node2's are switched.
      const held = gate(ex, {
        key: "activate",
        command: "bin/ganeti activate {{host}} {{version}}",
        when: "node3-2.11.1",
        name: "activate-node3",
      });
      const configBefore = readFileSync(join(ex.dir, "hosts/node1/var/lib/ganeti/config.data"), "utf8");
      const before = ex.mark();

      const run = ex.start(["apply", "--to", "2.11.1", "--yes"]);
      await held.reached();
      for (const host of ["node1", "node2"]) await recorded(ex, before, { host, event: "activated" });
      process.kill(run.pid, "SIGTERM");
      await run.waitFor(/interrupted: rolling back/);
      held.release();
      const r = await run.done;
      const out = run.output();
      assert.equal(r.code, 130, out);
      assert.match(out, /Rolled back: ganeti is back at 2\.10\.8/);

      const events = ex.events(before);
      assert.deepEqual(all(events, { event: "cfgupgrade" }), [], "the configuration was never touched");
      assert.deepEqual(all(events, { event: "ensure-dirs" }), [], "nor the directories");
      // Switched, then switched back, then every daemon started again on 2.10.8, then undrained.
      for (const n of ["node1", "node2"])
        inOrder(
          events,
          { host: n, event: "activated", version: "2.11.1" },
          { host: n, event: "activated", version: "2.10.8" },
          { host: n, component: "noded", version: "2.10.8", event: "started" },
        );
      allBefore(events, { event: "activated" }, { event: "started" });
      assert.deepEqual(all(events, { version: "2.11.1", event: "started" }), [], "nothing started on 2.11.1");
      allBefore(events, { event: "started" }, { component: "queue", event: "undrained" });
      assert.equal(
        readFileSync(join(ex.dir, "hosts/node1/var/lib/ganeti/config.data"), "utf8"),
        configBefore,
      );
      assert.deepEqual(await symlinks(ex), ["2.10.8", "2.10.8", "2.10.8"]);
      assert.equal(drained(ex), false);
      await submit(ex, "job-after", 0);
      assert.deepEqual(
        await memberStates(ex),
        MEMBERS.map((m) => `${m} 2.10.8 healthy`),
      );
    });
  });

  it("SIGTERM after cfgupgrade: ferry says it carries on, finishes the hop (exit 0), everything on 2.11.1", async () => {
    await ganeti(async (ex) => {
      await setUp(ex);
      // node2's ensure-dirs waits for the test: the configuration is upgraded by then.
      const held = gate(ex, {
        key: "run",
        command: "bin/ganeti ensure-dirs {{host}} {{version}}",
        when: "node2-2.11.1",
        name: "ensure-dirs-node2",
      });
      const before = ex.mark();

      const run = ex.start(["apply", "--to", "2.11.1", "--yes"]);
      await held.reached();
      assert.equal(configVersion(ex), "2.11");
      process.kill(run.pid, "SIGTERM");
      await run.waitFor(/ignoring the signal and continuing to the end of hop 2\.10\.8 → 2\.11\.1/);
      held.release();
      const r = await run.done;
      const out = run.output();
      assert.equal(r.code, 0, out);

      const events = ex.events(before);
      assert.deepEqual(all(events, { version: "2.10.8", event: "activated" }), [], "nothing switched back");
      assert.deepEqual(
        all(events, { event: "ensure-dirs" }).map((e) => `${e.host} ${e.version}`),
        ONLINE.map((n) => `${n} 2.11.1`),
      );
      inOrder(
        events,
        { host: "node1", event: "cfgupgrade", detail: "2.10 -> 2.11" },
        { host: "node2", event: "ensure-dirs" },
        { host: "node1", component: "masterd", version: "2.11.1", event: "started" },
        { host: "node1", component: "cluster", event: "verify", detail: "ok" },
        { host: "node1", component: "queue", event: "undrained" },
      );
      assert.deepEqual(await symlinks(ex), ["2.11.1", "2.11.1", "2.11.1"]);
      assert.equal(configVersion(ex), "2.11");
      assert.equal(drained(ex), false);
      assert.deepEqual(
        await memberStates(ex),
        MEMBERS.map((m) => `${m} 2.11.1 healthy`),
      );
    });
  });

  it("two SIGTERMs after cfgupgrade: the step in flight finishes, ferry stops resumable (130), rollback is refused, resume finishes the hop", async () => {
    await ganeti(async (ex) => {
      await setUp(ex);
      const held = gate(ex, {
        key: "run",
        command: "bin/ganeti ensure-dirs {{host}} {{version}}",
        when: "node2-2.11.1",
        name: "ensure-dirs-node2",
      });
      const before = ex.mark();
      const run = ex.start(["apply", "--to", "2.11.1", "--yes"]);
      await held.reached();
      process.kill(run.pid, "SIGTERM");
      await run.waitFor(/ignoring the signal and continuing to the end of hop/);
      process.kill(run.pid, "SIGTERM");
      await run.waitFor(/stopping: the steps in flight finish/);
      held.release();
      const r = await run.done;
      assert.equal(r.code, 130, run.output());

      // node2's ensure-dirs finished; nothing started after it: node3's not run, no daemon started.
      const stopped = ex.events(before);
      assert.deepEqual(
        all(stopped, { event: "ensure-dirs" }).map((e) => e.host),
        ["node1", "node2"],
      );
      assert.deepEqual(all(stopped, { version: "2.11.1", event: "started" }), []);
      assert.equal(drained(ex), true, "the queue stays drained while the run is stopped");
      const status = JSON.parse((await ex.ferry(["status", "--json"])).stdout);
      assert.equal(status.run?.pastPointOfNoReturn, true);
      const rollback = await ex.ferry(["rollback", "--yes"]);
      assert.equal(rollback.code, 3, `${rollback.stdout}\n${rollback.stderr}`);
      assert.equal(configVersion(ex), "2.11", "the refused rollback changed nothing");

      const resumed = await ex.ferry(["resume", "--yes"]);
      assert.equal(resumed.code, 0, `${resumed.stdout}\n${resumed.stderr}`);
      const events = ex.events(before);
      assert.deepEqual(
        all(events, { event: "ensure-dirs" }).map((e) => e.host),
        ["node1", "node2", "node3"],
      );
      assert.equal(all(events, { event: "cfgupgrade" }).length, 1);
      assert.deepEqual(await symlinks(ex), ["2.11.1", "2.11.1", "2.11.1"]);
      assert.equal(drained(ex), false);
      assert.deepEqual(
        await memberStates(ex),
        MEMBERS.map((m) => `${m} 2.11.1 healthy`),
      );
    });
  });

  it("ferry killed (-9) once cfgupgrade has changed the configuration: resume finds it done (its check), does not run it again, and finishes from the step after it", async () => {
    await ganeti(async (ex) => {
      await setUp(ex);
      // cfgupgrade has done its work and is still running when ferry dies.
      const held = gate(ex, {
        key: "run",
        command: "bin/ganeti cfgupgrade {{host}} {{version}}",
        when: "node1-2.11.1",
        name: "cfgupgrade",
        after: true,
      });
      const before = ex.mark();
      const run = ex.start(["apply", "--to", "2.11.1", "--yes"]);
      await held.reached();
      process.kill(run.pid, "SIGKILL");
      assert.equal((await run.done).signal, "SIGKILL");
      assert.equal(configVersion(ex), "2.11");

      const resumed = await ex.ferry(["resume", "--yes"]);
      const out = `${resumed.stdout}\n${resumed.stderr}`;
      assert.equal(resumed.code, 0, out);
      // The dead run's cfgupgrade is ended before its check runs, so nothing runs twice at once.
      assert.match(out, /left running on node1 \(process group \d+\) ended/);

      const events = ex.events(before);
      assert.deepEqual(
        all(events, { event: "cfgupgrade" }).map((e) => `${e.host} ${e.detail}`),
        ["node1 2.10 -> 2.11"],
        "the configuration upgraded once",
      );
      assert.deepEqual(all(events, { event: "start-refused" }), [], events.map(show).join("\n"));
      inOrder(
        events,
        { host: "node1", event: "cfgupgrade" },
        { host: "node1", event: "ensure-dirs", version: "2.11.1" },
        { host: "node1", component: "masterd", version: "2.11.1", event: "started" },
        { host: "node1", component: "queue", event: "undrained" },
      );
      assert.deepEqual(await symlinks(ex), ["2.11.1", "2.11.1", "2.11.1"]);
      assert.equal(drained(ex), false);
      assert.deepEqual(
        await memberStates(ex),
        MEMBERS.map((m) => `${m} 2.11.1 healthy`),
      );
    });
  });
});
