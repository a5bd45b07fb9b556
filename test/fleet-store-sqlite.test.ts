/** The fleet store contract on SQLite: each test's store in a file of its own, for one worker at a time. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteFleetStore } from "../src/index.js";
import { describeFleetStore } from "./contract/fleet-store.contract.js";

describeFleetStore("sqlite", {
  workers: 1,
  async location() {
    return join(mkdtempSync(join(tmpdir(), "ferry-fleet-")), "fleet.db");
  },
  async open(file) {
    const store = new SqliteFleetStore(file);
    await store.init();
    return store;
  },
  async cleanup(file) {
    rmSync(join(file, ".."), { recursive: true, force: true });
  },
});
