/**
 * `mark`: does nothing but be journaled, so the journal records a moment of the run, such as a
 * hop's point of no return.
 */
import { type ActionOf, passed, type StepKind } from "./step-kind.js";

export const mark: StepKind<ActionOf<"mark">> = {
  async run() {
    return passed();
  },
};
