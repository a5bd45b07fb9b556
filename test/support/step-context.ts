/**
 * A `StepContext` for unit tests of the step kinds (src/run/steps), on the in-memory driver: a
 * step on h1 by default, no member, no database; pass what a test needs in place of any part.
 */
import { MemoryDriver } from "../../src/drivers/memory-driver.js";
import type { Member, PlanStep } from "../../src/plan/plan.js";
import { RunEvents } from "../../src/run/events.js";
import type { StepContext } from "../../src/run/steps/index.js";

export function stepContext(parts: Partial<Omit<StepContext, "step">> & { step?: Partial<PlanStep> } = {}) {
  const { step, ...rest } = parts;
  const driver = rest.driver ?? new MemoryDriver({ host: step?.host ?? "h1" });
  return {
    runId: "run-1",
    member: undefined,
    signal: new AbortController().signal,
    events: new RunEvents(),
    env: () => ({}),
    members: [],
    driverFor: () => driver,
    database: () => Promise.reject(new Error("this test has no database")),
    marker: "00000000000000aa",
    halted: new AbortController().signal,
    since: Date.now(),
    attempt: 1,
    measured: () => Promise.resolve(),
    ...rest,
    driver,
    step: {
      id: "1.0.1/roll/api/h1/x",
      name: "x",
      host: "h1",
      component: "api",
      run: [],
      timeoutMs: 10_000,
      ...step,
    },
  } satisfies StepContext;
}

/** A member of component `component` on `host` whose version command is `version COMPONENT`. */
export function member(host: string, component = "api", more: Partial<Member> = {}): Member {
  return {
    host,
    component,
    address: host,
    versionCommand: `version ${component}`,
    vars: {},
    timeoutMs: 5000,
    ...more,
  };
}
