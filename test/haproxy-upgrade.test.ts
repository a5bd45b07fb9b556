/**
 * HAProxy drain inside a real run: the notes product's API servers behind a real HAProxy (in the
 * notes gateway's place), upgraded through every release by `bin/ferry apply` with
 * `drain: { haproxy: … }` while load goes through HAProxy. Nothing fails, and each server is seen
 * drained in HAProxy, with no session left, at the moment its stop begins.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { it } from "node:test";
import { gracefulStop, loadCluster } from "../src/cluster/cluster.js";
import { FIRST, writeSampleCluster } from "../src/demo/sample-cluster.js";
import { runOnEveryMember, waitUntilUp } from "../src/demo/sample-processes.js";
import { DriverPool } from "../src/drivers/driver-pool.js";
import { type Haproxy, haproxyMissing, haproxySkip, startHaproxy } from "./support/haproxy.js";
import { ROOT } from "./support/run-ferry.js";
import { ferryAsync } from "./support/run-ferry-async.js";

const load = (await import(
  new URL("../examples/notes/load.mjs", import.meta.url).href
)) as typeof import("../examples/notes/load.mjs");

it("upgrades the notes product behind a real HAProxy under load, draining each server there first: 0 failed requests", {
  timeout: 240_000,
  ...haproxySkip(),
}, async () => {
  const why = haproxyMissing();
  assert.ok(!why, why);
  const root = mkdtempSync(join(tmpdir(), "ferry-haproxy-run-"));
  const socket = join(root, "haproxy.sock");
  const sample = await writeSampleCluster(root, undefined, { haproxy: { socket, backend: "notes" } });

  // Each API server's stop first writes down what HAProxy says of it (its status and sessions),
  // then stops it as ferry's own graceful stop does: proof from HAProxy, at the moment of the stop.
  const seen = join(root, "haproxy-seen.mjs");
  writeFileSync(
    seen,
    [
      `import { serverStat } from ${JSON.stringify(`${ROOT}dist/probes/traffic-drain.js`)};`,
      "const [socket, backend, server] = process.argv.slice(2);",
      "const s = await serverStat(socket, backend, server);",
      'console.log([server, s.status, s.scur].join(" "));',
      "",
    ].join("\n"),
  );
  const file = JSON.parse(readFileSync(sample.clusterFile, "utf8"));
  const api = file.components.find((c: { name: string }) => c.name === "api");
  api.commands.stop = `node ${seen} ${socket} notes {{host}} >> ${root}/{{host}}.at-stop && ${gracefulStop(api.pidFile, 15_000)}`;
  writeFileSync(sample.clusterFile, JSON.stringify(file, null, 2));

  const cluster = loadCluster(sample.clusterFile);
  const pool = new DriverPool(cluster.hosts);
  let proxy: Haproxy | undefined;
  try {
    // HAProxy takes the gateway's place: its port, and the API servers by host name.
    proxy = await startHaproxy({
      dir: root,
      port: sample.gateway.port,
      backend: "notes",
      servers: sample.apiHosts.map((h) => ({ name: h, port: sample.apiPorts[h] as number })),
    });
    await runOnEveryMember(cluster, pool, ["install", "activate", "start"], FIRST);
    const url = `http://127.0.0.1:${proxy.port}`;
    await waitUntilUp(cluster, pool, url);

    const traffic = load.startLoad({
      url,
      rate: 100,
      concurrency: 8,
      durationMs: 5 * 60_000,
      maxRequests: 50_000,
    });
    const r = await ferryAsync(["apply", "-c", sample.clusterFile, "--to", "1.2.0", "--yes"]);
    traffic.stop();
    const report = await load.verify(await traffic.done);
    assert.equal(r.code, 0, r.stderr.slice(-3000) + r.stdout.slice(-3000));

    assert.ok(report.requests.sent > 0);
    assert.deepEqual(report.problems, []);
    assert.equal(report.requests.failed, 0);
    assert.equal(report.writes.lost, 0);
    assert.equal(report.jobs.lost, 0);

    // At each of its three stops (one a hop), HAProxy had the server drained, with no session left.
    for (const h of sample.apiHosts) {
      assert.deepEqual(
        readFileSync(join(root, `${h}.at-stop`), "utf8")
          .trim()
          .split("\n"),
        [`${h} DRAIN 0`, `${h} DRAIN 0`, `${h} DRAIN 0`],
      );
    }
    // HAProxy's own log: each server entered drain and left it once a hop, and answered requests.
    const log = proxy.log();
    for (const h of sample.apiHosts) {
      assert.equal(log.match(new RegExp(`^Server notes/${h} enters drain state`, "gm"))?.length, 3, log);
      assert.equal(
        log.match(new RegExp(`^Server notes/${h} is UP \\(leaving forced drain\\)`, "gm"))?.length,
        3,
      );
      assert.match(log, new RegExp(` web notes/${h} [\\d/]+ 201 `), `${h} served requests`);
    }
  } finally {
    await runOnEveryMember(cluster, pool, ["stop"], FIRST).catch(() => {});
    await proxy?.stop();
    await pool.close();
    rmSync(root, { recursive: true, force: true });
  }
});
