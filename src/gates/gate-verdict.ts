/**
 * How a metric gate judges its measurements (DESIGN.md "Gates"): each measurement passes, fails or
 * is inconclusive (no data, NaN); the gate fails once more than `failureLimit` have failed, pauses
 * at an inconclusive one when `inconclusive: pause`, and passes once `count` are taken without
 * either. `inconclusive: fail` counts one as failed, `pass` as passed. Pure.
 */
import type { MetricGate } from "../cluster/cluster.js";
import type { Reading } from "./prometheus.js";

export type MeasurementVerdict = "pass" | "fail" | "inconclusive";

/** One reading against the gate's bound, with the reason in words. */
export function judgeReading(
  reading: Reading,
  bound: MetricGate["prometheus"],
): { verdict: MeasurementVerdict; detail: string } {
  if (reading.value === null) return { verdict: "inconclusive", detail: reading.reason };
  const ok = bound.bound === "below" ? reading.value < bound.threshold : reading.value > bound.threshold;
  return {
    verdict: ok ? "pass" : "fail",
    detail: `${reading.value} is ${ok ? "" : "not "}${bound.bound} ${bound.threshold}`,
  };
}

/** Where a gate stands after `verdicts`: `measuring` while it needs more. */
export type GateStanding = "measuring" | "pass" | "fail" | "pause";

export function gateStanding(
  verdicts: readonly MeasurementVerdict[],
  gate: Pick<MetricGate, "count" | "failureLimit" | "inconclusive">,
): GateStanding {
  let failures = 0;
  for (const v of verdicts) {
    if (v === "inconclusive" && gate.inconclusive === "pause") return "pause";
    if (v === "fail" || (v === "inconclusive" && gate.inconclusive === "fail")) failures++;
    if (failures > gate.failureLimit) return "fail";
  }
  return verdicts.length >= gate.count ? "pass" : "measuring";
}
