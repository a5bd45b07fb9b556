import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { member, stepContext } from "../../../test/support/step-context.js";
import { MemoryDriver } from "../../drivers/memory-driver.js";
import { roles } from "./roles.js";

/** Hosts h1…h3 of `ctl`, each answering its role command from `said`. */
function context(said: Record<string, string>) {
  const drivers = new Map(
    Object.entries(said).map(([host, role]) => [
      host,
      new MemoryDriver({
        host,
        handler: () => (role === "fails" ? { exitCode: 3 } : { output: `${role}\n` }),
      }),
    ]),
  );
  return stepContext({
    step: { host: undefined, id: "1.0.1/roll/ctl/roles" },
    members: Object.keys(said).map((h) => member(h, "ctl", { roleCommand: `role ctl ${h}` })),
    driverFor: (host) => drivers.get(host as string) as MemoryDriver,
  });
}

describe("roles", () => {
  it("observes the one host that says it is active, and shows every answer", async () => {
    const r = await roles.run(
      { type: "roles", component: "ctl" },
      context({ h1: "standby", h2: "standby", h3: "active" }),
    );
    assert.deepEqual(r, {
      ok: true,
      exitCode: 0,
      output: "h1: standby\nh2: standby\nh3: active\n",
      observed: { active: "h3" },
    });
  });

  it("fails unless exactly one host says it is active, naming what each said", async () => {
    const two = await roles.run({ type: "roles", component: "ctl" }, context({ h1: "active", h2: "active" }));
    assert.ok(!two.ok);
    assert.equal(
      two.error,
      "ctl is active-passive, and 2 of its hosts say they are active (h1: active, h2: active)",
    );
    const none = await roles.run(
      { type: "roles", component: "ctl" },
      context({ h1: "standby", h2: "fails" }),
    );
    assert.ok(!none.ok);
    assert.match(none.error, /0 of its hosts say they are active \(h1: standby, h2: unknown \(exit 3\)\)/);
  });
});
