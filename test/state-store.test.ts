/**
 * The state stores: the shared contract on the in-memory, SQLite and PostgreSQL stores, then what
 * only one of them can show — SQLite's survival of kill -9 and its on-disk settings, and how
 * openStateStore picks a store and reports one it cannot open.
 *
 * PostgreSQL is the server at 127.0.0.1:5432 (database `test`, user postgres or root, or
 * FERRY_TEST_POSTGRES_URL). Each make() gets its own schema under a random prefix, dropped
 * afterwards, so parallel runs never meet. Without a server the PostgreSQL tests are skipped,
 * except under CI=true, where that is a failure.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, existsSync, openSync, writeSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import pg from "pg";
import {
  DamagedStoreError,
  MemoryStore,
  maskPassword,
  openStateStore,
  PostgresStore,
  SqliteStore,
  StateStoreOpenError,
} from "../src/store/index.js";
import { describeStateStore } from "./contract/state-store.contract.js";

const ROOT = resolve(fileURLToPath(import.meta.url), "../..");
// Every await comes before the first test is declared: the runner starts tests as they are declared
// and would otherwise run the root after() hooks while the rest of the file is still waiting.
const tmp = await mkdtemp(join(tmpdir(), "ferry-state-store-"));
const postgres = await findPostgres();
let files = 0;
const freshFile = (): string => join(tmp, `state-${++files}`, "state.db");
const SAMPLE_RUN = {
  id: "r1",
  cluster: "demo",
  from: "1.0.0",
  to: "1.0.1",
  path: ["1.0.0", "1.0.1"],
  status: "running",
  startedAt: 1,
  startedBy: "ops@here",
  plan: {},
  files: {},
} as const;

const ACCEPTED = {
  by: "ops@here",
  at: "2026-11-21T03:00:00.000Z",
  how: "flag",
  warnings: [{ hop: "1.0.0 → 1.0.1", release: "1.0.1", from: "<1.0.1", text: "read this" }],
} as const;

after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describeStateStore({
  name: "MemoryStore",
  sharesLocation: false,
  make: async () => {
    const store = new MemoryStore();
    await store.init();
    return { store, location: "memory:", cleanup: () => store.close() };
  },
});

describeStateStore({
  name: "SqliteStore",
  make: async (location) => {
    const file = location ?? freshFile();
    const store = new SqliteStore(file);
    await store.init();
    return {
      store,
      location: file,
      cleanup: async () => {
        await store.close();
        if (!location) await rm(resolve(file, ".."), { recursive: true, force: true });
      },
    };
  },
});

// --- PostgreSQL -------------------------------------------------------------------------------

if ("url" in postgres) {
  const { url, admin } = postgres;
  const prefix = `ferry_test_${randomBytes(5).toString("hex")}`;
  let schemas = 0;

  after(async () => {
    // Whatever a failed test left behind.
    const { rows } = await admin.query<{ name: string }>(
      "SELECT nspname AS name FROM pg_namespace WHERE starts_with(nspname, $1)",
      [prefix],
    );
    for (const { name } of rows) await admin.query(`DROP SCHEMA "${name}" CASCADE`);
    await admin.end();
  });

  describeStateStore({
    name: "PostgresStore",
    make: async (location) => {
      const schema = location ?? `${prefix}_${++schemas}`;
      const store = new PostgresStore({ connectionString: url, schema });
      await store.init();
      return {
        store,
        location: schema,
        cleanup: async () => {
          await store.close();
          if (!location) await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        },
      };
    },
  });

  describe("PostgresStore", () => {
    it("keeps lease times on the server's clock", async () => {
      const schema = `${prefix}_clock`;
      const store = new PostgresStore({ connectionString: url, schema });
      try {
        await store.init();
        await store.tryLock({ host: "h", pid: 1, token: "A", runId: null, leaseMs: 10_000 });
        const holder = await store.lockHolder();
        const { rows } = await admin.query<{ now: string }>(
          "SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now",
        );
        const serverNow = Number(rows[0]?.now);
        assert.ok(holder && Math.abs(holder.acquiredAt - serverNow) < 5000);
        assert.equal((holder?.leaseUntil ?? 0) - (holder?.acquiredAt ?? 0), 10_000);
      } finally {
        await store.close();
        await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      }
    });

    it("brings a schema of version 2 up to date: its runs kept, with no accepted warnings", async () => {
      const schema = `${prefix}_v2`;
      const store = new PostgresStore({ connectionString: url, schema });
      try {
        await store.init();
        await store.createRun(SAMPLE_RUN, ["a"]);
        await store.close();
        // What schema version 2 looked like: no accepted release warnings, no notification outbox.
        await admin.query(`DROP TABLE "${schema}".deliveries, "${schema}".notices`);
        await admin.query(`ALTER TABLE "${schema}".runs DROP COLUMN accepted_warnings`);
        await admin.query(`ALTER TABLE "${schema}".steps DROP COLUMN observed, DROP COLUMN undone_at`);
        await admin.query(`DROP TABLE "${schema}".run_notes`);
        await admin.query(`ALTER TABLE "${schema}".runs DROP COLUMN waiting`);
        await admin.query(`DROP TABLE "${schema}".gate_measurements`);
        await admin.query(`UPDATE "${schema}".schema_version SET version = 2`);

        const upgraded = new PostgresStore({ connectionString: url, schema });
        try {
          await upgraded.init();
          assert.equal((await upgraded.getRun("r1"))?.acceptedWarnings, null);
          await upgraded.createRun({ ...SAMPLE_RUN, id: "r2", acceptedWarnings: ACCEPTED }, []);
          assert.deepEqual((await upgraded.getRun("r2"))?.acceptedWarnings, ACCEPTED);
          const { rows } = await admin.query(`SELECT version FROM "${schema}".schema_version`);
          assert.deepEqual(rows, [{ version: 10 }]);
        } finally {
          await upgraded.close();
        }
      } finally {
        await store.close();
        await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      }
    });

    it("openStateStore opens a postgres:// URL, with ?schema= choosing the schema", async () => {
      const schema = `${prefix}_opened`;
      const store = await openStateStore(`${url}?schema=${schema}`, "/nowhere");
      try {
        assert.ok(store instanceof PostgresStore);
        assert.equal(store.schema, schema);
        await store.createRun(SAMPLE_RUN, ["a"]);
        const { rows } = await admin.query(`SELECT id FROM "${schema}".steps`);
        assert.deepEqual(rows, [{ id: "a" }]);
      } finally {
        await store.close();
        await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      }
    });
  });
} else if (process.env.CI === "true") {
  it("PostgreSQL is reachable (CI requires the PostgreSQL tests)", () => {
    assert.fail(`PostgreSQL is unreachable: ${postgres.reason}`);
  });
} else {
  it("PostgresStore contract", (t) => {
    t.skip(`PostgreSQL is unreachable (${postgres.reason}); CI=true makes this a failure`);
  });
}

/** The first candidate server that answers, with an admin connection to it; or why none did. */
async function findPostgres(): Promise<{ url: string; admin: pg.Client } | { reason: string }> {
  const given = process.env.FERRY_TEST_POSTGRES_URL;
  const candidates = given
    ? [given]
    : ["postgres://postgres@127.0.0.1:5432/test", "postgres://root@127.0.0.1:5432/test"];
  const reasons: string[] = [];
  for (const url of candidates) {
    const admin = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
    try {
      await admin.connect();
      await admin.query("SELECT 1");
      return { url, admin };
    } catch (err) {
      await admin.end().catch(() => {});
      reasons.push(`${maskPassword(url)}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return { reason: reasons.join("; ") };
}

// --- SQLite only ------------------------------------------------------------------------------

describe("SqliteStore", () => {
  it("a write whose promise resolved survives kill -9 right after", async () => {
    const file = freshFile();
    // The child resolves its writes, then SIGKILLs itself at once: nothing after the resolve runs,
    // no close(), no exit handlers.
    const child = `
      const { SqliteStore } = await import(${JSON.stringify(join(ROOT, "src/store/sqlite-store.ts"))});
      const store = new SqliteStore(${JSON.stringify(file)});
      await store.init();
      await store.createRun({ id: "r1", cluster: "demo", from: "1.0.0", to: "1.0.1", path: ["1.0.0", "1.0.1"],
        status: "running", startedAt: 1, startedBy: "ops@here", plan: { p: 1 }, files: {} }, ["a", "b", "c"]);
      await store.updateStep("r1", "a", { state: "done", exitCode: 0 });
      await Promise.all([
        store.updateStep("r1", "b", { state: "running", attempts: 1 }),
        store.updateStep("r1", "c", { output: "written" }),
        store.updateRun("r1", { status: "paused" }),
      ]);
      process.kill(process.pid, "SIGKILL");
    `;
    const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", child], {
      cwd: ROOT,
      encoding: "utf8",
      timeout: 60_000,
    });
    assert.equal(r.signal, "SIGKILL", `the child did not die by SIGKILL: ${r.status} ${r.stderr}`);
    // The WAL was not checkpointed into the main file by a clean close.
    assert.ok(existsSync(`${file}-wal`));

    const store = new SqliteStore(file);
    await store.init();
    try {
      assert.deepEqual(
        (await store.steps("r1")).map((s) => [s.id, s.state, s.exitCode, s.output, s.attempts]),
        [
          ["a", "done", 0, null, 0],
          ["b", "running", null, null, 1],
          ["c", "pending", null, "written", 0],
        ],
      );
      assert.equal((await store.getRun("r1"))?.status, "paused");
    } finally {
      await store.close();
    }
  });

  it("uses WAL and records its schema version in the file", async () => {
    const file = freshFile();
    const store = new SqliteStore(file);
    await store.init();
    await store.close();
    const db = new Database(file, { readonly: true });
    try {
      assert.equal(db.pragma("journal_mode", { simple: true }), "wal");
      assert.equal(db.pragma("user_version", { simple: true }), 10);
    } finally {
      db.close();
    }
  });

  it("brings a file of an older schema up to date, keeping its runs", async () => {
    const file = freshFile();
    const store = new SqliteStore(file);
    await store.init();
    await store.createRun(SAMPLE_RUN, ["a"]);
    await store.close();
    // What schema version 1 looked like: no pause mark, nor the columns and tables of later versions.
    const db = new Database(file);
    db.exec("DROP TABLE deliveries; DROP TABLE notices; ALTER TABLE runs DROP COLUMN pause_requested_by");
    db.exec("ALTER TABLE runs DROP COLUMN accepted_warnings");
    db.exec(
      "ALTER TABLE steps DROP COLUMN observed; ALTER TABLE steps DROP COLUMN undone_at; DROP TABLE run_notes; ALTER TABLE runs DROP COLUMN waiting; DROP TABLE gate_measurements",
    );
    db.pragma("user_version = 1");
    db.close();

    const upgraded = new SqliteStore(file);
    await upgraded.init();
    try {
      assert.equal((await upgraded.getRun("r1"))?.startedBy, "ops@here");
      assert.equal(await upgraded.requestPause("r1", "ops@there"), true);
      assert.equal(await upgraded.pauseRequest("r1"), "ops@there");
      assert.equal((await upgraded.steps("r1"))[0]?.observed, null);
      await upgraded.updateStep("r1", "a", { observed: { active: "h2" } });
      assert.deepEqual((await upgraded.steps("r1"))[0]?.observed, { active: "h2" });
      assert.equal((await upgraded.steps("r1"))[0]?.undoneAt, null);
      await upgraded.updateStep("r1", "a", { state: "undone", undoneAt: 42 });
      assert.equal((await upgraded.steps("r1"))[0]?.undoneAt, 42);
      const started = { condition: "running", event: "started", body: {}, createdAt: 1, deliveries: [] };
      assert.equal(await upgraded.appendNotice("r1", () => started), 1);
      const note = { at: 1, by: "ops@there", kind: "host-undo", text: "h2" };
      await upgraded.addNote("r1", note);
      assert.deepEqual(await upgraded.notes("r1"), [note]);
      assert.equal((await upgraded.getRun("r1"))?.waiting, null);
      const waiting = { for: "window", since: 1, detail: "sat 01:00–05:00", step: null } as const;
      await upgraded.updateRun("r1", { waiting });
      assert.deepEqual((await upgraded.getRun("r1"))?.waiting, waiting);
      const measured = {
        step: "1.0.1/roll/api/batch-1/gate/errors",
        gate: "errors",
        attempt: 1,
        at: 2,
        value: 0,
        verdict: "pass",
        detail: "0 is below 1",
      } as const;
      await upgraded.addMeasurement("r1", measured);
      assert.deepEqual(await upgraded.measurements("r1"), [measured]);
    } finally {
      await upgraded.close();
    }
  });

  it("brings a file of schema version 2 up to date: its runs kept, with no accepted warnings", async () => {
    const file = freshFile();
    const store = new SqliteStore(file);
    await store.init();
    await store.createRun(SAMPLE_RUN, ["a"]);
    await store.close();
    // What schema version 2 looked like: no accepted release warnings, no notification outbox.
    const db = new Database(file);
    db.exec("DROP TABLE deliveries; DROP TABLE notices; ALTER TABLE runs DROP COLUMN accepted_warnings");
    db.exec(
      "ALTER TABLE steps DROP COLUMN observed; ALTER TABLE steps DROP COLUMN undone_at; DROP TABLE run_notes; ALTER TABLE runs DROP COLUMN waiting; DROP TABLE gate_measurements",
    );
    db.pragma("user_version = 2");
    db.close();

    const upgraded = new SqliteStore(file);
    await upgraded.init();
    try {
      assert.equal((await upgraded.getRun("r1"))?.acceptedWarnings, null);
      assert.deepEqual(
        (await upgraded.steps("r1")).map((s) => s.id),
        ["a"],
      );
      await upgraded.createRun({ ...SAMPLE_RUN, id: "r2", acceptedWarnings: ACCEPTED }, []);
      assert.deepEqual((await upgraded.getRun("r2"))?.acceptedWarnings, ACCEPTED);
    } finally {
      await upgraded.close();
    }
  });

  it("refuses a file written by a newer ferry", async () => {
    const file = freshFile();
    const store = new SqliteStore(file);
    await store.init();
    await store.close();
    const db = new Database(file);
    db.pragma("user_version = 99");
    db.close();
    await assert.rejects(new SqliteStore(file).init(), /version 99.*upgrade ferry/);
  });

  it("a damaged file is found on open; past checkOnOpenBytes, before its first write instead", async () => {
    const file = freshFile();
    const store = new SqliteStore(file);
    await store.init();
    await store.createRun(
      SAMPLE_RUN,
      Array.from({ length: 2000 }, (_, i) => `1.0.1/roll/api/h${i}/install`),
    );
    await store.close();
    // The last page of the file, a leaf of the steps table that reading the run does not need.
    const db = new Database(file);
    const last = db.prepare("SELECT max(pageno) AS n FROM dbstat WHERE name = 'steps'").get() as {
      n: number;
    };
    db.close();
    const fd = openSync(file, "r+");
    writeSync(fd, Buffer.alloc(4096, 0xa5), 0, 4096, (last.n - 1) * 4096);
    closeSync(fd);

    await assert.rejects(new SqliteStore(file).init(), (err: unknown) => {
      assert.ok(err instanceof DamagedStoreError);
      assert.equal(err.file, file);
      assert.equal(err.exitCode, 1);
      return true;
    });
    const big = new SqliteStore(file, { checkOnOpenBytes: 0 });
    await big.init();
    try {
      assert.equal((await big.getRun("r1"))?.id, "r1", "what is whole can still be read");
      await assert.rejects(
        big.tryLock({ host: "h", pid: 1, token: "A", runId: null, leaseMs: 1000 }),
        DamagedStoreError,
      );
      await assert.rejects(
        big.updateStep("r1", "1.0.1/roll/api/h0/install", { state: "running" }),
        DamagedStoreError,
      );
      await assert.rejects(big.steps("r1"), DamagedStoreError, "a read of the damaged page says so too");
    } finally {
      await big.close();
    }
  });

  it("calls before init() say so", async () => {
    const store = new SqliteStore(freshFile());
    await assert.rejects(store.getRun("r1"), /init\(\)/);
    await assert.rejects(store.updateStep("r1", "a", {}), /not open/);
  });
});

// --- openStateStore ---------------------------------------------------------------------------

describe("openStateStore", () => {
  it("memory: opens the in-memory store", async () => {
    const store = await openStateStore("memory:", tmp);
    assert.ok(store instanceof MemoryStore);
    await store.close();
  });

  it("a path opens SQLite relative to baseDir, creating missing folders", async () => {
    const base = join(tmp, "cluster-dir");
    const store = await openStateStore(".ferry/nested/state.db", base);
    try {
      assert.ok(store instanceof SqliteStore);
      assert.equal(store.file, join(base, ".ferry/nested/state.db"));
      assert.ok(existsSync(store.file));
    } finally {
      await store.close();
    }
    const absolute = join(tmp, "absolute", "state.db");
    const other = await openStateStore(absolute, "/somewhere/else");
    assert.equal((other as SqliteStore).file, absolute);
    await other.close();
  });

  it("a file that cannot be opened is an error naming it", async () => {
    const blocker = join(tmp, "not-a-folder");
    await (await openStateStore(blocker, tmp)).close();
    // blocker is a file, so nothing can be created beneath it.
    await assert.rejects(openStateStore("not-a-folder/state.db", tmp), (err: unknown) => {
      assert.ok(err instanceof StateStoreOpenError);
      assert.match(err.message, /cannot open the state store .*not-a-folder\/state\.db: /);
      return true;
    });
  });

  it("an unreachable server is an error naming the URL, with the password masked", async () => {
    const url = "postgres://ferry:s3cret-pw@127.0.0.1:1/ops?schema=ferry_x";
    await assert.rejects(openStateStore(url, tmp), (err: unknown) => {
      assert.ok(err instanceof StateStoreOpenError);
      assert.match(err.message, /^cannot open the state store postgres:\/\/ferry:\*\*\*@127\.0\.0\.1:1\/ops/);
      assert.doesNotMatch(`${err.message} ${err.stack} ${String(err.cause)}`, /s3cret/);
      return true;
    });
  });

  it("maskPassword hides a password in the userinfo or the query", () => {
    assert.equal(maskPassword("postgres://u:pw@h:5432/db"), "postgres://u:***@h:5432/db");
    assert.equal(
      maskPassword("postgresql://h/db?user=u&password=pw"),
      "postgresql://h/db?user=u&password=***",
    );
    assert.equal(maskPassword("postgres://u@h/db"), "postgres://u@h/db");
    assert.doesNotMatch(maskPassword("postgres://u:p%20w@h:bad-port/db"), /p%20w|p w/);
  });
});
