import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { describeAlerts, type FiringAlert, holdingAlerts } from "./alertmanager.js";

const alert = (name: string, labels: Record<string, string> = {}): FiringAlert => ({
  name,
  labels: { alertname: name, ...labels },
  startsAt: "2026-11-27T01:00:00Z",
});

describe("which alerts hold a run", () => {
  it("all firing ones but those ignored by name", () => {
    const firing = [alert("Watchdog"), alert("HighLoad", { instance: "h1" }), alert("DiskFull")];
    assert.deepEqual(
      holdingAlerts(firing, ["Watchdog"]).map((a) => a.name),
      ["HighLoad", "DiskFull"],
    );
    assert.deepEqual(holdingAlerts([alert("Watchdog")], ["Watchdog"]), []);
  });

  it("are named with where they fire, five at most", () => {
    assert.equal(
      describeAlerts([alert("HighLoad", { instance: "h1" }), alert("DiskFull", { job: "node" }), alert("X")]),
      "HighLoad (h1), DiskFull (node), X",
    );
    const many = Array.from({ length: 7 }, (_, i) => alert(`A${i}`));
    assert.equal(describeAlerts(many), "A0, A1, A2, A3, A4 and 2 more");
  });
});
