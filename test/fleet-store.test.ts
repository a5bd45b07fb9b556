/** The fleet store contract on the real PostgreSQL: each test's store in a schema of its own, dropped after. */
import pg from "pg";
import { PostgresFleetStore } from "../src/index.js";
import { describeFleetStore } from "./contract/fleet-store.contract.js";
import { PG } from "./support/fleet-fixture.js";

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
  async cleanup(schema) {
    const admin = new pg.Client({ connectionString: PG });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.end();
  },
});
