import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { member, stepContext } from "../../../test/support/step-context.js";
import { type Driver, MemoryDriver } from "../../drivers/index.js";
import { clusterIs } from "./cluster-is.js";

/** Hosts h1…hN, each answering `version api` with its entry of `versions` (null: the command fails). */
function fleet(versions: readonly (string | null)[], healthy: (host: string) => boolean = () => true) {
  const drivers = new Map<string, Driver>(
    versions.map((v, i) => [
      `h${i + 1}`,
      new MemoryDriver({
        host: `h${i + 1}`,
        handler: (command, { host }) => {
          if (command === "version api") return v === null ? { exitCode: 127 } : { output: `${v}\n` };
          if (command === "health api") return { exitCode: healthy(host) ? 0 : 1 };
          return undefined;
        },
      }),
    ]),
  );
  const health = {
    check: { exec: "health api" },
    gate: { timeoutMs: 1000, healthyForMs: 0, deadlineMs: 1000, intervalMs: 10 },
  };
  return stepContext({
    step: { id: "1.0.1/verify/cluster", host: undefined, component: undefined },
    members: versions.map((_, i) => member(`h${i + 1}`, "api", { health })),
    driverFor: (host) => drivers.get(host as string) as Driver,
  });
}

const verify = (version: string, healthy = false) => ({ type: "cluster-is", version, healthy }) as const;

describe("cluster-is", () => {
  it("passes when every member runs the version, and says how many", async () => {
    const r = await clusterIs.run(verify("1.0.1"), fleet(["1.0.1", "1.0.1", "1.0.1"]));
    assert.deepEqual(r, { ok: true, exitCode: null, output: "3 members run 1.0.1\n" });
  });

  it("names the first five members that do not, each with what it runs, then how many more", async () => {
    const r = await clusterIs.run(
      verify("1.0.1"),
      fleet(["1.0.1", "1.0.0", null, "1.0.0", "1.0.0", "1.0.0", "1.0.0", "1.0.0"]),
    );
    assert.ok(!r.ok);
    assert.equal(
      r.error,
      "expected every member on 1.0.1: api@h2 runs 1.0.0; api@h3 runs ? (version command: exit 127: command not found); api@h4 runs 1.0.0; api@h5 runs 1.0.0; api@h6 runs 1.0.0; and 2 more",
    );
  });

  it("with healthy, fails a member on the version that is not healthy, saying so", async () => {
    const ctx = fleet(["1.0.1", "1.0.1"], (host) => host !== "h2");
    const r = await clusterIs.run(verify("1.0.1", true), ctx);
    assert.ok(!r.ok);
    assert.equal(r.error, "expected every member on 1.0.1 and healthy: api@h2 is unhealthy (health: exit 1)");
    // Without `healthy` no probe runs, so the same cluster passes.
    assert.ok((await clusterIs.run(verify("1.0.1"), ctx)).ok);
  });
});
