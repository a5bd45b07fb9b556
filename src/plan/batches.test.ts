import assert from "node:assert/strict";
import { test } from "node:test";
import type { BatchSize } from "../cluster/cluster-schema.js";
import { splitBatches } from "./batches.js";

const rows: [BatchSize[], number, number[]][] = [
  // The DESIGN.md example: one canary, a quarter, then the rest.
  [[1, "25%", "100%"], 10, [1, 3, 6]],
  // The last size repeats until every host is done.
  [[1, 2], 7, [1, 2, 2, 2]],
  [[3], 7, [3, 3, 1]],
  // A percentage is of the component's hosts, rounded up, at least one host.
  [["30%"], 10, [3, 3, 3, 1]],
  [["25%"], 3, [1, 1, 1]],
  [["1%"], 5, [1, 1, 1, 1, 1]],
  [["33.3%"], 3, [1, 1, 1]],
  [["50%"], 3, [2, 1]],
  // A batch never takes more than is left; sizes past the end are not used.
  [[5, 1], 3, [3]],
  [[1, "100%", 1], 4, [1, 3]],
  [["100%"], 4, [4]],
  [[1], 1, [1]],
  [[1, 2], 0, []],
];

for (const [sizes, hosts, want] of rows) {
  test(`splitBatches(${JSON.stringify(sizes)}, ${hosts}) is ${JSON.stringify(want)}`, () => {
    const got = splitBatches(sizes, hosts);
    assert.deepEqual(got, want);
    assert.equal(
      got.reduce((a, b) => a + b, 0),
      hosts,
    );
  });
}
