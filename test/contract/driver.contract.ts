/**
 * The driver contract suite: one set of tests that every driver must pass unchanged (local, SSH,
 * in-memory). It uses only the command forms the in-memory driver knows — `true`, `false`,
 * `exit N`, `echo`, `printenv NAME`, `sleep S` and an unknown command — so that what it checks
 * is the contract, not a particular shell.
 */
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import { type Driver, describeExit, type MarkedEnd } from "../../src/drivers/index.js";

export interface DriverFixture {
  readonly driver: Driver;
  /** Closes the driver and frees whatever make() set up. */
  cleanup(): Promise<void>;
}

export interface DriverSuite {
  readonly name: string;
  /** A fresh driver for each test. */
  make(): Promise<DriverFixture>;
}

/** Where a step's command carries its marker. */
const MARKER = "FERRY_PROCESS";

/** Asks `end` again until it finds something to end (a command just started may not run yet), at most 10 s. */
async function untilFound(end: () => Promise<MarkedEnd>): Promise<MarkedEnd> {
  for (const until = Date.now() + 10_000; ; ) {
    const r = await end();
    if (r.groups.length > 0) return r;
    assert.ok(Date.now() < until, "the marked command was never found running");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A variable nobody sets, so `printenv` of it fails on every host. */
const UNSET = "FERRY_CONTRACT_NEVER_SET";

export function describeDriver({ name, make }: DriverSuite): void {
  describe(`driver contract: ${name}`, () => {
    let fixture: DriverFixture | undefined;
    const driver = (): Driver => {
      assert.ok(fixture, "make() did not run");
      return fixture.driver;
    };

    beforeEach(async () => {
      fixture = await make();
    });
    afterEach(async () => {
      await fixture?.cleanup();
      fixture = undefined;
    });

    it("reports the command's exit code, with no signal", async () => {
      for (const [command, code] of [
        ["true", 0],
        ["false", 1],
        ["exit 3", 3],
      ] as const) {
        const r = await driver().exec(command);
        assert.equal(r.exitCode, code, command);
        assert.equal(r.signal, null, command);
        assert.equal(r.timedOut, false, command);
        assert.equal(r.aborted, false, command);
        assert.ok(r.durationMs >= 0, command);
      }
    });

    it("captures the command's output", async () => {
      const r = await driver().exec("echo hello from ferry");
      assert.equal(r.exitCode, 0);
      assert.equal(r.output, "hello from ferry\n");
    });

    it("passes options.env to the command", async () => {
      const r = await driver().exec("printenv FERRY_VERSION", { env: { FERRY_VERSION: "24.03.0" } });
      assert.equal(r.exitCode, 0, r.output);
      assert.equal(r.output, "24.03.0\n");

      const unset = await driver().exec(`printenv ${UNSET}`);
      assert.equal(unset.exitCode, 1);
      assert.equal(unset.output, "");
    });

    it("reports an unknown command as exit 127, command not found", async () => {
      const r = await driver().exec("ferry-contract-no-such-command");
      assert.equal(r.exitCode, 127);
      assert.match(r.output, /ferry-contract-no-such-command.*not found/);
      assert.equal(describeExit(r), "exit 127: command not found");
    });

    it("kills a command that outlives timeoutMs and says it timed out", async () => {
      const started = Date.now();
      const r = await driver().exec("sleep 5", { timeoutMs: 200 });
      assert.equal(r.timedOut, true);
      assert.equal(r.aborted, false);
      assert.equal(r.exitCode, null);
      assert.equal(r.signal, "SIGTERM");
      assert.equal(describeExit(r, 200), "timed out after 200ms (killed by SIGTERM)");
      assert.ok(Date.now() - started < 3000, `took ${Date.now() - started}ms for a 200ms timeout`);
    });

    it("kills a command when its signal aborts, and says it was interrupted", async () => {
      const controller = new AbortController();
      const started = Date.now();
      const pending = driver().exec("sleep 5", { signal: controller.signal });
      setTimeout(() => controller.abort(), 100);
      const r = await pending;
      assert.equal(r.aborted, true);
      assert.equal(r.timedOut, false);
      assert.equal(r.signal, "SIGTERM");
      assert.equal(describeExit(r), "interrupted (killed by SIGTERM)");
      assert.ok(Date.now() - started < 3000, `took ${Date.now() - started}ms to stop`);
    });

    it("does not run a command whose signal has already aborted", async () => {
      const controller = new AbortController();
      controller.abort();
      const r = await driver().exec("echo ran", { signal: controller.signal });
      assert.equal(r.aborted, true);
      assert.equal(r.exitCode, null);
      assert.equal(r.output, "");
    });

    it("streams output to onOutput as it arrives", async () => {
      const chunks: string[] = [];
      const r = await driver().exec("echo streamed", { onOutput: (chunk) => chunks.push(chunk) });
      assert.equal(chunks.join(""), "streamed\n");
      assert.equal(r.output, "streamed\n");
    });

    it("runs several commands at once, each with its own result", async () => {
      const d = driver();
      const [one, three, a, b, slept, no] = await Promise.all([
        d.exec("echo one"),
        d.exec("exit 3"),
        d.exec("printenv FERRY_HOST", { env: { FERRY_HOST: "h-a" } }),
        d.exec("printenv FERRY_HOST", { env: { FERRY_HOST: "h-b" } }),
        d.exec("sleep 0.3"),
        d.exec("false"),
      ]);
      assert.deepEqual(
        [one, three, a, b, slept, no].map((r) => [r.exitCode, r.output]),
        [
          [0, "one\n"],
          [3, ""],
          [0, "h-a\n"],
          [0, "h-b\n"],
          [0, ""],
          [1, ""],
        ],
      );
    });

    it("runs commands side by side, not one after another", async () => {
      const d = driver();
      const started = Date.now();
      const results = await Promise.all([1, 2, 3, 4].map(() => d.exec("sleep 1")));
      assert.deepEqual(
        results.map((r) => r.exitCode),
        [0, 0, 0, 0],
      );
      // One after another would take 4 s.
      assert.ok(Date.now() - started < 3500, `four 1 s sleeps took ${Date.now() - started}ms`);
    });

    it("explains how each command ended in words", async () => {
      const d = driver();
      assert.equal(describeExit(await d.exec("true")), "exit 0");
      assert.equal(describeExit(await d.exec("false")), "exit 1");
      assert.equal(describeExit(await d.exec("exit 3")), "exit 3");
    });

    it("endMarked ends the commands that carry one of the markers in FERRY_PROCESS, and no other", async () => {
      const d = driver();
      const [a, b, none] = ["00000000000000a1", "00000000000000b2", "00000000000000c3"];
      const first = d.exec("sleep 30", { env: { [MARKER]: a as string } });
      const second = d.exec("sleep 30", { env: { [MARKER]: b as string } });
      // Until it has started on the host, a command carries its marker nowhere to be found.
      const ended = await untilFound(() => d.endMarked([a as string, none as string], { graceMs: 500 }));
      assert.equal(ended.groups.length, 1);
      assert.ok(
        ended.groups.every((g) => Number.isInteger(g) && g > 1),
        String(ended.groups),
      );
      const r = await first;
      assert.deepEqual([r.exitCode, r.signal], [null, "SIGTERM"]);
      // The other command was still running: it is found now, and ended in turn.
      assert.equal((await untilFound(() => d.endMarked([b as string]))).groups.length, 1);
      assert.equal((await second).signal, "SIGTERM");
      assert.deepEqual(await d.endMarked([none as string]), { groups: [], killed: false });
    });

    it("closes idempotently", async () => {
      await driver().close();
      await driver().close();
    });
  });
}
