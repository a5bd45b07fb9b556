/**
 * `cluster-is`: every member of the plan reports the expected version, and passes one health
 * probe when `healthy` (preflight and verify). A failure names the first few members that do not,
 * and how many more there are, so a fleet of thousands gives a readable line.
 */
import { observe } from "../observe.js";
import { type ActionOf, failed, passed, type StepKind } from "./step-kind.js";

/** How many of the members that do not match a failure names. */
const NAMED = 5;

export const clusterIs: StepKind<ActionOf<"cluster-is">> = {
  async run(action, { members, driverFor, signal, known }) {
    const seen = await observe(members, driverFor, {
      health: action.healthy,
      signal,
      ...(known ? { known } : {}),
    });
    const wrong = seen.members.filter((m) => m.version !== action.version || m.healthy === false);
    if (wrong.length === 0) return passed(`${seen.members.length} members run ${action.version}\n`);
    const list = wrong
      .slice(0, NAMED)
      .map(
        (m) =>
          `${m.component}@${m.host} ${m.version !== action.version ? `runs ${m.version ?? "?"}` : "is unhealthy"}${m.error ? ` (${m.error})` : ""}`,
      );
    const more = wrong.length > NAMED ? `; and ${wrong.length - NAMED} more` : "";
    return failed(
      `expected every member on ${action.version}${action.healthy ? " and healthy" : ""}: ${list.join("; ")}${more}`,
    );
  },
};
