/**
 * An active-passive component through bin/ferry, over two hops: each hop asks its hosts their roles
 * when it reaches the component's roll, rather than predicting them from the first hop's switchover
 * (DESIGN.md: "the standby is upgraded first, then ferry switches over, then upgrades the former
 * active one"). What happened is read from the product's own log and its record of any member
 * stopped while it was the active one.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { it } from "node:test";
import { allAt, gate, reached, release, withProduct } from "./support/fake-product.js";
import { ferryAsync, startFerry } from "./support/run-ferry-async.js";

const ROOT = "{{vars.root}}";
/** Which host is active is the `active` file's word; a stop of that host is recorded as a fault. */
const ACTIVE_PASSIVE = [
  "    mode: active-passive",
  `    role: ${JSON.stringify(`test "$(cat ${ROOT}/active)" = {{host}} && echo active || echo standby`)}`,
  // The second hop's switchover makes its host active, then is held at a gate.
  `    switchover: ${JSON.stringify(`echo "{{host}} api switchover" >> ${ROOT}/log; echo {{host}} > ${ROOT}/active; if [ {{version}} = 1.0.2 ]; then ${gate("switching")}; fi`)}`,
].join("\n");
const STOP = `if [ "$(cat ${ROOT}/active)" = {{host}} ]; then echo {{host}} >> ${ROOT}/stopped-while-active; fi; rm -f ${ROOT}/{{host}}/{{component}}/running`;
/** Between the hops, an operator fails over to h3 (ferry would predict h2, its own switchover's host). */
const FAILOVER = `hooks: { after: { verify: "[ {{version}} != 1.0.1 ] || echo h3 > ${ROOT}/active" } }`;

it("a two-hop upgrade asks the roles at each hop: after a failover to h3 the second hop rolls h1, h2, switches to h1, then h3; a resume after a crash in its switchover keeps that order", async () => {
  await withProduct(
    { hosts: 3, componentExtra: ACTIVE_PASSIVE, commands: { stop: STOP }, extra: FAILOVER },
    async (p, c) => {
      const root = join(p.dir, "hosts");
      writeFileSync(join(root, "active"), "h1\n");
      const run = startFerry(["apply", ...c, "--to", "1.0.2", "--yes"]);
      // The second hop's switchover has made h1 active; ferry dies before the journal says it is done.
      await reached(p, "switching");
      process.kill(run.pid, "SIGKILL");
      assert.equal((await run.done).signal, "SIGKILL", run.output());
      release(p, "switching");

      const resumed = await ferryAsync(["resume", ...c, "--yes"]);
      assert.equal(resumed.code, 0, resumed.stdout + resumed.stderr);
      assert.ok(allAt(p, "1.0.2"), JSON.stringify(p.state()));
      assert.equal(
        readFileSync(join(root, "active"), "utf8").trim(),
        "h1",
        "switched over to the first standby",
      );
      const stopped = join(root, "stopped-while-active");
      assert.ok(
        !existsSync(stopped),
        `stopped while active: ${existsSync(stopped) && readFileSync(stopped, "utf8")}`,
      );

      const roll = p
        .log()
        .filter((l) => / api (stop|switchover)$/.test(l))
        .map((l) => l.replace(" api ", " "));
      assert.deepEqual(roll, [
        // First hop, h1 active: the standbys, a switchover to h2, then h1.
        "h2 stop",
        "h3 stop",
        "h2 switchover",
        "h1 stop",
        // Second hop, h3 active (asked, not predicted): h1, h2, a switchover to h1 (run again on
        // resume, its first run having been ended), then h3.
        "h1 stop",
        "h2 stop",
        "h1 switchover",
        "h1 switchover",
        "h3 stop",
      ]);
      const plan = JSON.parse((await ferryAsync(["history", ...c, "--json"])).stdout)[0];
      assert.equal(plan.status, "done");
    },
  );
});

it("the point of no return `before: { component, host: last }` sits before the host the roles make last: after a failover to h3 the second hop marks it after the switchover to h1, so a failure in h3's stop stops the run instead of rolling back", async () => {
  // The second hop's h3 fails to stop: past the point of no return only if the mark ran before it.
  const failingStop = `${STOP}; if [ {{host}} = h3 ] && [ {{version}} = 1.0.2 ]; then echo "h3 will not stop" >&2; exit 1; fi`;
  await withProduct(
    {
      hosts: 3,
      componentExtra: [
        "    mode: active-passive",
        `    role: ${JSON.stringify(`test "$(cat ${ROOT}/active)" = {{host}} && echo active || echo standby`)}`,
        `    switchover: ${JSON.stringify(`echo "{{host}} api switchover" >> ${ROOT}/log; echo {{host}} > ${ROOT}/active`)}`,
      ].join("\n"),
      commands: { stop: failingStop },
      extra: `${FAILOVER}\npointOfNoReturn: { before: { component: api, host: last } }`,
    },
    async (p, c) => {
      const root = join(p.dir, "hosts");
      writeFileSync(join(root, "active"), "h1\n");
      const r = await ferryAsync(["apply", ...c, "--to", "1.0.2", "--yes"]);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stdout + r.stderr, /past its point of no return/);
      const roll = p
        .log()
        .filter((l) => / api (stop|switchover)$/.test(l))
        .map((l) => l.replace(" api ", " "));
      assert.deepEqual(roll, [
        "h2 stop",
        "h3 stop",
        "h2 switchover",
        "h1 stop",
        // Second hop, h3 active (predicted: h2): the standbys, the switchover, the mark, then h3.
        "h1 stop",
        "h2 stop",
        "h1 switchover",
        "h3 stop",
      ]);
      const stopped = join(root, "stopped-while-active");
      assert.ok(
        !existsSync(stopped),
        `stopped while active: ${existsSync(stopped) && readFileSync(stopped, "utf8")}`,
      );
      assert.equal(readFileSync(join(root, "active"), "utf8").trim(), "h1", "nothing switched back");
      const status = JSON.parse((await ferryAsync(["status", ...c, "--json"])).stdout);
      assert.equal(status.run?.pastPointOfNoReturn, true, JSON.stringify(status.run));
    },
  );
});
