/**
 * Losing the run lock mid-run, through bin/ferry, on the SQLite and the PostgreSQL state store.
 *
 * A ferry is frozen (SIGSTOP) with commands in flight, long enough for its lease to run out (the
 * test ends the lease in the lock row rather than waiting its 15 s), and a second ferry takes the
 * run over with `resume` and finishes it. When the first comes back (SIGCONT) it must stop at once,
 * end its commands, and write nothing more into the journal, although a command of its own
 * finished while it was frozen and its renewal timer has not fired yet: its writes are fenced with
 * its lock token, so the store refuses them.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import Database from "better-sqlite3";
import { makeDatabase, type TestDatabase, unavailable } from "./support/databases.js";
import { allAt, makeFakeProduct, until } from "./support/fake-product.js";
import { ferryAsync, startFerry } from "./support/run-ferry-async.js";

const noPostgres = await unavailable("postgres");
const onPostgres = noPostgres && process.env.CI !== "true" ? { skip: noPostgres } : {};

const HOME = "{{vars.root}}/{{host}}/{{component}}";
/**
 * Records its shell's pid per ferry ($PPID) and host, waits for the test's go-ahead for that ferry
 * (30 s at most), installs, and says it did.
 */
const INSTALL = [
  "echo $$ > {{vars.root}}/pid-$PPID-{{host}}",
  "i=0; while [ ! -f {{vars.root}}/go-$PPID-{{host}} ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done",
  `mkdir -p ${HOME}/versions/{{version}} && echo {{version}} > ${HOME}/versions/{{version}}/VERSION`,
  "touch {{vars.root}}/installed-$PPID-{{host}}",
].join("; ");

/** The journal as another process reads it, and the test's hand on the lock row. */
interface JournalView {
  rows(): Promise<unknown[]>;
  /** Ends the current holder's lease now: what 15 s without a renewal would do. */
  expireLease(): Promise<void>;
}

const STEP_COLUMNS = "id, state, started_at, ended_at, exit_code, error, attempts";

function sqliteView(file: string): JournalView {
  const withDb = <T>(work: (db: Database.Database) => T): T => {
    const db = new Database(file);
    try {
      return work(db);
    } finally {
      db.close();
    }
  };
  return {
    rows: async () =>
      withDb((db) => [
        ...db.prepare(`SELECT ${STEP_COLUMNS} FROM steps ORDER BY seq`).all(),
        ...db.prepare("SELECT id, status, ended_at, error FROM runs").all(),
      ]),
    expireLease: async () => {
      withDb((db) => db.prepare("UPDATE locks SET lease_until = 0").run());
    },
  };
}

function postgresView(db: TestDatabase): JournalView {
  return {
    rows: async () => [
      ...(await db.query(`SELECT ${STEP_COLUMNS} FROM ferry.steps ORDER BY seq`)),
      ...(await db.query("SELECT id, status, ended_at, error FROM ferry.runs")),
    ],
    expireLease: async () => {
      await db.query("UPDATE ferry.locks SET lease_until = 0 WHERE token IS NOT NULL");
    },
  };
}

/** Whether the process has ended (a zombie has: it only waits to be reaped). */
function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return / Z /.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return true;
  }
}

async function untilGone(pid: number, ms = 10_000): Promise<void> {
  for (const start = Date.now(); !gone(pid); await sleep(20)) {
    if (Date.now() - start > ms) assert.fail(`process ${pid} is still running`);
  }
}

async function frozenFerryLosesItsLock(store: "sqlite" | "postgres"): Promise<void> {
  const db = store === "postgres" ? await makeDatabase("postgres") : undefined;
  const p = makeFakeProduct({
    hosts: 2,
    components: [{ name: "api", maxUnavailable: 2 }],
    commands: { install: INSTALL },
    ...(db ? { state: db.url } : {}),
  });
  const journal = db ? postgresView(db) : sqliteView(join(p.dir, "state", "ferry.db"));
  const root = join(p.dir, "hosts");
  const c = ["-c", p.clusterFile];
  try {
    const first = startFerry(["apply", ...c, "--to", "1.0.1", "--yes"]);
    await until(join(root, `pid-${first.pid}-h1`));
    await until(join(root, `pid-${first.pid}-h2`));
    const h2Command = Number(readFileSync(join(root, `pid-${first.pid}-h2`), "utf8"));

    process.kill(first.pid, "SIGSTOP");
    try {
      // h1's install ends while its ferry is frozen: the news waits for it, unread.
      writeFileSync(join(root, `go-${first.pid}-h1`), "");
      await until(join(root, `installed-${first.pid}-h1`));
      await journal.expireLease();

      const second = startFerry(["resume", ...c, "--yes"]);
      for (const h of p.hosts) writeFileSync(join(root, `go-${second.pid}-${h}`), "");
      const resumed = await second.done;
      assert.equal(resumed.code, 0, resumed.stdout + resumed.stderr);
      assert.match(resumed.stdout, new RegExp(`took over the lock of run \\S+, pid ${first.pid} on `));
      assert.ok(allAt(p, "1.0.1"));
    } finally {
      process.kill(first.pid, "SIGCONT");
    }
    const finished = await journal.rows();

    const lost = await first.done;
    assert.equal(lost.code, 1, lost.stdout + lost.stderr);
    assert.match(lost.stdout, /lost the run lock: stopping at once/);
    assert.match(lost.stdout, /ferry lost the lock of fake .*wrote nothing more to run/);
    await untilGone(h2Command);
    assert.equal(
      existsSync(join(root, `installed-${first.pid}-h2`)),
      false,
      "its command in flight was ended",
    );
    assert.deepEqual(await journal.rows(), finished, "the ferry that lost the lock wrote nothing more");
    const [run] = JSON.parse((await ferryAsync(["history", ...c, "--json"])).stdout);
    assert.equal(run.status, "done");
    assert.ok(allAt(p, "1.0.1"));
  } finally {
    p.cleanup();
    await db?.drop();
  }
}

describe("losing the run lock mid-run", () => {
  it("SQLite: a ferry frozen past its lease stops when it wakes, ends its commands and writes nothing; the one that took over finished", async () => {
    await frozenFerryLosesItsLock("sqlite");
  });

  it("PostgreSQL: the same", onPostgres, async () => {
    await frozenFerryLosesItsLock("postgres");
  });

  it(
    "PostgreSQL: the lock is a lease, not a session: ferry's connections killed mid-run lose nothing",
    onPostgres,
    async () => {
      const db = await makeDatabase("postgres");
      const p = makeFakeProduct({
        hosts: 2,
        components: [{ name: "api", maxUnavailable: 2 }],
        commands: { install: INSTALL },
        state: db.url,
      });
      const root = join(p.dir, "hosts");
      try {
        const run = startFerry(["apply", "-c", p.clusterFile, "--to", "1.0.1", "--yes"]);
        await until(join(root, `pid-${run.pid}-h1`));
        await until(join(root, `pid-${run.pid}-h2`));
        const [killed] = await db.query(
          "SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
        );
        assert.ok(Number(killed?.n) >= 1, "ferry had a connection to kill");
        for (const h of p.hosts) writeFileSync(join(root, `go-${run.pid}-${h}`), "");
        const r = await run.done;
        assert.equal(r.code, 0, r.stdout + r.stderr);
        assert.ok(allAt(p, "1.0.1"));
      } finally {
        p.cleanup();
        await db.drop();
      }
    },
  );
});
