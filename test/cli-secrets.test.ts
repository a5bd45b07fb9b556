/**
 * Passwords in the cluster file's URLs (`state:` and `database:` on PostgreSQL) and in PGPASSWORD,
 * through bin/ferry: an upgrade killed with SIGKILL and resumed, then every command that shows a
 * run; nothing of the password may be in the state store (every table, every column), the run
 * log, the backups (names or contents), the API or any output. Resume takes it from the live file.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { makeDatabase, type TestDatabase, unavailable } from "./support/databases.js";
import { allAt, makeFakeProduct } from "./support/fake-product.js";
import { type AsyncResult, ferryAsync } from "./support/run-ferry-async.js";
import { serveCluster } from "./support/serve.js";

const MIGRATIONS = new URL("./fixtures/migrations/", import.meta.url).pathname;
const CATALOG = `product: notes
scheme: semver
releases:
  - "1.0.0"
  - { version: "1.0.1", migrations: 1.0.1 }
  - { version: "1.1.0", migrations: 1.1.0 }
  - { version: "1.2.0", migrations: 1.2.0 }
`;
/** Every password here holds this word: it is what must be found nowhere. */
const WORD = "SECRET";
const PASSWORD = `Zq7${WORD}@x:y`;
const PARAM_PASSWORD = `Zq8${WORD}`;
const ENV_PASSWORD = `Zq9${WORD}env`;

const pgDown = await unavailable("postgres");
const skip = pgDown && !process.env.CI ? pgDown : false;
if (skip) console.log(`# skipped: ${skip}`);

/** Every file under `dir`, with its path relative to it. */
function filesUnder(dir: string, prefix = ""): { path: string; text: string }[] {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    const rel = join(prefix, name);
    return statSync(full).isDirectory()
      ? filesUnder(full, rel)
      : [{ path: rel, text: readFileSync(full, "latin1") }];
  });
}

/** Every row of every table in the database (the state store's schema and the product's), as text. */
async function everyRow(url: string): Promise<{ table: string; text: string }[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows: tables } = await client.query<{ s: string; t: string }>(
      `SELECT table_schema AS s, table_name AS t FROM information_schema.tables
       WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND table_type = 'BASE TABLE'`,
    );
    const out: { table: string; text: string }[] = [];
    for (const { s, t } of tables) {
      const { rows } = await client.query<{ row: string }>(`SELECT r::text AS row FROM "${s}"."${t}" r`);
      out.push({ table: `${s}.${t}`, text: rows.map((r) => r.row).join("\n") });
    }
    return out;
  } finally {
    await client.end();
  }
}

/** `ferry resume` until the dead run's lock lease (15 s on a shared store) has run out. */
async function resumeAfterLease(args: string[], env: Record<string, string>): Promise<AsyncResult[]> {
  const tries: AsyncResult[] = [];
  for (const start = Date.now(); Date.now() - start < 40_000; await sleep(1000)) {
    const r = await ferryAsync(["resume", ...args, "--yes"], env);
    tries.push(r);
    if (!(r.code === 3 && /holds the lock/.test(r.stderr))) return tries;
  }
  assert.fail("the dead run's lock was never taken over");
}

describe("passwords in the cluster file's URLs", { skip }, () => {
  it("never reach the journal, the run log, the backups, the API or any output; resume after kill -9 takes them from the live file; PGPASSWORD works too", async () => {
    const db: TestDatabase = await makeDatabase("postgres");
    const p = makeFakeProduct({
      hosts: 2,
      start: "1.0.0",
      catalog: { text: CATALOG, migrations: MIGRATIONS },
    });
    // As an operator would write them: the state store's password raw in the userinfo, @ and : and
    // all; the product database's as a query parameter.
    const state = `${db.url.replace("postgres://postgres@", `postgres://postgres:${PASSWORD}@`)}?schema=ferry_state`;
    const database = `${db.url}?password=${PARAM_PASSWORD}`;
    const clusterText = readFileSync(p.clusterFile, "utf8");
    const write = (s: string, d: string) =>
      writeFileSync(
        p.clusterFile,
        clusterText.replace(
          "state: state/ferry.db",
          `state: "${s}"\ndatabase: "${d}"\nmigrations: { batch: 10 }`,
        ),
      );
    write(state, database);
    const c = ["-c", p.clusterFile];
    const outputs: { what: string; text: string }[] = [];
    const keep = (what: string, r: AsyncResult) => {
      outputs.push({ what, text: r.stdout + r.stderr });
      return r;
    };
    try {
      const crashed = keep(
        "apply (killed)",
        await ferryAsync(["apply", ...c, "--to", "1.1.0", "--yes"], { FERRY_FAULT: "journal#12" }),
      );
      assert.equal(crashed.signal, "SIGKILL", crashed.stdout + crashed.stderr);
      const tries = await resumeAfterLease(c, {});
      for (const r of tries) keep("resume", r);
      const resumed = tries.at(-1) as AsyncResult;
      assert.equal(resumed.code, 0, resumed.stdout + resumed.stderr);
      assert.ok(allAt(p, "1.1.0"), JSON.stringify(p.state()));

      // No password in the file at all: PGPASSWORD gives it, to ferry and to pg_dump alike.
      write(`${db.url}?schema=ferry_state`, db.url);
      const env = { PGPASSWORD: ENV_PASSWORD };
      const again = keep(
        "apply with PGPASSWORD",
        await ferryAsync(["apply", ...c, "--to", "1.2.0", "--yes"], env),
      );
      assert.equal(again.code, 0, again.stdout + again.stderr);
      assert.ok(allAt(p, "1.2.0"));
      write(state, database);

      for (const args of [
        ["status"],
        ["status", "--json"],
        ["history"],
        ["history", "--json"],
        ["check", "--json"],
        ["plan", "--to", "1.2.0", "--from", "1.0.0", "--json"],
        ["db", "status", "--json"],
      ]) {
        const r = keep(args.join(" "), await ferryAsync([...args, ...c], env));
        assert.equal(r.code, 0, `${args.join(" ")}: ${r.stdout}${r.stderr}`);
      }
      const served = await serveCluster(c, { FERRY_TOKEN: "t" });
      try {
        const runs = (await (await fetch(`${served.url}api/runs`)).json()) as { id: string }[];
        assert.equal(runs.length, 2);
        outputs.push({ what: "GET /api/runs", text: JSON.stringify(runs) });
        for (const run of runs) {
          const detail = await (await fetch(`${served.url}api/runs/${run.id}`)).text();
          outputs.push({ what: `GET /api/runs/${run.id}`, text: detail });
        }
      } finally {
        await served.stop();
        outputs.push({ what: "ferry serve", text: served.output() });
      }

      const rows = await everyRow(db.url);
      const files = filesUnder(join(p.dir, ".ferry"));
      assert.ok(
        files.some((f) => f.path.startsWith("logs/")) && files.some((f) => f.path.startsWith("backups/")),
      );
      const places = [
        ...rows.map((r) => ({ where: `table ${r.table}`, text: r.text })),
        ...files.map((f) => ({ where: `file .ferry/${f.path}`, text: `${f.path}\n${f.text}` })),
        ...outputs.map((o) => ({ where: `the output of ${o.what}`, text: o.text })),
      ];
      for (const { where, text } of places) {
        assert.ok(!text.includes(WORD), `a password is in ${where}:\n${text.slice(0, 2000)}`);
        assert.ok(!text.includes(encodeURIComponent(PASSWORD)), `a password is in ${where}`);
      }
      const runsRow = rows.find((r) => r.table === "ferry_state.runs");
      assert.ok(runsRow?.text.includes("postgres://postgres:***@"), "the journal keeps the file, masked");
    } finally {
      p.cleanup();
      await db.drop();
    }
  });
});

describe("URLs in messages", () => {
  it("an unreachable state store or database is named with every password masked: @ and : in it, ?sslpassword=", async () => {
    const p = makeFakeProduct({ hosts: 1 });
    const text = readFileSync(p.clusterFile, "utf8");
    const c = ["-c", p.clusterFile];
    try {
      writeFileSync(
        p.clusterFile,
        text.replace(
          "state: state/ferry.db",
          `state: "postgres://ferry:p@ss:w0rd${WORD}@127.0.0.1:1/ops?sslpassword=k${WORD}&schema=f"`,
        ),
      );
      const status = await ferryAsync(["status", ...c]);
      assert.equal(status.code, 1, status.stderr);
      assert.match(
        status.stderr,
        /cannot open the state store postgres:\/\/ferry:\*\*\*@127\.0\.0\.1:1\/ops\?sslpassword=\*\*\*&schema=f: /,
      );
      assert.ok(!(status.stdout + status.stderr).includes(WORD), status.stderr);

      writeFileSync(
        p.clusterFile,
        `${text}database: "postgres://ferry:p@ss:w0rd${WORD}@127.0.0.1:1/product"\n`,
      );
      const db = await ferryAsync(["db", "status", ...c, "--json"]);
      assert.equal(db.code, 1, db.stderr);
      assert.match(db.stderr, /cannot open the database postgres:\/\/ferry:\*\*\*@127\.0\.0\.1:1\/product: /);
      assert.ok(!(db.stdout + db.stderr).includes(WORD), db.stdout + db.stderr);
    } finally {
      p.cleanup();
    }
  });

  it("ferry demo --database refuses a URL that holds a password (exit 2), without printing it", async () => {
    const r = await ferryAsync([
      "demo",
      "--database",
      `postgres://postgres:a@b${WORD}@127.0.0.1:5432/nowhere`,
    ]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(
      r.stderr,
      /--database: postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:5432\/nowhere holds a password; give it in PGPASSWORD/,
    );
    assert.ok(!(r.stdout + r.stderr).includes(WORD), r.stderr);
  });
});
