/**
 * `--json` event streams of apply, resume and rollback, the per-run JSON log, and who started a
 * run in `ferry history`, through the real executable on the fake product.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { type FakeProduct, type FakeProductOptions, makeFakeProduct } from "./support/fake-product.js";
import { ferryAsync } from "./support/run-ferry-async.js";

type Line = Record<string, unknown>;

async function withProduct(
  options: FakeProductOptions,
  body: (p: FakeProduct, c: string[]) => Promise<void>,
) {
  const p = makeFakeProduct(options);
  try {
    await body(p, ["-c", p.clusterFile]);
  } finally {
    p.cleanup();
  }
}

/** Every stdout line must be one JSON object: nothing else may be there. */
function events(stdout: string): Line[] {
  return stdout
    .trimEnd()
    .split("\n")
    .map((line) => {
      try {
        return JSON.parse(line);
      } catch {
        throw new Error(`not a JSON line on stdout: ${line}`);
      }
    });
}

function runLog(p: FakeProduct, runId: unknown): Line[] {
  const file = join(p.dir, "state", "logs", `${String(runId)}.jsonl`);
  assert.ok(existsSync(file), `${file} exists`);
  return readFileSync(file, "utf8")
    .trimEnd()
    .split("\n")
    .map((l) => JSON.parse(l));
}

/** Each step's install says what it does, so the log and the stream have output to carry. */
const SAYS = {
  install:
    "echo 'unpacking {{version}}'; mkdir -p {{vars.root}}/{{host}}/{{component}}/versions/{{version}} && echo {{version}} > {{vars.root}}/{{host}}/{{component}}/versions/{{version}}/VERSION; echo 'installed {{version}} on {{host}}'",
};

describe("apply --json", () => {
  it("streams one event per line: the plan's outline first, step transitions and output, and the result last", async () => {
    await withProduct({ hosts: 2, commands: SAYS }, async (_p, c) => {
      const r = await ferryAsync(["apply", ...c, "--to", "1.0.2", "--yes", "--json"]);
      assert.equal(r.code, 0, r.stderr);
      const all = events(r.stdout);
      for (const e of all) {
        assert.equal(typeof e.type, "string");
        assert.ok(!Number.isNaN(Date.parse(String(e.time))), "every event has its time");
      }
      const first = all[0] as Line;
      assert.equal(first.type, "start");
      assert.deepEqual(first.path, ["1.0.0", "1.0.1", "1.0.2"]);
      assert.deepEqual(first.steps, { total: 26, done: 0 });
      const hops = first.hops as { id: string; phases: { name: string; steps: number }[] }[];
      assert.deepEqual(
        hops.map((h) => h.id),
        ["1.0.1", "1.0.2"],
      );
      assert.deepEqual(
        hops[0]?.phases.map((ph) => [ph.name, ph.steps]),
        [
          ["preflight", 1],
          ["roll", 10],
          ["point-of-no-return", 1],
          ["verify", 1],
        ],
      );
      const install = all.filter((e) => e.type === "step" && e.id === "1.0.1/roll/api/h2/install");
      assert.deepEqual(
        install.map((e) => [e.state, e.host, e.exitCode, e.lastLine]),
        [
          ["running", "h2", undefined, undefined],
          ["done", "h2", 0, "installed 1.0.1 on h2"],
        ],
      );
      const output = all.filter((e) => e.type === "output" && e.id === "1.0.1/roll/api/h2/install");
      assert.deepEqual(
        output.map((e) => e.line),
        ["unpacking 1.0.1", "installed 1.0.1 on h2"],
      );
      const last = all.at(-1) as Line;
      assert.deepEqual(
        [last.type, last.status, last.reason, last.exitCode, last.runId],
        ["result", "done", "completed", 0, first.runId],
      );
      assert.equal(all.filter((e) => e.type === "result").length, 1);
    });
  });

  it("a failed and rolled-back run ends with a result that names the failed step and exit 1", async () => {
    await withProduct({ hosts: 2, commands: { install: "echo 'disk full'; exit 4" } }, async (_p, c) => {
      const r = await ferryAsync(["apply", ...c, "--to", "1.0.1", "--yes", "--json"]);
      assert.equal(r.code, 1);
      const all = events(r.stdout);
      const last = all.at(-1) as Line;
      assert.deepEqual([last.type, last.status, last.exitCode], ["result", "rolled-back", 1]);
      const failed = last.failed as Line;
      assert.deepEqual([failed.id, failed.host, failed.exitCode], ["1.0.1/roll/api/h1/install", "h1", 4]);
      assert.ok(all.some((e) => e.type === "step" && e.state === "undone"));
      assert.ok(all.some((e) => e.type === "run" && e.status === "rolled-back"));
    });
  });

  it("a refusal before any run is still one JSON line on stdout, a result with the error", async () => {
    await withProduct({}, async (_p, c) => {
      const r = await ferryAsync(["resume", ...c, "--yes", "--json"]);
      assert.equal(r.code, 3);
      const all = events(r.stdout);
      assert.equal(all.length, 1);
      const [result] = all as [Line];
      assert.deepEqual([result.type, result.exitCode, (result.error as Line).kind], ["result", 3, "refused"]);
      assert.match(r.stderr, /no unfinished run/);
    });
  });
});

describe("the run log", () => {
  it("has a JSON line per event with the step id, host, state, exit code and the output's last line", async () => {
    await withProduct({ hosts: 2, commands: SAYS }, async (p, c) => {
      const r = await ferryAsync(["apply", ...c, "--to", "1.0.1", "--yes", "--json"]);
      assert.equal(r.code, 0, r.stderr);
      const runId = (events(r.stdout).at(-1) as Line).runId;
      const log = runLog(p, runId);
      for (const line of log) {
        assert.equal(line.runId, runId);
        assert.ok("step" in line, "every line has its step, null for the run");
        assert.ok(!Number.isNaN(Date.parse(String(line.time))));
      }
      assert.deepEqual(log[0], {
        ...log[0],
        step: null,
        event: "start",
        from: "1.0.0",
        to: "1.0.1",
        steps: 13,
      });
      const done = log.find((l) => l.step === "1.0.1/roll/api/h1/install" && l.state === "done");
      assert.deepEqual(
        [done?.host, done?.component, done?.exitCode, done?.output],
        ["h1", "api", 0, "installed 1.0.1 on h1"],
      );
      assert.equal(typeof done?.durationMs, "number");
      const said = log.filter((l) => l.event === "output" && l.step === "1.0.1/roll/api/h1/install");
      assert.deepEqual(
        said.map((l) => [l.host, l.line]),
        [
          ["h1", "unpacking 1.0.1"],
          ["h1", "installed 1.0.1 on h1"],
        ],
      );
      // Every step ran and finished: 13 steps, each running then done.
      const steps = log.filter((l) => l.event === "step");
      assert.equal(steps.length, 26);
      assert.ok(steps.every((l) => typeof l.step === "string" && l.step !== ""));
      assert.deepEqual(log.at(-1), { ...log.at(-1), step: null, event: "run", status: "done" });
    });
  });

  it("of a failed run: the failure with its exit code and last line, each undo, and the rollback", async () => {
    await withProduct(
      { hosts: 2, commands: { install: "echo 'checking space'; echo 'disk full'; exit 4" } },
      async (p, c) => {
        const r = await ferryAsync(["apply", ...c, "--to", "1.0.1", "--yes"]);
        assert.equal(r.code, 1);
        const [{ id }] = JSON.parse((await ferryAsync(["history", ...c, "--json"])).stdout);
        const log = runLog(p, id);
        const failed = log.find((l) => l.state === "failed");
        assert.deepEqual(
          [failed?.step, failed?.host, failed?.exitCode, failed?.output],
          ["1.0.1/roll/api/h1/install", "h1", 4, "disk full"],
        );
        assert.match(String(failed?.error), /exit 4: disk full/);
        const undone = log.filter((l) => l.state === "undone").map((l) => l.step);
        assert.deepEqual(undone, [
          "1.0.1/roll/api/h1/install",
          "1.0.1/roll/api/h1/stop",
          "1.0.1/preflight/cluster",
        ]);
        const statuses = log.filter((l) => l.event === "run").map((l) => l.status);
        assert.deepEqual(statuses, ["running", "rolling-back", "rolling-back", "rolled-back"]);
      },
    );
  });

  it("a resumed run appends to the same log", async () => {
    await withProduct({ hosts: 2 }, async (p, c) => {
      const crashed = await ferryAsync(["apply", ...c, "--to", "1.0.1", "--yes"], {
        FERRY_FAULT: "journal#6",
      });
      assert.equal(crashed.signal, "SIGKILL");
      const resumed = await ferryAsync(["resume", ...c, "--yes", "--json"]);
      assert.equal(resumed.code, 0, resumed.stderr);
      const log = runLog(p, (events(resumed.stdout).at(-1) as Line).runId);
      const starts = log.filter((l) => l.event === "start");
      assert.equal(starts.length, 2, "one start per process that ran it");
      // journal#6 is api/h1/install starting: the run, preflight and api/h1/stop were recorded before it.
      assert.ok(
        log.some((l) => l.step === "1.0.1/roll/api/h1/stop" && l.state === "done"),
        "the killed process's lines up to its last step are there",
      );
      assert.equal(starts[1]?.done, 2, "the resume found two steps done");
      assert.equal(log.at(-1)?.status, "done");
    });
  });
});

describe("ferry history", () => {
  it("lists id, from, to, result, duration, who and when, newest first; FERRY_USER names who", async () => {
    await withProduct({ hosts: 1 }, async (_p, c) => {
      assert.equal(
        (await ferryAsync(["apply", ...c, "--to", "1.0.1", "--yes"], { FERRY_USER: "alice" })).code,
        0,
      );
      assert.equal((await ferryAsync(["apply", ...c, "--to", "1.0.2", "--yes"])).code, 0);
      const json = JSON.parse((await ferryAsync(["history", ...c, "--json"])).stdout);
      assert.deepEqual(
        json.map((r: Line) => [r.from, r.to, r.status]),
        [
          ["1.0.1", "1.0.2", "done"],
          ["1.0.0", "1.0.1", "done"],
        ],
      );
      assert.equal(json[1].startedBy, "alice");
      assert.match(json[0].startedBy, /^[^@\s]+@\S+$/, "without FERRY_USER: user@host");

      const text = (await ferryAsync(["history", ...c])).stdout.trimEnd().split("\n");
      assert.match(text[0] ?? "", /^ID +FROM +TO +RESULT +DURATION +WHO +STARTED$/);
      assert.match(
        text[2] ?? "",
        new RegExp(
          `^${json[1].id} +1\\.0\\.0 +1\\.0\\.1 +done +\\d+\\.\\ds +alice +\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ$`,
        ),
      );
      assert.equal(text.length, 3);
    });
  });
});
