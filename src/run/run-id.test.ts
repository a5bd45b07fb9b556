import assert from "node:assert/strict";
import { test } from "node:test";
import { newRunId } from "./run-id.js";

test("run ids started in the same second do not collide, and sort by their start", () => {
  const second = new Date("2026-11-28T04:45:00.250Z");
  const ids = Array.from({ length: 20_000 }, () => newRunId(second));
  assert.equal(new Set(ids).size, ids.length);
  assert.match(ids[0] ?? "", /^20261128T044500Z-[0-9a-f]{12}$/);
  assert.ok(newRunId(new Date("2026-11-28T04:45:01Z")) > (ids[0] ?? ""));
});
