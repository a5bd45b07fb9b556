import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { gateStanding, judgeReading, type MeasurementVerdict } from "./gate-verdict.js";
import { readingOf } from "./prometheus.js";

const below = { url: "http://p", query: "q", bound: "below", threshold: 0.01 } as const;
const above = { url: "http://p", query: "q", bound: "above", threshold: 0 } as const;

describe("judgeReading", () => {
  it("passes a value within its bound, fails one outside it (the bound itself fails)", () => {
    assert.equal(judgeReading({ value: 0.001, reason: "" }, below).verdict, "pass");
    assert.equal(judgeReading({ value: 0.01, reason: "" }, below).verdict, "fail");
    assert.equal(judgeReading({ value: 0.5, reason: "" }, below).detail, "0.5 is not below 0.01");
    assert.equal(judgeReading({ value: 1, reason: "" }, above).verdict, "pass");
    assert.equal(judgeReading({ value: 0, reason: "" }, above).verdict, "fail");
  });

  it("calls no value inconclusive, with its reason, never a pass", () => {
    assert.deepEqual(judgeReading({ value: null, reason: "no data" }, below), {
      verdict: "inconclusive",
      detail: "no data",
    });
  });
});

describe("gateStanding", () => {
  const rows: [string, MeasurementVerdict[], "pause" | "fail" | "pass", number, string][] = [
    ["all passed", ["pass", "pass", "pass"], "pause", 0, "pass"],
    ["still measuring", ["pass", "pass"], "pause", 0, "measuring"],
    ["one failure over a limit of 0", ["pass", "fail"], "pause", 0, "fail"],
    ["one failure within a limit of 1", ["fail", "pass", "pass"], "pause", 1, "pass"],
    ["two failures over a limit of 1", ["fail", "pass", "fail"], "pause", 1, "fail"],
    ["no data pauses by default", ["pass", "inconclusive"], "pause", 0, "pause"],
    ["no data with inconclusive: fail is a failure", ["inconclusive"], "fail", 0, "fail"],
    ["no data with inconclusive: fail within the limit", ["inconclusive", "pass", "pass"], "fail", 1, "pass"],
    [
      "no data with inconclusive: pass counts as passed",
      ["inconclusive", "pass", "inconclusive"],
      "pass",
      0,
      "pass",
    ],
  ];
  for (const [what, verdicts, inconclusive, failureLimit, want] of rows) {
    it(`${what}: ${want}`, () => {
      assert.equal(gateStanding(verdicts, { count: 3, failureLimit, inconclusive }), want);
    });
  }
});

describe("readingOf (a Prometheus instant query's data)", () => {
  const vector = (...values: string[]) => ({
    resultType: "vector",
    result: values.map((v) => ({ metric: {}, value: [1700000000, v] })),
  });
  it("takes the one sample of a vector, or a scalar", () => {
    assert.deepEqual(readingOf(vector("0.25")), { value: 0.25, reason: "" });
    assert.deepEqual(readingOf({ resultType: "scalar", result: [1700000000, "3"] }), {
      value: 3,
      reason: "",
    });
    assert.equal(readingOf(vector("+Inf")).value, Number.POSITIVE_INFINITY);
  });
  it("has no value for an empty vector, NaN, several series or another result type", () => {
    assert.match(readingOf(vector()).reason, /no data/);
    assert.equal(readingOf(vector()).value, null);
    assert.match(readingOf(vector("NaN")).reason, /NaN/);
    assert.equal(readingOf(vector("NaN")).value, null);
    assert.match(readingOf(vector("1", "2")).reason, /2 series, not one/);
    assert.match(readingOf({ resultType: "matrix", result: [] }).reason, /matrix result/);
    assert.equal(readingOf(undefined).value, null);
  });
});
