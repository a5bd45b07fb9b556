/**
 * `traffic`: takes the step's member out of its load balancer, or puts it back, by its `drain`
 * (http, haproxy or a command). A member without one takes no traffic of ferry's to move.
 */
import { drainTraffic } from "../../probes/traffic-drain.js";
import { type ActionOf, failed, passed, type StepKind } from "./step-kind.js";

export const memberTraffic: StepKind<ActionOf<"traffic">> = {
  async run(action, { member, driver, signal }) {
    if (!member?.drain) return passed();
    const r = await drainTraffic(member.drain, action.op, driver, signal);
    return r.ok
      ? passed(`${r.detail}\n`)
      : failed(`${action.op} of ${member.component} on ${member.host}: ${r.detail}`);
  },
};
