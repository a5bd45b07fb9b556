/** ferry's own graceful stop of a process by its pid file: SIGTERM, a grace period, then SIGKILL. */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, it } from "node:test";
import { gracefulStop } from "../src/cluster/cluster.js";
import { LocalDriver } from "../src/drivers/index.js";

const dir = mkdtempSync(join(tmpdir(), "ferry-stop-"));
const driver = new LocalDriver({ host: "h1" });
after(async () => {
  await driver.close();
  rmSync(dir, { recursive: true, force: true });
});

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function background(name: string, script: string): Promise<{ file: string; pid: number }> {
  const file = join(dir, `${name}.pid`);
  // setsid: the process outlives the command that starts it, as a service does.
  await driver.exec(`setsid sh -c '${script}' > /dev/null 2>&1 < /dev/null & echo $! > ${file}`);
  await new Promise((r) => setTimeout(r, 200));
  return { file, pid: Number(readFileSync(file, "utf8")) };
}

it("sends SIGTERM and reports how long the process took to exit", async () => {
  const p = await background("polite", "exec sleep 30");
  const r = await driver.exec(gracefulStop(p.file, 5000));
  assert.equal(r.exitCode, 0, r.output);
  assert.match(r.output, new RegExp(`SIGTERM to pid ${p.pid}\\n`));
  assert.match(r.output, new RegExp(`pid ${p.pid} exited after \\d+\\.\\d s`));
  assert.equal(alive(p.pid), false);
});

it("sends SIGKILL to a process that ignores SIGTERM once the grace period is over, and says so", async () => {
  const p = await background("stubborn", 'trap "" TERM; while :; do sleep 1; done');
  const started = Date.now();
  const r = await driver.exec(gracefulStop(p.file, 600));
  assert.equal(r.exitCode, 0, r.output);
  assert.match(r.output, new RegExp(`pid ${p.pid} still running after 600 ms: SIGKILL`));
  assert.ok(Date.now() - started >= 600, "it waited the grace period first");
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(alive(p.pid), false);
});

it("treats a missing pid file or a dead pid as stopped", async () => {
  const r = await driver.exec(gracefulStop(join(dir, "none.pid"), 1000));
  assert.equal(r.exitCode, 0);
  assert.match(r.output, /not running/);
});
