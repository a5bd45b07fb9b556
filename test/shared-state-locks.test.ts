/**
 * Two clusters whose files name one shared PostgreSQL state store (as a fleet's do), through
 * bin/ferry: each has its own lock, keyed by its name, so an apply of each runs at the same time;
 * a second apply of the same cluster is still refused while the first holds its lock.
 *
 * Each test gets its own schema (`?schema=`), dropped afterwards.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import pg from "pg";
import { PG_ADMIN, unavailable } from "./support/databases.js";
import { allAt, type FakeProduct, gate, makeFakeProduct, reached, release } from "./support/fake-product.js";
import { ferryAsync, type StartedFerry, startFerry } from "./support/run-ferry-async.js";

const noPostgres = await unavailable("postgres");
const onPostgres = noPostgres && process.env.CI !== "true" ? { skip: noPostgres } : {};

/** Waits for the run to arrive at gate(name), failing at once (with what it said) if it exits first. */
async function heldAt(p: FakeProduct, run: StartedFerry, name: string): Promise<void> {
  const exited = run.done.then((r) =>
    assert.fail(`ferry exited (${r.code ?? r.signal}) before reaching ${name}:\n${r.stdout}${r.stderr}`),
  );
  await Promise.race([reached(p, name), exited]);
}

/** Two fake products, clusters `edge-a` and `edge-b`, on one PostgreSQL schema; all removed after. */
async function withTwoClusters(body: (a: FakeProduct, b: FakeProduct) => Promise<void>): Promise<void> {
  const schema = `ferry_locks_${randomBytes(4).toString("hex")}`;
  const state = `${PG_ADMIN}?schema=${schema}`;
  // The hook holds each run, lock taken, until the test lets it go.
  const extra = `hooks: { before: { roll: '${gate("in-hook")}' } }`;
  const a = makeFakeProduct({ name: "edge-a", hosts: 2, state, extra });
  const b = makeFakeProduct({ name: "edge-b", hosts: 2, state, extra });
  try {
    await body(a, b);
  } finally {
    // Whatever happened, let held commands go, so no ferry outlives the test by more than its gate.
    release(a, "in-hook");
    release(b, "in-hook");
    a.cleanup();
    b.cleanup();
    const admin = new pg.Client({ connectionString: PG_ADMIN });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.end();
  }
}

describe("clusters sharing one PostgreSQL state store", () => {
  it(
    "each has its own lock: both apply at once, while a second apply of one is refused (exit 3) naming its holder",
    onPostgres,
    async () => {
      await withTwoClusters(async (a, b) => {
        const firstA = startFerry(["apply", "-c", a.clusterFile, "--to", "1.0.1", "--yes"]);
        await heldAt(a, firstA, "in-hook");
        const firstB = startFerry(["apply", "-c", b.clusterFile, "--to", "1.0.1", "--yes"]);
        // B's run holds its lock while A's holds A's.
        await heldAt(b, firstB, "in-hook");

        const secondA = await ferryAsync(["apply", "-c", a.clusterFile, "--to", "1.0.1", "--yes"]);
        assert.equal(secondA.code, 3, secondA.stdout + secondA.stderr);
        assert.match(
          secondA.stderr,
          new RegExp(`another ferry holds the lock of cluster edge-a \\(run \\S+, pid ${firstA.pid} on `),
        );

        // Each status names the ferry that holds that cluster's lock, not the other's.
        for (const [p, holder] of [
          [a, firstA],
          [b, firstB],
        ] as const) {
          const status = await ferryAsync(["status", "-c", p.clusterFile, "--json"]);
          assert.equal(status.code, 0, status.stderr);
          assert.match(JSON.parse(status.stdout).run.heldBy, new RegExp(`pid ${holder.pid} on `));
        }

        release(a, "in-hook");
        release(b, "in-hook");
        const [doneA, doneB] = await Promise.all([firstA.done, firstB.done]);
        assert.equal(doneA.code, 0, doneA.stdout + doneA.stderr);
        assert.equal(doneB.code, 0, doneB.stdout + doneB.stderr);
        assert.ok(allAt(a, "1.0.1"), JSON.stringify(a.state()));
        assert.ok(allAt(b, "1.0.1"), JSON.stringify(b.state()));

        // One journal, each cluster's own runs in it.
        for (const p of [a, b]) {
          const history = JSON.parse((await ferryAsync(["history", "-c", p.clusterFile, "--json"])).stdout);
          assert.deepEqual(
            history.map((r: { status: string }) => r.status),
            ["done"],
          );
        }
      });
    },
  );
});
