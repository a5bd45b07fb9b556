import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { member } from "../../../test/support/step-context.js";
import type { Plan, PlannedHop } from "../../plan/plan.js";
import { CommandEnvs } from "./command-env.js";

const hop = { id: "1.0.1", from: "1.0.0", to: "1.0.1", kind: "patch" } as PlannedHop;
const plan = { vars: { root: "/srv/cluster" } } as unknown as Plan;

describe("CommandEnvs", () => {
  it("gives a member's values in the hop, and the way back's with {{version}} and {{from}} swapped and {{direction}} turned", () => {
    const envs = new CommandEnvs(plan, "run-7");
    const api = member("h1", "api", { address: "10.0.0.1", vars: { root: "/srv/api" } });
    assert.deepEqual(envs.of(hop, api, false), {
      FERRY_VERSION: "1.0.1",
      FERRY_FROM: "1.0.0",
      FERRY_KIND: "patch",
      FERRY_DIRECTION: "upgrade",
      FERRY_HOST: "h1",
      FERRY_ADDRESS: "10.0.0.1",
      FERRY_COMPONENT: "api",
      FERRY_VAR_ROOT: "/srv/api",
      FERRY_RUN_ID: "run-7",
    });
    const back = envs.of(hop, api, true);
    assert.deepEqual(
      {
        version: back.FERRY_VERSION,
        from: back.FERRY_FROM,
        kind: back.FERRY_KIND,
        direction: back.FERRY_DIRECTION,
      },
      { version: "1.0.0", from: "1.0.1", kind: "patch", direction: "downgrade" },
    );
  });

  it("gives this machine the cluster's vars and no host", () => {
    assert.deepEqual(new CommandEnvs(plan, "run-7").of(hop, undefined, false), {
      FERRY_VERSION: "1.0.1",
      FERRY_FROM: "1.0.0",
      FERRY_KIND: "patch",
      FERRY_DIRECTION: "upgrade",
      FERRY_VAR_ROOT: "/srv/cluster",
      FERRY_RUN_ID: "run-7",
    });
  });
});
