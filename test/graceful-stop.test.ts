/** ferry's own graceful stop of a process by its pid file: SIGTERM, a grace period, then SIGKILL. */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { gracefulStop } from "../src/cluster/cluster.js";
import { LocalDriver } from "../src/drivers/index.js";
import { processAlive } from "../src/run/process-alive.js";

const dir = mkdtempSync(join(tmpdir(), "ferry-stop-"));
const driver = new LocalDriver({ host: "h1" });
/** Parents that never reap their children, ended by pid when the tests are done. */
const parents: number[] = [];
after(async () => {
  for (const pid of parents) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  await driver.close();
  rmSync(dir, { recursive: true, force: true });
});

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
  assert.equal(processAlive(p.pid), false);
});

it("sends SIGKILL to a process that ignores SIGTERM once the grace period is over, and says so", async () => {
  const p = await background("stubborn", 'trap "" TERM; while :; do sleep 1; done');
  const started = Date.now();
  const r = await driver.exec(gracefulStop(p.file, 600));
  assert.equal(r.exitCode, 0, r.output);
  assert.match(r.output, new RegExp(`pid ${p.pid} still running after 600 ms: SIGKILL`));
  assert.ok(Date.now() - started >= 600, "it waited the grace period first");
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(processAlive(p.pid), false);
});

/**
 * A real zombie: a child that has exited while its parent, which never waits for children, lives
 * on. `kill -0` still succeeds for it. `script` runs as the child (in the background); the parent
 * then becomes `sleep 60`, which reaps nothing. Returns the child's pid file and both pids.
 */
async function orphanedChild(
  name: string,
  script: string,
): Promise<{ file: string; pid: number; parent: number }> {
  const file = join(dir, `${name}.pid`);
  const parentFile = join(dir, `${name}-parent.pid`);
  await driver.exec(
    `setsid sh -c 'echo $$ > ${parentFile}; ${script} & echo $! > ${file}; exec sleep 60' > /dev/null 2>&1 < /dev/null &`,
  );
  for (let i = 0; i < 100 && !(existsSync(file) && readFileSync(file, "utf8").endsWith("\n")); i++)
    await sleep(20);
  const pid = Number(readFileSync(file, "utf8"));
  const parent = Number(readFileSync(parentFile, "utf8"));
  parents.push(parent);
  return { file, pid, parent };
}

/** The state letter of a process in /proc/PID/stat (after its name, which may hold anything). */
function state(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0];
  } catch {
    return undefined;
  }
}

async function untilZombie(pid: number): Promise<void> {
  for (let i = 0; i < 250 && state(pid) !== "Z"; i++) await sleep(20);
  assert.equal(state(pid), "Z", `pid ${pid} is a zombie`);
}

it("treats a zombie (exited, its parent not reaping it) as stopped, and signals nothing", async () => {
  const z = await orphanedChild("zombie", "sleep 0.2");
  await untilZombie(z.pid);
  const r = await driver.exec(gracefulStop(z.file, 5000));
  assert.equal(r.exitCode, 0, r.output);
  assert.equal(r.output, `pid ${z.pid}: not running\n`);
  assert.equal(state(z.parent), "S", "its parent lives on");
});

it("counts a process that exits on SIGTERM as stopped even when it is left a zombie", async () => {
  const p = await orphanedChild("left-zombie", "exec sleep 30");
  const r = await driver.exec(gracefulStop(p.file, 5000));
  assert.equal(r.exitCode, 0, r.output);
  assert.match(r.output, new RegExp(`SIGTERM to pid ${p.pid}\\npid ${p.pid} exited after \\d+\\.\\d s\\n$`));
  assert.doesNotMatch(r.output, /SIGKILL/);
  assert.equal(state(p.pid), "Z", "unreaped: kill -0 would still call it alive");
  assert.equal(processAlive(p.pid), false);
});

it("treats a missing pid file or a dead pid as stopped", async () => {
  const r = await driver.exec(gracefulStop(join(dir, "none.pid"), 1000));
  assert.equal(r.exitCode, 0);
  assert.match(r.output, /not running/);
});
