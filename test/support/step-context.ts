/**
 * A `StepContext` for unit tests of the step kinds (src/run/steps), on the in-memory driver: a
 * step on h1 by default, no member, no database; pass what a test needs in place of any part.
 */
import { MemoryDriver } from "../../src/drivers/memory-driver.js";
import type { Member, PlanStep } from "../../src/plan/plan.js";
import { RunEvents } from "../../src/run/events.js";
import type { StepContext } from "../../src/run/steps/index.js";
import type { Waiting, WaitingSlot } from "../../src/run/waiting.js";

/**
 * A waiting slot that keeps in memory what a gate marked: `log` lists every start and end. `now`
 * is the clock the slot reports (a test moves it); `halt()` aborts its halted signal.
 */
export function waitingSlot(clock: { now: number } = { now: Date.now() }) {
  const halt = new AbortController();
  const log: ({ start: Waiting } | { end: string })[] = [];
  let current: Waiting | null = null;
  const slot: WaitingSlot & { log: typeof log; halt(): void; readonly current: Waiting | null } = {
    log,
    halted: halt.signal,
    halt: () => halt.abort(),
    now: () => clock.now,
    get current() {
      return current;
    },
    async start(what) {
      current = { ...what, since: current?.for === what.for ? current.since : clock.now, step: "x" };
      log.push({ start: current });
      return current;
    },
    async end(how) {
      if (current) log.push({ end: how });
      current = null;
    },
  };
  return slot;
}

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
    since: Date.now(),
    attempt: 1,
    measured: () => Promise.resolve(),
    waiting: waitingSlot(),
    notes: async () => [],
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
