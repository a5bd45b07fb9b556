/**
 * The `alarms` step kind: the run goes on only while Alertmanager has no alert firing that holds
 * it. One that fires holds the run, waiting for "alarm" with the alert named, and fails the step
 * once it has held it for the deadline; an Alertmanager that cannot be asked holds it the same
 * way (an alarm check that cannot see the alerts does not pass).
 */
import { describeAlerts, firingAlerts, holdingAlerts } from "../../gates/alertmanager.js";
import { hold } from "../waiting.js";
import { type ActionOf, holdResult, type StepKind } from "./step-kind.js";

export const alarmCheck: StepKind<ActionOf<"alarms">> = {
  async run(action, ctx) {
    const result = await hold(ctx.waiting, {
      for: "alarm",
      intervalMs: action.intervalMs,
      deadlineMs: action.deadlineMs,
      poll: async () => {
        try {
          const firing = holdingAlerts(await firingAlerts(action.alertmanager, ctx.signal), action.ignore);
          if (firing.length === 0) return { go: true, how: "no alert fires" };
          return { go: false, detail: `firing: ${describeAlerts(firing)}` };
        } catch (err) {
          return { go: false, detail: (err as Error).message };
        }
      },
    });
    return holdResult(result);
  },
};
