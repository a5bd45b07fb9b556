/**
 * The driver contract suite: one set of tests that every driver must pass unchanged (local, SSH,
 * in-memory). It uses only the command forms the in-memory driver knows — `true`, `false`,
 * `exit N`, `echo`, `printenv NAME`, `sleep S` and an unknown command — so that what it checks
 * is the contract, not a particular shell.
 */
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import { type Driver, describeExit, type ProcessGroup } from "../../src/drivers/index.js";

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

/** Where a command started with onStarted finds its marker. */
const MARKER = "FERRY_PROCESS";

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

    it("with onStarted, gives the command's process group first and holds the command until it is recorded", async () => {
      const seen: string[] = [];
      let group: ProcessGroup | undefined;
      const r = await driver().exec(`printenv ${MARKER}`, {
        onStarted: async (g) => {
          group = g;
          seen.push("started");
          // Ferry writes the journal here; the command must not have run yet when this ends.
          await new Promise((resolve) => setTimeout(resolve, 200));
          seen.push("recorded");
        },
        onOutput: () => seen.push("output"),
      });
      assert.ok(group, "onStarted was called");
      assert.ok(Number.isInteger(group.pgid) && group.pgid > 1, String(group.pgid));
      assert.match(group.marker, /^[0-9a-f]{16}$/);
      assert.deepEqual(seen, ["started", "recorded", "output"]);
      assert.equal(r.exitCode, 0);
      assert.equal(r.output, `${group.marker}\n`, "the command carries its marker");
      const plain = await driver().exec(`printenv ${MARKER}`);
      assert.equal(plain.exitCode, 1, "no marker without onStarted");
    });

    it("does not run a command whose onStarted rejects, and rejects saying why", async () => {
      const output: string[] = [];
      await assert.rejects(
        driver().exec("echo ran", {
          onStarted: async () => {
            throw new Error("the journal is down");
          },
          onOutput: (chunk) => output.push(chunk),
        }),
        /recording its process group failed: the journal is down/,
      );
      assert.deepEqual(output, []);
    });

    it("endGroup ends a running command's group when its marker matches, and leaves it alone otherwise", async () => {
      const d = driver();
      let recorded: (g: ProcessGroup) => void = () => {};
      const started = new Promise<ProcessGroup>((resolve) => {
        recorded = resolve;
      });
      const running = d.exec("sleep 30", { onStarted: async (g) => recorded(g) });
      const group = await started;
      assert.equal(await d.endGroup({ ...group, marker: "0123456789abcdef" }), "not-ours");
      const ended = await d.endGroup(group, { graceMs: 500 });
      assert.ok(ended === "terminated" || ended === "killed", ended);
      const r = await running;
      assert.equal(r.exitCode, null);
      assert.equal(r.signal, "SIGTERM");
      assert.equal(await d.endGroup(group), "gone");
    });

    it("closes idempotently", async () => {
      await driver().close();
      await driver().close();
    });
  });
}
