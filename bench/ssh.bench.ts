/**
 * ferry's own cost over SSH: a cluster of trivial commands on 8 lab hosts (network namespaces
 * with their own sshd, test/lab), upgraded one hop at a time through the real executor, journal on
 * SQLite. Each command times itself on the host; the orchestration overhead is the wall time
 * minus the commands' own time, per host-step. Hosts roll one at a time (maxUnavailable 1), so
 * no two commands overlap and the subtraction is exact. Needs root, `ip` and /usr/sbin/sshd.
 *
 *   npm run bench:ssh [-- --hosts N] [-- --runs N] [-- --json]
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { loadCatalog } from "../src/catalog/index.js";
import { loadCluster } from "../src/cluster/cluster.js";
import { RunEvents } from "../src/run/events.js";
import { apply } from "../src/run/upgrade.js";
import { openStateStore } from "../src/store/open-store.js";
import { labUnavailable, makeLab } from "../test/lab/lab.js";

const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const HOSTS = flag("--hosts", 8);
const RUNS = flag("--runs", 5);
const json = args.includes("--json");

const why = labUnavailable();
if (why) {
  console.error(`bench:ssh cannot run here: ${why}`);
  process.exit(1);
}

const releases = Array.from({ length: RUNS + 1 }, (_, i) => `1.0.${i}`);
const lab = await makeLab({ hosts: HOSTS });
const dir = mkdtempSync(join(tmpdir(), "fl6-bench-"));
try {
  for (const h of lab.hosts) {
    mkdirSync(join(h.root, "v"), { recursive: true });
    writeFileSync(join(h.root, "VERSION"), "1.0.0\n");
  }
  writeFileSync(
    join(dir, "releases.yaml"),
    `product: bench\nscheme: semver\nreleases:\n${releases.map((r) => `  - "${r}"`).join("\n")}\n`,
  );
  // Each command writes its own start and end (ns, by the host's clock) to the host's log.
  const timed = (body: string) =>
    `s=$(date +%s%N); ${body}; e=$(date +%s%N); echo "$s $e" >> {{vars.root}}/times`;
  const commands = {
    version: timed("cat {{vars.root}}/VERSION"),
    install: timed("touch {{vars.root}}/v/{{version}}"),
    stop: timed("rm -f {{vars.root}}/running"),
    activate: timed("echo {{version}} > {{vars.root}}/VERSION"),
    start: timed("touch {{vars.root}}/running"),
  };
  const yaml = [
    "name: bench",
    "catalog: releases.yaml",
    "state: state/ferry.db",
    "hosts:",
    ...lab.hosts.map(
      (h) =>
        `  - { name: ${h.name}, address: ${h.address}, driver: ssh, user: root, identityFile: ${lab.clientKey}, knownHostsFile: ${lab.knownHostsFile}, vars: { root: "${h.root}" } }`,
    ),
    "components:",
    "  - name: api",
    `    hosts: [${lab.hosts.map((h) => h.name).join(", ")}]`,
    "    maxUnavailable: 1",
    "    commands:",
    ...Object.entries(commands).map(([k, v]) => `      ${k}: ${JSON.stringify(v)}`),
    `    health: { exec: ${JSON.stringify(timed("test -f {{vars.root}}/running"))}, healthyFor: 0s, interval: 50ms }`,
  ].join("\n");
  writeFileSync(join(dir, "cluster.yaml"), `${yaml}\n`);
  const cluster = loadCluster(join(dir, "cluster.yaml"));
  const catalog = loadCatalog(cluster.catalog);

  const ownMs = (): number => {
    let ns = 0n;
    for (const h of lab.hosts) {
      const file = join(h.root, "times");
      if (!existsSync(file)) continue;
      for (const line of readFileSync(file, "utf8").trim().split("\n")) {
        const [s, e] = line.split(" ").map((x) => BigInt(x));
        ns += (e as bigint) - (s as bigint);
      }
      rmSync(file);
    }
    return Number(ns) / 1e6;
  };

  const results: { wallMs: number; ownMs: number; hostSteps: number; commands: number }[] = [];
  for (let run = 1; run <= RUNS; run++) {
    ownMs();
    const store = await openStateStore(cluster.state, cluster.dir);
    const events = new RunEvents();
    let hostSteps = 0;
    events.on((e) => {
      if (e.type === "step" && e.state === "done" && e.host) hostSteps++;
    });
    const started = performance.now();
    const outcome = await apply({ cluster, catalog, store, events, to: releases[run] as string });
    const wallMs = performance.now() - started;
    await store.close();
    if (!outcome.succeeded) throw new Error(`run ${run} failed: ${outcome.message}`);
    const commands = lab.hosts
      .map((h) => join(h.root, "times"))
      .filter(existsSync)
      .reduce((n, f) => n + readFileSync(f, "utf8").trim().split("\n").length, 0);
    results.push({ wallMs, ownMs: ownMs(), hostSteps, commands });
  }

  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  const overhead = results.map((r) => (r.wallMs - r.ownMs) / r.hostSteps);
  const report = {
    hosts: HOSTS,
    runs: RUNS,
    hostSteps: results[0]?.hostSteps,
    commandsPerRun: results[0]?.commands,
    wallMs: median(results.map((r) => r.wallMs)),
    commandsOwnMs: median(results.map((r) => r.ownMs)),
    overheadMsPerHostStep: median(overhead),
    overheadMsTotal: median(results.map((r) => r.wallMs - r.ownMs)),
    overheadMsPerHostStepEachRun: overhead.map((o) => Math.round(o * 10) / 10),
  };
  if (json) console.log(JSON.stringify(report));
  else {
    console.log(`bench:ssh  ${HOSTS} lab hosts over SSH, one hop per run, ${RUNS} runs (medians)`);
    console.log(`  host-steps per run        ${report.hostSteps} (${report.commandsPerRun} commands)`);
    console.log(`  wall                      ${report.wallMs.toFixed(0)} ms`);
    console.log(`  commands' own time        ${report.commandsOwnMs.toFixed(0)} ms`);
    console.log(
      `  overhead per host-step    ${report.overheadMsPerHostStep.toFixed(1)} ms  (each run: ${report.overheadMsPerHostStepEachRun.join(", ")})`,
    );
    console.log(`  overhead in all           ${report.overheadMsTotal.toFixed(0)} ms`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
  lab.close();
}
