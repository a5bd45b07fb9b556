/**
 * Batches, soak and metric gates through `bin/ferry`, against a real Prometheus scraping the notes
 * product's API servers (their /metrics). Three API hosts roll in batches [1, "100%"]: h1 first,
 * then h2 and h3 side by side. A release made to fail (NOTES_FAULT) raises its error counter, so
 * its gate fails after the first batch and the hop rolls back before the second starts; a query
 * with no data pauses the run (exit 130) until the data is there.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { loadCluster } from "../src/cluster/cluster.js";
import { FIRST, writeSampleCluster } from "../src/demo/sample-cluster.js";
import { runOnEveryMember } from "../src/demo/sample-processes.js";
import { DriverPool } from "../src/drivers/driver-pool.js";
import { freePort, type Prometheus, prometheusSkip, startPrometheus } from "./support/prometheus.js";
import { ferry } from "./support/run-ferry.js";
import { ferryAsync } from "./support/run-ferry-async.js";
import { serveCluster } from "./support/serve.js";

const ERRORS = "sum(notes_errors_total)";

/**
 * One Prometheus for the whole file, told every target at its start: it takes up new targets at
 * most every 5 s, so the ports of every test's API servers are chosen up front. The probe is a
 * test-controlled target whose /metrics body may hold no series at all (the no-data case).
 */
interface Shared {
  readonly prometheus: Prometheus;
  /** Three API ports per test, taken in turn. */
  readonly ports: number[][];
  probe: string;
  close(): Promise<void>;
}

async function startShared(tests: number): Promise<Shared> {
  const dir = mkdtempSync(join(tmpdir(), "ferry-gates-prom-"));
  const ports: number[][] = [];
  for (let i = 0; i < tests; i++) ports.push([await freePort(), await freePort(), await freePort()]);
  const shared = { probe: "" } as { probe: string };
  const probe: Server = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
    res.end(shared.probe);
  });
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const probePort = (probe.address() as { port: number }).port;
  const targets = [...ports.flat(), probePort].map((p) => `127.0.0.1:${p}`);
  const prometheus = await startPrometheus(dir, targets);
  // Its targets are taken up, and scraped, once the probe has been.
  await prometheus.until(`up{instance="127.0.0.1:${probePort}"}`, (v) => v === 1);
  return Object.assign(shared, {
    prometheus,
    ports,
    close: async () => {
      await prometheus.stop();
      await new Promise((resolve) => probe.close(resolve));
      rmSync(dir, { recursive: true, force: true });
    },
  });
}

interface Setup {
  readonly root: string;
  readonly clusterFile: string;
  readonly hosts: readonly string[];
  stop(): Promise<void>;
}

/**
 * The notes API on h1–h3 (no gateway, no workers) on the next three ports, started on 1.0.0, in
 * batches [1, "100%"] with a soak and the gates given; NOTES_FAULT is `fault` on every host.
 */
async function setUp(shared: Shared, fault: string, gates: unknown[]): Promise<Setup> {
  const root = mkdtempSync(join(tmpdir(), "ferry-gates-"));
  const sample = await writeSampleCluster(root);
  const file = JSON.parse(readFileSync(sample.clusterFile, "utf8"));
  file.components = file.components.filter((c: { name: string }) => c.name === "api");
  file.hosts = file.hosts.filter((h: { name: string }) => sample.apiHosts.includes(h.name));
  const ports = shared.ports.shift() as number[];
  file.hosts.forEach((h: { vars: { port: number } }, i: number) => {
    h.vars.port = ports[i] as number;
  });
  const api = file.components[0];
  delete api.maxUnavailable;
  delete api.drain;
  api.commands.start = api.commands.start.replace("NOTES_PORT=", `NOTES_FAULT=${fault} NOTES_PORT=`);
  api.batches = [1, "100%"];
  api.soak = "500ms";
  api.gates = gates;
  writeFileSync(sample.clusterFile, JSON.stringify(file, null, 2));

  const cluster = loadCluster(sample.clusterFile);
  const pool = new DriverPool(cluster.hosts);
  await runOnEveryMember(cluster, pool, ["install", "activate", "start"], FIRST);
  // Every server scraped once at least: the gate's query has its data before the run starts.
  const instances = ports.map((p) => `127.0.0.1:${p}`).join("|");
  await shared.prometheus.until(
    `count(notes_release_info{version="1.0.0", instance=~"${instances}"})`,
    (v) => v === 3,
  );
  const stop = async () => {
    await runOnEveryMember(cluster, pool, ["stop"], FIRST).catch(() => {});
    await pool.close();
    rmSync(root, { recursive: true, force: true });
  };
  return { root, clusterFile: sample.clusterFile, hosts: sample.apiHosts, stop };
}

function errorsGate(url: string) {
  return { name: "errors", prometheus: { url, query: ERRORS, below: 1 }, interval: "400ms", count: 3 };
}

/** What a host ever ran or installed of `version`: its install folder, and its server log. */
function ranOn(s: Setup, host: string, version: string): boolean {
  const home = join(s.root, host, "api");
  const log = existsSync(`${home}.log`) ? readFileSync(`${home}.log`, "utf8") : "";
  return existsSync(join(home, "versions", version)) || log.includes(`api ${version} `);
}

interface Measured {
  step: string;
  verdict: string;
  value: number | null;
  detail: string;
}

describe("batches, soak and metric gates against a real Prometheus", { ...prometheusSkip() }, () => {
  // The gates need a URL known only once Prometheus runs: each test writes its gates in.
  let s: Setup | undefined;
  let shared: Shared | undefined;
  const prom = () => shared as Shared;
  before(async () => {
    shared = await startShared(3);
  });
  after(async () => {
    await s?.stop();
    await shared?.close();
  });

  it("a good release passes its gate after each batch and completes", { timeout: 90_000 }, async () => {
    s = await setUp(prom(), "none", []);
    const file = JSON.parse(readFileSync(s.clusterFile, "utf8"));
    file.components[0].gates = [errorsGate(prom().prometheus.url)];
    writeFileSync(s.clusterFile, JSON.stringify(file, null, 2));

    const plan = ferry(["plan", "-c", s.clusterFile, "--to", "1.0.1"]);
    assert.equal(plan.code, 0, plan.stderr);
    assert.match(plan.stdout, /api: 3 hosts, in batches of 1, 2, each batch side by side/);
    assert.match(
      plan.stdout,
      /after batch 1: soak 0\.5s → gate errors \(sum\(notes_errors_total\) below 1, 3 × 0\.4s\)/,
    );

    const r = await ferryAsync(["apply", "-c", s.clusterFile, "--to", "1.0.1", "--yes"]);
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    const history = JSON.parse(ferry(["history", "-c", s.clusterFile, "--json"]).stdout);
    const measured: Measured[] = history[0].measurements;
    const steps = [...new Set(measured.map((m) => m.step))];
    assert.deepEqual(steps, ["1.0.1/roll/api/batch-1/gate/errors", "1.0.1/roll/api/batch-2/gate/errors"]);
    assert.equal(measured.length, 6);
    assert.ok(
      measured.every((m) => m.verdict === "pass" && m.value === 0),
      JSON.stringify(measured),
    );
    for (const h of s.hosts) assert.ok(ranOn(s, h, "1.0.1"), `${h} runs 1.0.1`);

    // The API shows the same measurements with the run.
    const served = await serveCluster(["-c", s.clusterFile]);
    try {
      const detail = (await (await fetch(`${served.url}api/runs/${history[0].id}`)).json()) as {
        run: { measurements: Measured[] };
      };
      assert.deepEqual(detail.run.measurements, measured);
    } finally {
      await served.stop();
    }
    await s.stop();
    s = undefined;
  });

  it("a bad release fails its gate after the first batch and rolls back before the second starts", {
    timeout: 90_000,
  }, async () => {
    s = await setUp(prom(), "1.0.1", []);
    const file = JSON.parse(readFileSync(s.clusterFile, "utf8"));
    file.components[0].gates = [errorsGate(prom().prometheus.url)];
    writeFileSync(s.clusterFile, JSON.stringify(file, null, 2));

    const r = await ferryAsync(["apply", "-c", s.clusterFile, "--to", "1.0.1", "--yes"]);
    assert.equal(r.code, 1, r.stderr.slice(-3000));
    assert.match(r.stderr + r.stdout, /gate errors failed/);
    const history = JSON.parse(ferry(["history", "-c", s.clusterFile, "--json"]).stdout);
    assert.equal(history[0].status, "rolled-back");
    const measured: Measured[] = history[0].measurements;
    assert.ok(measured.length > 0);
    assert.ok(measured.every((m) => m.step === "1.0.1/roll/api/batch-1/gate/errors"));
    assert.equal(measured.at(-1)?.verdict, "fail");
    // ferry report draws each measurement on the gate's bar and lists it, the failed one as failed.
    const page = join(s.root, "report.html");
    assert.equal(ferry(["report", "-c", s.clusterFile, "--out", page]).code, 0);
    const html = readFileSync(page, "utf8");
    assert.equal(html.match(/<circle class="m /g)?.length, measured.length);
    assert.equal(html.match(/<tr data-verdict="/g)?.length, measured.length);
    assert.match(html, /<circle class="m fail" data-gate="errors" data-verdict="fail"/);
    // h1 ran the bad release and is back on 1.0.0; no host of the second batch ever ran it.
    assert.ok(ranOn(s, "h1", "1.0.1"));
    assert.equal(readFileSync(join(s.root, "h1", "api", "current", "VERSION"), "utf8").trim(), "1.0.0");
    for (const h of ["h2", "h3"]) assert.equal(ranOn(s, h, "1.0.1"), false, `${h} never ran 1.0.1`);
    const status = JSON.parse(ferry(["status", "-c", s.clusterFile, "--json"]).stdout);
    assert.equal(status.version, "1.0.0");
    assert.ok(status.members.every((m: { healthy: boolean }) => m.healthy));
    await s.stop();
    s = undefined;
  });

  it("a query with no data pauses the run (exit 130); resume once the data is there completes it", {
    timeout: 90_000,
  }, async () => {
    s = await setUp(prom(), "none", []);
    const file = JSON.parse(readFileSync(s.clusterFile, "utf8"));
    const ready = {
      name: "ready",
      prometheus: { url: prom().prometheus.url, query: "max(canary_ready)", above: 0 },
      interval: "300ms",
      count: 2,
    };
    file.components[0].gates = [ready];
    writeFileSync(s.clusterFile, JSON.stringify(file, null, 2));

    const r = await ferryAsync(["apply", "-c", s.clusterFile, "--to", "1.0.1", "--yes"]);
    assert.equal(r.code, 130, r.stderr.slice(-3000));
    assert.match(r.stderr + r.stdout, /gate ready is inconclusive: no data/);
    const paused = JSON.parse(ferry(["status", "-c", s.clusterFile, "--json"]).stdout);
    assert.equal(paused.run.status, "paused");
    assert.deepEqual(
      paused.run.measurements.map((m: Measured) => [m.step, m.verdict, m.value]),
      [["1.0.1/roll/api/batch-1/gate/ready", "inconclusive", null]],
    );
    const text = ferry(["status", "-c", s.clusterFile]);
    assert.match(text.stdout, /gate 1\.0\.1\/roll\/api\/batch-1\/gate\/ready:\n\s+\S+ inconclusive: no data/);
    for (const h of ["h2", "h3"]) assert.equal(ranOn(s, h, "1.0.1"), false, `${h} waits for the gate`);

    prom().probe = "canary_ready 1\n";
    await prom().prometheus.until("max(canary_ready)", (v) => v === 1);
    const resumed = await ferryAsync(["resume", "-c", s.clusterFile, "--yes"]);
    assert.equal(resumed.code, 0, resumed.stderr.slice(-3000));
    const history = JSON.parse(ferry(["history", "-c", s.clusterFile, "--json"]).stdout);
    assert.equal(history[0].status, "done");
    const verdicts = history[0].measurements.map((m: Measured) => m.verdict);
    assert.deepEqual(verdicts, ["inconclusive", "pass", "pass", "pass", "pass"]);
    for (const h of s.hosts) assert.ok(ranOn(s, h, "1.0.1"), `${h} runs 1.0.1`);
    await s.stop();
    s = undefined;
  });
});

/** A two-host cluster whose install leaves a mark, with `component` lines added to its component. */
function smallCluster(dir: string, component: readonly string[]): string {
  writeFileSync(join(dir, "releases.yaml"), 'product: p\nscheme: semver\nreleases: ["1.0.0", "1.0.1"]\n');
  const file = join(dir, "cluster.yaml");
  writeFileSync(
    file,
    [
      "name: demo",
      "catalog: ./releases.yaml",
      "hosts: [{ name: h1, address: 127.0.0.1 }, { name: h2, address: 127.0.0.1 }]",
      "components:",
      "  - name: api",
      "    hosts: [h1, h2]",
      ...component,
      `    commands: { version: "echo 1.0.0", install: "touch ${dir}/ran", stop: "true", activate: "true", start: "true" }`,
      "",
    ].join("\n"),
  );
  return file;
}

it("a gate whose Prometheus cannot be asked fails the preflight: exit 3, no host touched", async () => {
  const dir = mkdtempSync(join(tmpdir(), "ferry-gates-preflight-"));
  try {
    // A port nobody listens on: what a mistyped URL gives.
    const port = await freePort();
    const file = smallCluster(dir, [
      "    batches: [1]",
      "    gates:",
      `      - { name: errors, prometheus: { url: "http://127.0.0.1:${port}", query: "up", below: 1 } }`,
    ]);
    const r = ferry(["apply", "-c", file, "--to", "1.0.1", "--yes"]);
    assert.equal(r.code, 3, r.stdout + r.stderr);
    assert.match(
      r.stdout + r.stderr,
      /1\.0\.1\/preflight\/gates failed: gate errors: Prometheus at http:\/\/127\.0\.0\.1:\d+ could not be asked/,
    );
    assert.equal(existsSync(join(dir, "ran")), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

it("batches beside maxUnavailable is invalid input: exit 2 naming the file's line, nothing run", () => {
  const dir = mkdtempSync(join(tmpdir(), "ferry-gates-input-"));
  try {
    smallCluster(dir, ["    maxUnavailable: 1", "    batches: [1, 100%]"]);
    for (const args of [["plan"], ["apply", "--yes"]]) {
      const r = ferry([...args, "-c", join(dir, "cluster.yaml"), "--to", "1.0.1"]);
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match(
        r.stderr,
        /cluster\.yaml:8:\d+: components\[0\]\.batches: give either batches or maxUnavailable, not both/,
      );
    }
    assert.equal(existsSync(join(dir, "ran")), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
