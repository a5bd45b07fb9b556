/**
 * `health`: the step's member passes its health gate (healthy for `healthyFor`, within its
 * deadline). A member without a health check has no gate to pass.
 */
import { waitHealthy } from "../../probes/health-probe.js";
import { type ActionOf, failed, passed, type StepKind } from "./step-kind.js";

export const healthGate: StepKind<ActionOf<"health">> = {
  async run(_action, { member, driver, signal }) {
    if (!member?.health) return passed();
    const { check, gate } = member.health;
    const r = await waitHealthy(check, driver, {
      timeoutMs: gate.timeoutMs,
      healthyForMs: gate.healthyForMs,
      deadlineMs: gate.deadlineMs,
      intervalMs: gate.intervalMs,
      signal,
    });
    return r.healthy
      ? passed(`healthy after ${r.elapsedMs}ms\n`)
      : failed(`${member.component} on ${member.host} is not healthy: ${r.detail}`);
  },
};
