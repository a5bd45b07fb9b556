/**
 * ferry's own cost over SSH: a cluster of trivial commands on 8 lab hosts (network namespaces
 * with their own sshd, test/lab), upgraded one hop at a time through the real executor, journal on
 * SQLite. Each command times itself on the host; the orchestration overhead is the wall time
 * minus the commands' own time, per host-step. Hosts roll one at a time (maxUnavailable 1), so
 * no two commands overlap and the subtraction is exact. Needs root, `ip` and /usr/sbin/sshd.
 *
 * Measured two ways side by side, alternating runs: commands through the driver's long-lived
 * shells, and one session channel per command (the way without setsid, and ferry's way before).
 *
 *   npm run bench:ssh [-- --hosts N] [-- --runs N] [-- --only shells|channels] [-- --json]
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { loadCatalog } from "../src/catalog/index.js";
import { loadCluster } from "../src/cluster/cluster.js";
import type { Driver } from "../src/drivers/driver.js";
import { LocalDriver } from "../src/drivers/local-driver.js";
import { SshDriver } from "../src/drivers/ssh-driver.js";
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
type Mode = "shells" | "channels";
/** `--only shells` or `--only channels`: one way only. */
const only = args.includes("--only") ? (args[args.indexOf("--only") + 1] as Mode) : undefined;
/** Issue 15's aim for the overhead per host-step. */
const AIM_MS = 3;

const why = labUnavailable();
if (why) {
  console.error(`bench:ssh cannot run here: ${why}`);
  process.exit(1);
}

const releases = Array.from({ length: RUNS * 2 + 1 }, (_, i) => `1.0.${i}`);
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

  type Result = {
    wallMs: number;
    connectMs: number;
    /** ferry's own CPU in the run (this process): the rest of the machine's is the lab's sshds and commands. */
    cpuMs: number;
    ownMs: number;
    hostSteps: number;
    commands: number;
  };
  const results: Record<Mode, Result[]> = { shells: [], channels: [] };
  // Side by side, alternating: commands through long-lived shells (the driver's way), and one
  // session channel per command (its way on a host without setsid, and ferry's way before).
  const modes = (["shells", "channels"] as const).filter((m) => !only || m === only);
  for (let i = 1; i <= RUNS * modes.length; i++) {
    const mode = modes[(i - 1) % modes.length] as Mode;
    const run = i;
    ownMs();
    const drivers = new Map<string | undefined, Driver>();
    const driverFor = (host: string | undefined): Driver => {
      let d = drivers.get(host);
      if (!d) {
        const h = cluster.hosts.find((x) => x.name === host);
        d = h?.ssh
          ? new SshDriver({ host: h.name, address: h.address, settings: h.ssh, shells: mode === "shells" })
          : new LocalDriver({ host: host ?? "(this machine)" });
        drivers.set(host, d);
      }
      return d;
    };
    const store = await openStateStore(cluster.state, cluster.dir);
    const events = new RunEvents();
    let hostSteps = 0;
    events.on((e) => {
      if (e.type === "step" && e.state === "done" && e.host) hostSteps++;
    });
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    // Connecting is part of the run, as apply's own pool does it: every host at once, first.
    await Promise.all(cluster.hosts.map((h) => (driverFor(h.name) as SshDriver).connect()));
    const connectMs = performance.now() - started;
    const outcome = await apply({ cluster, catalog, store, events, driverFor, to: releases[run] as string });
    const wallMs = performance.now() - started;
    const cpu = process.cpuUsage(cpuBefore);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    await Promise.all([...drivers.values()].map((d) => d.close()));
    await store.close();
    if (!outcome.succeeded) throw new Error(`run ${run} failed: ${outcome.message}`);
    const commands = lab.hosts
      .map((h) => join(h.root, "times"))
      .filter(existsSync)
      .reduce((n, f) => n + readFileSync(f, "utf8").trim().split("\n").length, 0);
    results[mode].push({ wallMs, connectMs, cpuMs, ownMs: ownMs(), hostSteps, commands });
  }

  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  const summary = (rs: Result[]) => {
    const overhead = rs.map((r) => (r.wallMs - r.ownMs) / r.hostSteps);
    return {
      hostSteps: rs[0]?.hostSteps,
      commandsPerRun: rs[0]?.commands,
      wallMs: median(rs.map((r) => r.wallMs)),
      connectMs: median(rs.map((r) => r.connectMs)),
      cpuMsPerHostStep: median(rs.map((r) => r.cpuMs / r.hostSteps)),
      commandsOwnMs: median(rs.map((r) => r.ownMs)),
      overheadMsPerHostStep: median(overhead),
      overheadMsTotal: median(rs.map((r) => r.wallMs - r.ownMs)),
      overheadMsPerHostStepEachRun: overhead.map((o) => Math.round(o * 10) / 10),
    };
  };
  const report = {
    hosts: HOSTS,
    runs: RUNS,
    ...Object.fromEntries(modes.map((m) => [m, summary(results[m])])),
  } as { hosts: number; runs: number } & Partial<Record<Mode, ReturnType<typeof summary>>>;
  if (json) console.log(JSON.stringify(report));
  else {
    console.log(`bench:ssh  ${HOSTS} lab hosts over SSH, one hop per run, ${RUNS} runs each way (medians)`);
    for (const m of modes) {
      const r = report[m] as ReturnType<typeof summary>;
      console.log(`  ${m === "shells" ? "through long-lived shells" : "one channel per command"}`);
      console.log(`    host-steps per run        ${r.hostSteps} (${r.commandsPerRun} commands)`);
      console.log(`    wall                      ${r.wallMs.toFixed(0)} ms`);
      console.log(`    of which connecting       ${r.connectMs.toFixed(0)} ms (every host at once)`);
      console.log(`    commands' own time        ${r.commandsOwnMs.toFixed(0)} ms`);
      console.log(
        `    overhead per host-step    ${r.overheadMsPerHostStep.toFixed(1)} ms  (each run: ${r.overheadMsPerHostStepEachRun.join(", ")})`,
      );
      console.log(`    overhead in all           ${r.overheadMsTotal.toFixed(0)} ms`);
      console.log(
        `    ferry's own CPU           ${r.cpuMsPerHostStep.toFixed(1)} ms per host-step (the lab's sshds share this machine's cores)`,
      );
    }
    const ours = report.shells;
    if (ours) {
      const o = ours.overheadMsPerHostStep;
      console.log(
        `AIM ssh overhead per host-step: ${o.toFixed(1)} ms vs ${AIM_MS} ms = ${(o / AIM_MS).toFixed(2)} (aim ≤ 1) ${o <= AIM_MS ? "met" : "NOT met"}`,
      );
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
  lab.close();
}
