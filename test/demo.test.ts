/**
 * `ferry demo` end to end: the sample cluster upgraded through every release under load, with no
 * failed request, no lost write and no lost job; and Ctrl-C stops everything it started.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { it } from "node:test";
import { FERRY, ROOT } from "./support/run-ferry.js";
import { ferryAsync } from "./support/run-ferry-async.js";

/** Processes whose command line names `dir`: what the demo started there. */
function leftovers(dir: string): string[] {
  const r = spawnSync("pgrep", ["-af", dir], { encoding: "utf8" });
  return r.stdout.split("\n").filter((l) => l.trim() && !l.includes("pgrep"));
}

it("upgrades the sample cluster through every release under load, losing nothing", {
  timeout: 240_000,
}, async () => {
  const r = await ferryAsync(["demo", "--json"]);
  assert.equal(r.code, 0, r.stderr.slice(-2000));
  const report = JSON.parse(r.stdout);
  assert.deepEqual(Object.keys(report), [
    "path",
    "requests",
    "latencyMs",
    "writes",
    "jobs",
    "durationS",
    "finalVersion",
  ]);
  assert.deepEqual(report.path, ["1.0.0", "1.0.1", "1.1.1", "1.2.0"]);
  assert.equal(report.finalVersion, "1.2.0");
  assert.ok(report.requests.sent >= 2000, `${report.requests.sent} requests`);
  assert.equal(report.requests.failed, 0);
  assert.equal(report.writes.lost, 0);
  assert.ok(report.writes.acknowledged > 0);
  assert.equal(report.jobs.lost, 0);
  assert.equal(report.jobs.completed, report.jobs.enqueued);
});

it("on Ctrl-C rolls the hop back and stops every process it started", { timeout: 120_000 }, async () => {
  const child = spawn(FERRY, ["demo"], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d) => {
    out += d;
  });
  child.stderr.on("data", (d) => {
    out += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
  // The named point: the upgrade has begun a host's roll.
  for (let i = 0; i < 600 && !/running +1\.0\.1\/roll\/api\/h1\/stop/.test(out); i++)
    await new Promise((r) => setTimeout(r, 100));
  const root = /the sample cluster in (\S+):/.exec(out)?.[1];
  assert.ok(root, out);
  child.kill("SIGINT");
  const code = await exited;
  assert.equal(code, 130, out.slice(-2000));
  assert.match(out, /Rolled back/);
  assert.deepEqual(leftovers(root), []);
  assert.equal(existsSync(root), false, "its folder is gone");
});
