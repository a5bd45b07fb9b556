/** The fleet store contract on the real PostgreSQL: each test's store in a schema of its own, dropped after. */
import assert from "node:assert/strict";
import { after, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { PostgresFleetStore } from "../src/index.js";
import { cluster, describeFleetStore } from "./contract/fleet-store.contract.js";
import { PG } from "./support/fleet-fixture.js";

const dropSchema = async (schema: string) => {
  const admin = new pg.Client({ connectionString: PG });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await admin.end();
};

describeFleetStore("postgres", {
  workers: 4,
  async location() {
    return `fleet_contract_${Math.random().toString(36).slice(2, 10)}`;
  },
  async open(schema) {
    const store = new PostgresFleetStore({ connectionString: PG, schema });
    await store.init();
    return store;
  },
  cleanup: dropSchema,
});

it("a cluster run that ends done while an abort holds the fleet run reads the abort, and ends the fleet run", async () => {
  const schema = `fleet_race_${Math.random().toString(36).slice(2, 10)}`;
  const store = new PostgresFleetStore({ connectionString: PG, schema });
  const other = new pg.Client({ connectionString: PG });
  after(async () => {
    await store.close();
    await other.end().catch(() => {});
    await dropSchema(schema);
  });
  await store.init();
  await other.connect();
  await store.createFleetRun(
    {
      id: "f1",
      fleet: "edge",
      target: "1.0.1",
      strategy: { groups: ["rest"], maxParallel: 1, soakMs: 0, maxFailures: 1 },
      status: "running",
      createdBy: "t",
      createdAt: Date.now(),
    },
    [cluster("r0", "rest"), cluster("r1", "rest")],
  );
  const [r0] = await store.claim("w", 10_000);
  assert.ok(r0);
  // Another operator's abort, caught between reading the counts (r0 still live: the fleet run stays
  // aborting) and its commit: what the store's own abort does under the fleet run's lock.
  await other.query("BEGIN");
  await other.query(`SELECT 1 FROM "${schema}".fleet_runs WHERE id = 'f1' FOR UPDATE`);
  const finishing = store.finish("w", r0, { state: "done" });
  await sleep(300);
  await other.query(`UPDATE "${schema}".fleet_runs SET status = 'aborting' WHERE id = 'f1'`);
  await other.query("COMMIT");
  assert.equal(await finishing, true);
  const run = await store.getFleetRun("f1");
  assert.equal(run?.status, "aborted", "nothing is live any more: the abort is over");
  assert.ok(run?.endedAt);
  assert.deepEqual(
    (await store.clusterRuns("f1")).map((r) => r.state),
    ["done", "aborted"],
  );
});
