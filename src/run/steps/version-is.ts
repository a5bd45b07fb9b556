/**
 * `version-is`: the step's member reports the expected version (its `version` command). It is
 * the check of a step that activates a release, asked on resume.
 */
import { readVersion } from "../observe.js";
import { type ActionOf, failed, passed, type StepKind } from "./step-kind.js";

export const versionIs: StepKind<ActionOf<"version-is">> = {
  async run(action, { member, driver, signal }) {
    if (!member) return failed("no member to ask its version");
    const r = await readVersion(member, driver, signal);
    return r.version === action.version
      ? passed(`${r.version}\n`, 0)
      : failed(`runs ${r.version ?? `no known version (${r.error})`}, not ${action.version}`);
  },
};
