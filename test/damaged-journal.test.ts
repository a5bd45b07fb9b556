/**
 * A damaged SQLite journal, through bin/ferry: pages in the middle of state.db overwritten, as a
 * failing disk or a stray `dd` would. Every command that reads it stops with exit 1, names the
 * file, says what to do, prints no stack trace (FERRY_DEBUG=1 does) and changes nothing.
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { closeSync, openSync, readFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { it } from "node:test";
import Database from "better-sqlite3";
import { withProduct } from "./support/fake-product.js";
import { ferryAsync } from "./support/run-ferry-async.js";

const sha = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");

/** Overwrites, with random bytes, the middle page of the steps table: the heart of the journal. */
function damageMiddleOfSteps(file: string): number {
  const db = new Database(file);
  // Everything into the main file first, so that no newer copy of the page waits in the WAL.
  db.pragma("wal_checkpoint(TRUNCATE)");
  const pageSize = db.pragma("page_size", { simple: true }) as number;
  const pages = (
    db.prepare("SELECT pageno FROM dbstat WHERE name = 'steps' ORDER BY pageno").all() as { pageno: number }[]
  ).map((r) => r.pageno);
  db.close();
  const page = pages[Math.floor(pages.length / 2)] as number;
  const fd = openSync(file, "r+");
  try {
    writeSync(fd, randomBytes(pageSize), 0, pageSize, (page - 1) * pageSize);
  } finally {
    closeSync(fd);
  }
  return page;
}

it("status, history and resume on a damaged journal exit 1, name the file and the way out, and print no stack trace", async () => {
  await withProduct({ hosts: 8 }, async (p, c) => {
    assert.equal((await ferryAsync(["apply", ...c, "--to", "1.0.1", "--yes"])).code, 0);
    // A second run left unfinished, as a crash leaves it: the journal is what resume needs.
    const crashed = await ferryAsync(["apply", ...c, "--to", "1.0.2", "--yes"], {
      FERRY_FAULT: "journal#20",
    });
    assert.equal(crashed.signal, "SIGKILL");

    const file = join(p.dir, "state", "ferry.db");
    const page = damageMiddleOfSteps(file);
    const before = sha(file);
    for (const command of [["status"], ["history"], ["resume", "--yes"], ["status", "--json"]]) {
      const r = await ferryAsync([...command, ...c]);
      const what = `ferry ${command.join(" ")} on a journal with page ${page} overwritten`;
      assert.equal(r.code, 1, `${what}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, new RegExp(`the state store ${file.replaceAll(".", "\\.")} is damaged`), what);
      assert.match(r.stderr, /changed nothing/, what);
      assert.match(r.stderr, /put back a backup of the file/, what);
      assert.match(r.stderr, /\.recover/, what);
      assert.match(r.stderr, new RegExp(`run's log in ${join(p.dir, "state", "logs")}`), what);
      assert.doesNotMatch(r.stderr, /^\s+at /m, `${what}: a stack trace`);
      assert.doesNotMatch(r.stderr, /internal error/, what);
    }
    assert.equal(sha(file), before, "the damaged file is left exactly as it was");
    assert.ok(p.state().h1?.api?.active, "the cluster was not touched");

    const debug = await ferryAsync(["status", ...c], { FERRY_DEBUG: "1" });
    assert.equal(debug.code, 1);
    assert.match(debug.stderr, /is damaged/);
    assert.match(debug.stderr, /^\s+at .*sqlite-store/m, "FERRY_DEBUG=1 shows where it happened");
  });
});

it("a journal whose first page is overwritten is not a database: the same answer", async () => {
  await withProduct({ hosts: 2 }, async (p, c) => {
    assert.equal((await ferryAsync(["apply", ...c, "--to", "1.0.1", "--yes"])).code, 0);
    const file = join(p.dir, "state", "ferry.db");
    const fd = openSync(file, "r+");
    writeSync(fd, Buffer.alloc(4096), 0, 4096, 0);
    closeSync(fd);
    const r = await ferryAsync(["history", ...c]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /is damaged \(file is not a database\)/);
    assert.doesNotMatch(r.stderr, /^\s+at /m);
  });
});
