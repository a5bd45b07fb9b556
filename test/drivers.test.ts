/**
 * The drivers: the shared contract on the local and in-memory drivers, then what only one of them
 * can show — process groups, kill escalation and bounded output on a real machine; handlers and
 * history in memory.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { describeExit, LocalDriver, MemoryDriver, OUTPUT_TAIL_BYTES } from "../src/drivers/index.js";
import { describeDriver } from "./contract/driver.contract.js";

describeDriver({
  name: "LocalDriver",
  make: async () => {
    const driver = new LocalDriver({ host: "local" });
    return { driver, cleanup: () => driver.close() };
  },
});

describeDriver({
  name: "MemoryDriver",
  make: async () => {
    const driver = new MemoryDriver({ host: "memory" });
    return { driver, cleanup: () => driver.close() };
  },
});

/** Whether a process runs; a zombie (dead, not yet reaped by its new parent) does not. */
async function isRunning(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/** Waits up to `ms` for a process to go; signals are delivered asynchronously. */
async function isGoneWithin(pid: number, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (!(await isRunning(pid))) return true;
    await delay(25);
  }
  return !(await isRunning(pid));
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // already gone
  }
}

describe("LocalDriver", () => {
  let dir = "";
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "ferry-drivers-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("kills the whole process group on timeout, background children included", async () => {
    const driver = new LocalDriver({ host: "local" });
    const pidFile = join(dir, "grandchild.pid");
    try {
      const r = await driver.exec(`sleep 30 & echo $! > ${pidFile}; wait`, { timeoutMs: 300 });
      assert.equal(r.timedOut, true);
      const pid = Number(await readFile(pidFile, "utf8"));
      assert.ok(pid > 0);
      const gone = await isGoneWithin(pid, 2000);
      if (!gone) killQuietly(pid);
      assert.ok(gone, `the background sleep ${pid} survived the timeout`);
    } finally {
      await driver.close();
    }
  });

  it("SIGKILLs a command that ignores SIGTERM once killGraceMs has passed", async () => {
    const driver = new LocalDriver({ host: "local" });
    try {
      const started = Date.now();
      const r = await driver.exec(`trap "" TERM; sleep 30`, { timeoutMs: 200, killGraceMs: 300 });
      assert.equal(r.timedOut, true);
      assert.equal(r.signal, "SIGKILL");
      assert.equal(describeExit(r, 200), "timed out after 200ms (killed by SIGKILL)");
      // The grace period is a promise to the command: it is never cut short.
      assert.ok(r.durationMs >= 450, `SIGKILL came after ${r.durationMs}ms`);
      assert.ok(Date.now() - started < 3000, `took ${Date.now() - started}ms`);
    } finally {
      await driver.close();
    }
  });

  it("keeps only the tail of a large output, ending with the last line", async () => {
    const driver = new LocalDriver({ host: "local" });
    let streamed = 0;
    try {
      // About 5 MB: 80 000 lines of 64 bytes.
      const line = "x".repeat(63);
      const r = await driver.exec(`yes ${line} | head -n 80000; echo the-last-line`, {
        onOutput: (chunk) => {
          streamed += Buffer.byteLength(chunk);
        },
      });
      assert.equal(r.exitCode, 0, describeExit(r));
      assert.ok(r.output.length <= OUTPUT_TAIL_BYTES, `kept ${r.output.length} characters`);
      assert.ok(Buffer.byteLength(r.output) <= OUTPUT_TAIL_BYTES);
      assert.ok(r.output.endsWith(`${line}\nthe-last-line\n`));
      assert.equal(streamed, 80_000 * 64 + "the-last-line\n".length, "onOutput saw every byte");
    } finally {
      await driver.close();
    }
  });

  it("decodes multi-byte characters split across chunks without garbling them", async () => {
    const driver = new LocalDriver({ host: "local" });
    const chunks: string[] = [];
    try {
      const r = await driver.exec(`yes 'é€😀' | head -n 100000`, { onOutput: (c) => chunks.push(c) });
      assert.equal(r.exitCode, 0);
      assert.ok(chunks.length > 1, "the output came in one chunk; the test proves nothing");
      const all = chunks.join("");
      assert.equal(all, "é€😀\n".repeat(100_000));
      assert.ok(!r.output.includes("\uFFFD"), "the tail holds a replacement character");
      assert.ok(r.output.endsWith("é€😀\n"));
      assert.ok(Buffer.byteLength(r.output) <= OUTPUT_TAIL_BYTES);
    } finally {
      await driver.close();
    }
  });

  it("close() kills a running command and what it started", async () => {
    const driver = new LocalDriver({ host: "local" });
    const pidFile = join(dir, "close.pid");
    const started = Date.now();
    const pending = driver.exec(`sleep 30 & echo $! > ${pidFile}; wait`);
    // Wait until the command has started its child.
    while (!(await readFile(pidFile, "utf8").catch(() => ""))) await delay(20);
    const pid = Number(await readFile(pidFile, "utf8"));
    await driver.close();
    const r = await pending;
    assert.equal(r.signal, "SIGKILL");
    assert.equal(r.aborted, true);
    assert.ok(Date.now() - started < 3000);
    const gone = await isGoneWithin(pid, 2000);
    if (!gone) killQuietly(pid);
    assert.ok(gone, `the background sleep ${pid} survived close()`);
    await assert.rejects(driver.exec("true"), /closed/);
  });

  it("returns once the shell exits, even if a daemon it started holds the output open", async () => {
    const driver = new LocalDriver({ host: "local" });
    let pid = 0;
    try {
      const started = Date.now();
      const r = await driver.exec("sleep 30 & echo $!");
      pid = Number(r.output.trim());
      assert.equal(r.exitCode, 0);
      assert.ok(pid > 0, r.output);
      assert.ok(Date.now() - started < 3000, `took ${Date.now() - started}ms`);
      // A command that finished is never killed afterwards, not even by close(): the daemon stays.
      await driver.close();
      assert.equal(await isRunning(pid), true, "close() killed what a finished command left running");
    } finally {
      if (pid > 0) killQuietly(pid);
      await driver.close();
    }
  });

  it("keeps output waiting in the pipe when ferry's event loop was busy past the drain wait", async () => {
    // Many commands at once on a loaded machine (ferry fleet plan asks 16 clusters at once) can
    // keep the loop busy longer than the 200 ms wait after the shell's exit: output already in the
    // pipe was then lost, and a version command "printed nothing".
    const driver = new LocalDriver({ host: "local" });
    try {
      const running = driver.exec("(sleep 0.1; echo late) & echo early");
      await delay(100);
      // Busy in the loop's check phase, as a burst of callbacks would be: the next phase to run is
      // the timers', before any read of the pipe. The late line reaches it and the wait runs out meanwhile.
      await new Promise<void>((resolve) =>
        setImmediate(() => {
          const busyUntil = Date.now() + 600;
          while (Date.now() < busyUntil) {}
          resolve();
        }),
      );
      const r = await running;
      assert.equal(r.exitCode, 0);
      assert.equal(r.output, "early\nlate\n");
    } finally {
      await driver.close();
    }
  });

  it("does not give the command ferry's stdin", async () => {
    const driver = new LocalDriver({ host: "local" });
    try {
      const r = await driver.exec("cat", { timeoutMs: 5000 });
      assert.equal(r.timedOut, false, "cat waited for input");
      assert.equal(r.exitCode, 0);
      assert.equal(r.output, "");
    } finally {
      await driver.close();
    }
  });

  it("interleaves stdout and stderr, and the command's env still includes ferry's", async () => {
    const driver = new LocalDriver({ host: "local" });
    try {
      const r = await driver.exec('echo out; sleep 0.1; echo err >&2; sleep 0.1; echo out2; test -n "$PATH"');
      assert.equal(r.exitCode, 0);
      assert.equal(r.output, "out\nerr\nout2\n");
    } finally {
      await driver.close();
    }
  });
});

describe("MemoryDriver", () => {
  it("asks the handler first and falls back to the built-in commands", async () => {
    const driver = new MemoryDriver({
      host: "h1",
      handler: (command, ctx) =>
        command === "cat VERSION"
          ? { output: `24.03.0 on ${ctx.host}\n` }
          : command === "boom"
            ? { exitCode: 2 }
            : undefined,
    });
    assert.deepEqual(
      [await driver.exec("cat VERSION"), await driver.exec("boom"), await driver.exec("echo plain")].map(
        (r) => [r.exitCode, r.output],
      ),
      [
        [0, "24.03.0 on h1\n"],
        [2, ""],
        [0, "plain\n"],
      ],
    );
  });

  it("lets a reply take time, and a timeout cut it short after its output", async () => {
    const driver = new MemoryDriver({
      host: "h1",
      handler: () => ({ output: "starting\n", delayMs: 300, exitCode: 0 }),
    });
    const slow = await driver.exec("start");
    assert.equal(slow.exitCode, 0);
    assert.ok(slow.durationMs >= 250, `ran for ${slow.durationMs}ms`);

    const cut = await driver.exec("start", { timeoutMs: 50 });
    assert.equal(cut.timedOut, true);
    assert.equal(cut.signal, "SIGTERM");
    assert.equal(cut.output, "starting\n");
  });

  it("gives the handler the env and a signal that aborts when the command is stopped", async () => {
    let seen: { env: Record<string, string>; stopped: boolean } | undefined;
    const driver = new MemoryDriver({
      host: "h1",
      handler: async (_command, ctx) => {
        await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve, { once: true }));
        seen = { env: { ...ctx.env }, stopped: ctx.signal.aborted };
        return undefined;
      },
    });
    const r = await driver.exec("hang", { env: { FERRY_HOST: "h1" }, timeoutMs: 50 });
    assert.equal(r.timedOut, true);
    await delay(0);
    assert.deepEqual(seen, { env: { FERRY_HOST: "h1" }, stopped: true });
  });

  it("rejects when the handler throws, as a driver that cannot reach its host", async () => {
    const driver = new MemoryDriver({
      host: "h2",
      handler: () => {
        throw new Error("connection lost");
      },
    });
    await assert.rejects(driver.exec("true"), /connection lost/);
  });

  it("records every command it ran, in order, with its env", async () => {
    const driver = new MemoryDriver({ host: "h1" });
    await driver.exec("echo a");
    await driver.exec("printenv X", { env: { X: "1" } });
    await driver.exec("exit 4");
    assert.deepEqual(driver.history, [
      { command: "echo a", env: {} },
      { command: "printenv X", env: { X: "1" } },
      { command: "exit 4", env: {} },
    ]);
  });

  it("splits quoted words as sh would", async () => {
    const driver = new MemoryDriver({ host: "h1" });
    const r = await driver.exec(`echo "two  spaces" 'single' plain`);
    assert.equal(r.output, "two  spaces single plain\n");
  });

  it("close() ends running commands as killed, and refuses new ones", async () => {
    const driver = new MemoryDriver({ host: "h1" });
    const pending = driver.exec("sleep 30");
    await driver.close();
    const r = await pending;
    assert.equal(r.aborted, true);
    assert.equal(r.signal, "SIGKILL");
    await assert.rejects(driver.exec("true"), /closed/);
  });
});
