/**
 * `ferry demo` end to end: the sample cluster upgraded through every release under load, with no
 * failed request, no lost write and no lost job; and Ctrl-C stops everything it started.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { it } from "node:test";
import { RunEvents, runDemo } from "../src/index.js";
import { makeDatabase, unavailable } from "./support/databases.js";
import { noPseudoTerminal, onTerminal, withoutEscapes } from "./support/pseudo-terminal.js";
import { FERRY, ROOT } from "./support/run-ferry.js";
import { ferryAsync } from "./support/run-ferry-async.js";

// Every await before the first test is declared: node's runner starts once a file's top level ends.
const noPostgres = await unavailable("postgres");
const onPostgres = noPostgres && process.env.CI !== "true" ? { skip: noPostgres } : {};

/** Processes whose command line names `dir`: what the demo started there. */
function leftovers(dir: string): string[] {
  const r = spawnSync("pgrep", ["-af", dir], { encoding: "utf8" });
  return r.stdout.split("\n").filter((l) => l.trim() && !l.includes("pgrep"));
}

/** The demo's report, checked for what the issue promises: every hop, and nothing lost. */
function assertClean(r: { code: number | null; stdout: string; stderr: string }): void {
  assert.equal(r.code, 0, `stdout: ${r.stdout.slice(-2000)}\nstderr: ${r.stderr.slice(-2000)}`);
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
}

it("upgrades the sample cluster through every release under load, losing nothing", {
  timeout: 240_000,
}, async () => {
  // A crash tests' kill point left in the environment is not the demo's business: it runs on.
  assertClean(await ferryAsync(["demo", "--json"], { FERRY_FAULT: "journal#3" }));
});

it("counts the requests sent during the upgrade, its first step to its last, and reports the upgrade's own duration", {
  timeout: 240_000,
}, async () => {
  // The upgrade's span as the run's events tell it, watched beside the demo's own count.
  const events = new RunEvents();
  let from: number | undefined;
  let to: number | undefined;
  events.on((e) => {
    if (e.type !== "step") return;
    if (e.state === "running") from ??= Date.now();
    else if (e.state === "done" || e.state === "failed" || e.state === "undone") to = Date.now();
  });
  const report = await runDemo({ events });
  assert.ok(from !== undefined && to !== undefined, "steps ran");
  const spanS = (to - from) / 1000;
  assert.ok(
    Math.abs(report.durationS - spanS) <= 0.15,
    `durationS ${report.durationS} for an upgrade of ${spanS.toFixed(2)} s`,
  );
  assert.ok(report.requests.sent >= 2000, `${report.requests.sent} requests during the upgrade`);
  assert.equal(report.requests.failed, 0);
  assert.deepEqual(report.problems, []);
});

it("does the same over PostgreSQL, and leaves the database it was lent empty", {
  timeout: 240_000,
  ...onPostgres,
}, async () => {
  const db = await makeDatabase("postgres");
  try {
    assertClean(await ferryAsync(["demo", "--json", "--database", db.url]));
    assert.deepEqual(await db.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"), []);
  } finally {
    await db.drop();
  }
});

it("refuses a database that already holds a product, and changes nothing in it", onPostgres, async () => {
  const db = await makeDatabase("postgres");
  try {
    await db.query(
      "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes VALUES (1, 'mine')",
    );
    const r = await ferryAsync(["demo", "--database", db.url]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /already has table notes; the demo needs an empty database and changed nothing/);
    assert.deepEqual(await db.query("SELECT id, body FROM notes"), [{ id: 1, body: "mine" }]);
    assert.deepEqual(
      (await db.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).map((t) => t.tablename),
      ["notes"],
    );
  } finally {
    await db.drop();
  }
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

it("on a terminal draws the live tree with the load's figures under it, and ends on the summary", {
  skip: noPseudoTerminal,
  timeout: 240_000,
}, async () => {
  const term = onTerminal(["demo"], { cols: 120, rows: 40 });
  // The tree while the upgrade runs, with the load's figures under it.
  await term.waitFor(/load: \d+ requests\/s, \d+ failed, p99 \d+ ms \(last 3 s\)/, 120_000);
  const { code, screen } = await term.done;
  assert.equal(code, 0, withoutEscapes(screen).slice(-3000));
  const plain = withoutEscapes(screen);
  assert.match(plain, /ferry upgrade notes-demo 1\.0\.0 → 1\.2\.0 {2}run \S+/);
  assert.match(
    plain,
    /✓ \S+ → 1\.2\.0 {2}\S+, rolling {2}(\d+)\/\1 steps/,
    "the last hop folded, every step done",
  );
  assert.doesNotMatch(plain, /^\d\d:\d\d:\d\d running /m, "no plain lines scroll by on a terminal");
  // The last screen: the summary under the last frame.
  const tail = plain.slice(plain.lastIndexOf("→ 1.2.0  series, rolling"));
  assert.match(tail, /upgraded 1\.0\.0 → 1\.0\.1 → \S+ → 1\.2\.0 in [\d.]+ s; every member runs 1\.2\.0/);
  assert.match(tail, /requests: \d+ sent during the upgrade, 0 failed/);
});
