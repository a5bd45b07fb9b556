import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { renderFleetMetrics } from "../server/metrics.js";
import type { ClusterRunSummary, FleetRunRecord } from "./fleet-store.js";
import { fleetRunView } from "./fleet-view.js";

const RUN: FleetRunRecord = {
  id: "f1",
  fleet: "edge",
  target: "1.0.1",
  strategy: { groups: ["canary", "rest"], maxParallel: 4, soakMs: 0, maxFailures: 2 },
  status: "running",
  reason: null,
  createdBy: "ops@m1",
  createdAt: 1,
  endedAt: null,
};

function cluster(
  name: string,
  group: string,
  state: ClusterRunSummary["state"],
  extra: Partial<ClusterRunSummary> = {},
) {
  return {
    fleetRunId: "f1",
    cluster: name,
    group,
    ord: 0,
    state,
    version: null,
    worker: null,
    leaseUntil: null,
    claimedAt: null,
    startedAt: null,
    endedAt: null,
    runId: null,
    error: null,
    takeovers: 0,
    file: `/sites/${name}.yaml`,
    ...extra,
  } satisfies ClusterRunSummary;
}

describe("fleetRunView", () => {
  const clusters = [
    cluster("a", "canary", "done", { runId: "r-a" }),
    cluster("b", "rest", "rolled-back", { runId: "r-b", error: "install failed: exit 7" }),
    cluster("c", "rest", "running", { runId: "r-c", worker: "m2:9:x", takeovers: 1 }),
    cluster("d", "rest", "refused", { error: "mixed versions" }),
    cluster("e", "rest", "pending"),
  ];
  const view = fleetRunView(RUN, clusters, (c) => `/runs/${c.cluster}/${c.runId}`);

  it("counts every state, per fleet and per group, zeros included", () => {
    assert.deepEqual(view.counts, {
      pending: 1,
      claimed: 0,
      running: 1,
      done: 1,
      failed: 0,
      "rolled-back": 1,
      refused: 1,
      aborted: 0,
    });
    assert.deepEqual(
      view.groups.map((g) => [g.name, g.counts.done, g.counts.running, g.clusters.map((c) => c.cluster)]),
      [
        ["canary", 1, 0, ["a"]],
        ["rest", 0, 1, ["b", "c", "d", "e"]],
      ],
    );
  });

  it("lists the failed and the refused with their reason, and links only the clusters that have a run", () => {
    assert.deepEqual(
      view.failures.map((f) => [f.cluster, f.state, f.error, f.runUrl]),
      [
        ["b", "rolled-back", "install failed: exit 7", "/runs/b/r-b"],
        ["d", "refused", "mixed versions", null],
      ],
    );
    assert.deepEqual(
      view.groups.flatMap((g) => g.clusters.map((c) => c.runUrl)),
      ["/runs/a/r-a", "/runs/b/r-b", "/runs/c/r-c", null, null],
    );
  });

  it("metrics: clusters by group and state, live claims, failures, takeovers; none yet says so", () => {
    const text = renderFleetMetrics("edge", view);
    for (const line of [
      'ferry_fleet_clusters{fleet="edge",group="canary",state="done"} 1',
      'ferry_fleet_clusters{fleet="edge",group="canary",state="failed"} 0',
      'ferry_fleet_clusters{fleet="edge",group="rest",state="running"} 1',
      'ferry_fleet_run{fleet="edge",run="f1",target="1.0.1",status="running"} 1',
      'ferry_fleet_failed_clusters{fleet="edge"} 1',
      'ferry_fleet_live_clusters{fleet="edge"} 1',
      'ferry_fleet_max_failures{fleet="edge"} 2',
      'ferry_fleet_takeovers{fleet="edge"} 1',
    ])
      assert.ok(text.split("\n").includes(line), `${line}\n${text}`);
    const none = renderFleetMetrics('a"b', null);
    assert.match(none, /^ferry_fleet_run\{fleet="a\\"b",run="",target="",status="none"\} 0$/m);
    assert.doesNotMatch(none, /ferry_fleet_clusters\{/);
    assert.ok(none.endsWith("\n"));
  });
});
