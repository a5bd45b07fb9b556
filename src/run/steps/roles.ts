/**
 * `roles`: asks every member of an active-passive component its role, when the hop reaches the
 * component's roll. Exactly one must say `active`; which one is the step's observation, kept in
 * the journal, and the roll's order follows it (src/plan/active-passive.ts): the standbys first,
 * a switchover to the first of them, the active one last. A resume follows the journaled answer,
 * not a new one: by then ferry's own switchover may have made another host active.
 */
import { askRoles, theActive } from "../observe.js";
import { type ActionOf, failed, type StepKind } from "./step-kind.js";

export const roles: StepKind<ActionOf<"roles">> = {
  async run(action, { members, driverFor, signal, step }) {
    const ofComponent = members.filter((m) => m.component === action.component && m.roleCommand);
    const answers = await askRoles(ofComponent, driverFor, { timeoutMs: step.timeoutMs, signal });
    const output = answers.map((a) => `${a.host}: ${a.role}\n`).join("");
    const found = theActive(action.component, answers);
    if ("problem" in found) return failed(found.problem, output);
    return { ok: true, exitCode: 0, output, observed: { active: found.host } };
  },
};
