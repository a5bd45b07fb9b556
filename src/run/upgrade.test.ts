import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SIM_COMMANDS, SimCluster } from "../../test/support/sim-cluster.js";
import { defineCatalog } from "../catalog/index.js";
import { parseCluster } from "../cluster/cluster.js";
import { RefusedError } from "../errors.js";
import { MemoryStore } from "../store/memory-store.js";
import { apply } from "./upgrade.js";

const catalog = defineCatalog({ product: "p", scheme: "semver", releases: ["1.0.0", "1.0.1"] });
const cluster = parseCluster(
  "/c/cluster.yaml",
  `name: ap
catalog: releases.yaml
hosts: [{ name: c1, address: c1 }, { name: c2, address: c2 }]
components:
  - { name: ctl, hosts: [c1, c2], mode: active-passive, role: "role ctl", switchover: "switchover {{host}}", commands: ${JSON.stringify(SIM_COMMANDS)} }
`,
);

async function run(active: string[]) {
  const sim = new SimCluster(["c1", "c2"], ["ctl"], "1.0.0", 1);
  sim.activePassive.push("ctl");
  for (const a of active) sim.active.set("ctl", a);
  if (active.length === 0) sim.active.set("ctl", "nobody");
  const store = new MemoryStore();
  await store.init();
  const result = apply({ cluster, catalog, store, to: "1.0.1", driverFor: sim.driverFor });
  return { sim, result };
}

describe("apply on an active-passive component", () => {
  it("finds the active host by its role, upgrades the standby, switches over, then the former active one", async () => {
    const { sim, result } = await run(["c2"]);
    const outcome = await result;
    assert.equal(outcome.status, "done", outcome.message);
    const seq = sim.events.map((e) => `${e.host} ${e.command}`).filter((e) => /activate|switchover/.test(e));
    assert.deepEqual(seq, ["c1 activate ctl 1.0.1", "c1 switchover c1", "c2 activate ctl 1.0.1"]);
    assert.equal(sim.active.get("ctl"), "c1");
  });

  it("refuses when no host, or more than one, says it is active", async () => {
    const { result } = await run([]);
    await assert.rejects(
      result,
      (err: unknown) => err instanceof RefusedError && /0 of its hosts say they are active/.test(err.message),
    );
  });
});
