/**
 * `ferry serve -f fleet.yaml` through the real executable: a fleet of local clusters upgraded by
 * `ferry fleet apply` over the real PostgreSQL, one made to fail, then the fleet's API, a cluster's
 * run opened from its link, the metrics and the dashboard's page.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { launchChromium } from "./support/chromium.js";
import { type FleetFixture, makeFleet } from "./support/fleet-fixture.js";
import { ferryAsync } from "./support/run-ferry-async.js";
import { type Served, serveCluster } from "./support/serve.js";

const HOME = "{{vars.root}}/{{host}}/{{component}}";
const INSTALL = `mkdir -p ${HOME}/versions/{{version}} && echo {{version}} > ${HOME}/versions/{{version}}/VERSION`;

interface ClusterJson {
  cluster: string;
  group: string;
  state: string;
  version: string | null;
  runId: string | null;
  runUrl: string | null;
  error: string | null;
}

describe("ferry serve -f fleet.yaml", () => {
  let f: FleetFixture;
  let served: Served | undefined;

  before(async () => {
    f = await makeFleet({
      groups: [
        { name: "canary", clusters: 1 },
        { name: "rest", clusters: 3 },
      ],
      // One at a time, so the failing cluster (the second of rest) stops the fleet before the last starts.
      strategy: "{ groups: [canary, rest], maxParallel: 1, maxFailures: 1 }",
      ownSchemas: true,
      product: () => ({
        hosts: 1,
        commands: {
          install: `if [ -f {{vars.root}}/broken ]; then echo broken release >&2; exit 7; fi; ${INSTALL}`,
        },
      }),
    });
    const broken = f.clusters.find((c) => c.name === "c02");
    assert.ok(broken);
    writeFileSync(join(broken.product.dir, "hosts", "broken"), "");
    const r = await ferryAsync(["fleet", "apply", "-f", f.fleetFile, "--to", "1.0.1", "--yes", "--json"]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    served = await serveCluster(["-f", f.fleetFile]);
  });

  after(async () => {
    await served?.stop();
    await f?.cleanup();
  });

  const get = async (path: string) => {
    assert.ok(served);
    const res = await fetch(new URL(path, served.url));
    return { status: res.status, type: res.headers.get("content-type") ?? "", text: await res.text() };
  };

  it("GET /api/fleet: the newest fleet run, counts per state and per group, the failures, each cluster's run link", async () => {
    const r = await get("/api/fleet");
    assert.equal(r.status, 200, r.text);
    const body = JSON.parse(r.text);
    assert.equal(body.fleet, "edge");
    assert.equal(body.clusters, 4);
    const run = body.run;
    assert.equal(run.status, "stopped-on-failures");
    assert.equal(run.target, "1.0.1");
    assert.deepEqual(
      Object.entries(run.counts).filter(([, n]) => n !== 0),
      [
        ["pending", 1],
        ["done", 2],
        ["rolled-back", 1],
      ],
    );
    assert.deepEqual(
      run.groups.map((g: { name: string; counts: Record<string, number>; clusters: ClusterJson[] }) => [
        g.name,
        g.counts.done,
        g.clusters.map((c) => [c.cluster, c.state]),
      ]),
      [
        ["canary", 1, [["c00", "done"]]],
        [
          "rest",
          1,
          [
            ["c01", "done"],
            ["c02", "rolled-back"],
            ["c03", "pending"],
          ],
        ],
      ],
    );
    assert.equal(run.failures.length, 1);
    assert.equal(run.failures[0].cluster, "c02");
    assert.equal(run.failures[0].group, "rest");
    assert.match(run.failures[0].error, /exit 7/);
    const clusters: ClusterJson[] = run.groups.flatMap((g: { clusters: ClusterJson[] }) => g.clusters);
    const pending = clusters.find((c) => c.cluster === "c03");
    assert.equal(pending?.runUrl, null, "a cluster that never started has no run to open");
    for (const c of clusters.filter((x) => x.state !== "pending"))
      assert.equal(c.runUrl, `/api/fleet/clusters/${c.cluster}/runs/${c.runId}`);
    assert.equal(run.failures[0].runUrl, clusters.find((c) => c.cluster === "c02")?.runUrl);
  });

  it("opens any cluster's run from its link: the run and its steps, from the cluster's own journal", async () => {
    const body = JSON.parse((await get("/api/fleet")).text);
    const clusters: ClusterJson[] = body.run.groups.flatMap((g: { clusters: ClusterJson[] }) => g.clusters);
    for (const c of clusters.filter((x) => x.runUrl)) {
      const r = await get(c.runUrl as string);
      assert.equal(r.status, 200, r.text);
      const detail = JSON.parse(r.text);
      assert.equal(detail.cluster, c.cluster);
      assert.equal(detail.run.id, c.runId);
      assert.equal(detail.run.to, "1.0.1");
      assert.ok(detail.steps.length > 0);
      const [own] = await f.runsOf(c.cluster);
      assert.equal(own?.id, c.runId);
      if (c.cluster === "c02") {
        assert.equal(detail.run.status, "rolled-back");
        assert.ok(
          detail.steps.some((s: { state: string; error: string | null }) => /exit 7/.test(s.error ?? "")),
        );
      } else assert.equal(detail.run.status, "done");
    }
    assert.equal((await get("/api/fleet/clusters/nobody/runs/x")).status, 404);
    assert.equal((await get(`/api/fleet/clusters/c00/runs/no-such-run`)).status, 404);
  });

  it("refuses -c with -f (exit 2, naming both): which one to serve is unclear", async () => {
    const cluster = f.clusters[0]?.file ?? "";
    const r = await ferryAsync(["serve", "-c", cluster, "-f", f.fleetFile, "--port", "0"]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.ok(r.stderr.includes(cluster) && r.stderr.includes(f.fleetFile), r.stderr);
    assert.match(r.stderr, /not both/);
  });

  it("GET /metrics: the fleet's clusters by group and state, its status and limits", async () => {
    const r = await get("/metrics");
    assert.equal(r.status, 200);
    assert.match(r.type, /^text\/plain; version=0\.0\.4/);
    const lines = r.text.split("\n");
    for (const expected of [
      'ferry_fleet_clusters{fleet="edge",group="canary",state="done"} 1',
      'ferry_fleet_clusters{fleet="edge",group="rest",state="done"} 1',
      'ferry_fleet_clusters{fleet="edge",group="rest",state="rolled-back"} 1',
      'ferry_fleet_clusters{fleet="edge",group="rest",state="pending"} 1',
      'ferry_fleet_clusters{fleet="edge",group="rest",state="running"} 0',
      'ferry_fleet_failed_clusters{fleet="edge"} 1',
      'ferry_fleet_max_failures{fleet="edge"} 1',
      'ferry_fleet_max_parallel{fleet="edge"} 1',
      'ferry_fleet_live_clusters{fleet="edge"} 0',
    ])
      assert.ok(lines.includes(expected), `${expected}\n${r.text}`);
    assert.match(
      r.text,
      /\nferry_fleet_run\{fleet="edge",run="[^"]+",target="1\.0\.1",status="stopped-on-failures"\} 1\n/,
    );
  });

  it("serves the fleet dashboard, and refuses a Host it does not answer to", async () => {
    const page = await get("/");
    assert.equal(page.status, 200);
    assert.match(page.type, /text\/html/);
    assert.match(page.text, /<script type="module" src="fleet\.js">/);
    const js = await get("/fleet.js");
    assert.equal(js.status, 200);
    assert.match(js.text, /\/api\/fleet/);
    assert.ok(served);
    // node:http, since fetch does not let a caller set Host.
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const req = request(
        new URL("/api/fleet", served?.url),
        { headers: { Host: "evil.example" } },
        (res) => {
          res.resume();
          resolve(res.statusCode);
        },
      );
      req.on("error", reject);
      req.end();
    });
    assert.equal(status, 403);
  });

  it("the dashboard shows the groups and their clusters, and a click opens a cluster's run", async () => {
    assert.ok(served);
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(served.url);
      await page.waitForSelector('tr[data-cluster="c02"]', { timeout: 15_000 });
      assert.equal(await page.textContent("#fleet-status"), "stopped-on-failures");
      assert.deepEqual(await page.$$eval(".group", (gs) => gs.map((g) => g.getAttribute("data-group"))), [
        "canary",
        "rest",
      ]);
      assert.equal(await page.textContent('tr[data-cluster="c02"] .state'), "rolled-back");
      assert.match((await page.textContent("#failure-list")) ?? "", /c02 \(rest\) rolled-back: .*exit 7/s);
      // c03 never started: nothing to open.
      assert.equal(await page.$('tr[data-cluster="c03"] a'), null);
      await page.click('tr[data-cluster="c02"] a');
      await page.waitForSelector("#run-steps tr[data-step]", { timeout: 15_000 });
      assert.equal(await page.textContent("#run-cluster"), "c02");
      assert.equal(await page.textContent("#run-status"), "rolled-back");
      const states = await page.$$eval("#run-steps tr[data-step] .state", (cells) =>
        cells.map((c) => c.textContent),
      );
      assert.ok(states.includes("failed") || states.includes("undone"), states.join(", "));
    } finally {
      await browser.close();
    }
  });
});
