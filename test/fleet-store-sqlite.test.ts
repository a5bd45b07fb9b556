/** The fleet store contract on SQLite: each test's store in a file of its own, for one worker at a time. */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { it } from "node:test";
import { openFleetStore, SqliteFleetStore, UserError } from "../src/index.js";
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

it("a fleet's state kept in memory is refused (exit 2): workers could not share it", async () => {
  for (const state of ["memory:", ":memory:"]) {
    await assert.rejects(openFleetStore(state), (err: Error) => {
      assert.ok(err instanceof UserError, String(err));
      assert.match(err.message, /kept in memory: workers could not share it/);
      return true;
    });
  }
});

it("a relative SQLite state is the file beside the fleet file, not in the working directory", async () => {
  const dir = mkdtempSync(join(tmpdir(), "ferry-fleet-"));
  try {
    const store = await openFleetStore("fleet.db", { dir });
    await store.close();
    assert.ok(existsSync(join(dir, "fleet.db")));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
