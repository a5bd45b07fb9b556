/**
 * The FERRY_* values a command of the run gets: the template values of its member (or of this
 * machine) in its hop, forward or back, and the run id. Made once per hop, member and direction
 * and kept, since a big run's steps ask for the same few thousands of times.
 */
import { templateEnv } from "../../cluster/template.js";
import { memberKey } from "../../plan/build-plan.js";
import { directionOf, opposite } from "../../plan/hop-context.js";
import type { Member, Plan, PlannedHop } from "../../plan/plan.js";

export class CommandEnvs {
  readonly #made = new Map<string, Readonly<Record<string, string>>>();
  readonly #plan: Plan;
  readonly #runId: string;

  constructor(plan: Plan, runId: string) {
    this.#plan = plan;
    this.#runId = runId;
  }

  /** `back`: the way back's values: {{version}} is the hop's from, {{from}} its to, {{direction}} the other way. */
  of(hop: PlannedHop, member: Member | undefined, back: boolean): Readonly<Record<string, string>> {
    const key = `${hop.id}|${member ? memberKey(member.host, member.component) : ""}|${back}`;
    let env = this.#made.get(key);
    if (!env) {
      const direction = directionOf(hop.kind);
      env = {
        ...templateEnv({
          version: back ? hop.from : hop.to,
          from: back ? hop.to : hop.from,
          kind: hop.kind,
          direction: back ? opposite(direction) : direction,
          ...(member ? { host: member.host, address: member.address, component: member.component } : {}),
          vars: member ? member.vars : this.#plan.vars,
        }),
        FERRY_RUN_ID: this.#runId,
      };
      this.#made.set(key, env);
    }
    return env;
  }
}
