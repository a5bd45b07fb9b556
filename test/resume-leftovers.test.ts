/**
 * kill -9 of ferry while a step's command runs leaves that command running (it has its own
 * process group). `ferry resume` must end that group, and see it gone, before it runs the step
 * again: never two of the same command at once (DESIGN.md "Crash safety"). Judged from what the
 * commands themselves write, with their pids.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { processAlive } from "../src/run/process-alive.js";
import { allAt, until, withProduct } from "./support/fake-product.js";
import { startFerry } from "./support/run-ferry-async.js";

/** The marks h1's install writes, in order: [its pid, its count]. */
function marks(file: string): [number, number][] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => /^\d+ \d+$/.test(l))
    .map((l) => l.split(" ").map(Number) as [number, number]);
}

async function untilMark(file: string, test: (pid: number) => boolean, ms = 20_000): Promise<number> {
  for (const start = Date.now(); ; await sleep(20)) {
    const found = marks(file).find(([pid]) => test(pid));
    if (found) return found[0];
    if (Date.now() - start > ms) assert.fail(`no such mark in ${file} within ${ms} ms`);
  }
}

it("resume ends the process group of the step the dead ferry left running before it runs the step again", async () => {
  // h1's install writes a mark every 100 ms until the test says stop (at most 30 s).
  const loop =
    'if [ {{host}} = h1 ]; then i=0; while [ ! -e {{vars.root}}/stop ] && [ $i -lt 300 ]; do echo "$$ $i" >> {{vars.root}}/marks; sleep 0.1; i=$((i+1)); done; fi';
  const install = `${loop}; mkdir -p {{vars.root}}/{{host}}/{{component}}/versions/{{version}} && echo {{version}} > {{vars.root}}/{{host}}/{{component}}/versions/{{version}}/VERSION`;
  await withProduct({ hosts: 2, commands: { install } }, async (p, c) => {
    const root = join(p.dir, "hosts");
    const file = join(root, "marks");
    const first = startFerry(["apply", ...c, "--to", "1.0.1", "--yes"]);
    await until(file);
    process.kill(first.pid, "SIGKILL");
    assert.equal((await first.done).signal, "SIGKILL");
    const [[old]] = marks(file) as [[number, number]];
    assert.ok(processAlive(old), "the dead ferry's install goes on running");

    const resumed = startFerry(["resume", ...c, "--yes"]);
    const again = await untilMark(file, (pid) => pid !== old);
    assert.equal(processAlive(old), false, "the old install was gone before the new one began");
    writeFileSync(join(root, "stop"), "");
    const r = await resumed.done;
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(
      r.stdout,
      new RegExp(
        `1\\.0\\.1/roll/api/h1/install: what its command left running on h1 \\(process group ${old}\\) ended on SIGTERM`,
      ),
    );

    const pids = marks(file).map(([pid]) => pid);
    const firstOfNew = pids.indexOf(again);
    assert.ok(
      pids.slice(0, firstOfNew).every((pid) => pid === old) &&
        pids.slice(firstOfNew).every((pid) => pid === again),
      `the two installs wrote side by side: ${pids.join(" ")}`,
    );
    assert.ok(allAt(p, "1.0.1"), JSON.stringify(p.state()));
  });
});
