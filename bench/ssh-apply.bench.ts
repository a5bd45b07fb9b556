/**
 * A whole `ferry apply --yes` over SSH, as an operator runs it: a one-hop rolling upgrade of 8 lab
 * hosts (network namespaces with their own sshd, test/lab), 5 trivial commands and an exec health
 * check each, maxUnavailable 1, journal on SQLite. The figure is the process's wall time, from
 * spawn to exit (median of --runs), and how much of it passed before the first step began (the
 * journal's startedAt of the run's first step).
 *
 * Side by side, in the same run and on the same lab: the same upgrade as an Ansible playbook
 * (serial: 1, pipelining on, no fact gathering), when ansible-playbook is installed
 * (Debian: apt-get install ansible-core); skipped with the reason otherwise.
 *
 * Needs root, `ip` and /usr/sbin/sshd.   npm run bench:ssh-apply [-- --runs N] [-- --ansible-runs N]
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { openStateStore } from "../src/store/open-store.js";
import { labUnavailable, makeLab } from "../test/lab/lab.js";

const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const HOSTS = 8;
const RUNS = flag("--runs", 7);
const ANSIBLE_RUNS = flag("--ansible-runs", 2);
/** The aims of issue 15. */
const AIM_WALL_MS = 500;
const AIM_TIMES_FASTER = 20;

const why = labUnavailable();
if (why) {
  console.error(`bench:ssh-apply cannot run here: ${why}`);
  process.exit(1);
}
const ferry = join(import.meta.dirname, "..", "bin", "ferry");
const releases = Array.from({ length: RUNS + 1 }, (_, i) => `1.0.${i}`);
const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

const lab = await makeLab({ hosts: HOSTS });
const dir = mkdtempSync(join(tmpdir(), "fl6-bench-apply-"));
try {
  const reset = () => {
    for (const h of lab.hosts) {
      rmSync(h.root, { recursive: true, force: true });
      mkdirSync(join(h.root, "v"), { recursive: true });
      writeFileSync(join(h.root, "VERSION"), "1.0.0\n");
      writeFileSync(join(h.root, "running"), "");
    }
  };
  // The product: what each host runs, the same for ferry and for Ansible.
  const step = {
    version: "cat ROOT/VERSION",
    install: "touch ROOT/v/VERSION_TO",
    stop: "rm -f ROOT/running",
    activate: "echo VERSION_TO > ROOT/VERSION",
    start: "touch ROOT/running",
    health: "test -f ROOT/running",
  };
  const forFerry = (s: string) => s.replace(/ROOT/g, "{{vars.root}}").replace(/VERSION_TO/g, "{{version}}");
  writeFileSync(
    join(dir, "releases.yaml"),
    `product: bench\nscheme: semver\nreleases:\n${releases.map((r) => `  - "${r}"`).join("\n")}\n`,
  );
  writeFileSync(
    join(dir, "cluster.yaml"),
    `${[
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
      ...(["version", "install", "stop", "activate", "start"] as const).map(
        (k) => `      ${k}: ${JSON.stringify(forFerry(step[k]))}`,
      ),
      `    health: { exec: ${JSON.stringify(forFerry(step.health))}, healthyFor: 0s, interval: 50ms }`,
    ].join("\n")}\n`,
  );

  const ferryRuns: { wallMs: number; beforeFirstStepMs: number; beforeFirstHostStepMs: number }[] = [];
  reset();
  for (let run = 1; run <= RUNS; run++) {
    const spawnedAt = Date.now();
    const started = performance.now();
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(
        process.execPath,
        [ferry, "apply", "--yes", "-c", join(dir, "cluster.yaml"), "--to", releases[run] as string, "--json"],
        { stdio: ["ignore", "ignore", "inherit"] },
      );
      child.on("exit", (c) => resolve(c));
    });
    const wallMs = performance.now() - started;
    if (code !== 0) throw new Error(`ferry apply to ${releases[run]} exited ${code}`);
    const store = await openStateStore("state/ferry.db", dir);
    try {
      const [last] = await store.listRuns("bench");
      if (!last) throw new Error("no run journaled");
      const steps = await store.steps(last.id);
      const first = Math.min(...steps.map((s) => s.startedAt ?? Number.POSITIVE_INFINITY));
      const firstHost = Math.min(
        ...steps.filter((s) => s.id.includes("/roll/")).map((s) => s.startedAt ?? Number.POSITIVE_INFINITY),
      );
      ferryRuns.push({
        wallMs,
        beforeFirstStepMs: first - spawnedAt,
        beforeFirstHostStepMs: firstHost - spawnedAt,
      });
    } finally {
      await store.close();
    }
  }
  const wall = median(ferryRuns.map((r) => r.wallMs));
  console.log(
    `bench:ssh-apply  ${HOSTS} lab hosts, one hop, 5 commands + an exec health check each, maxUnavailable 1`,
  );
  console.log(
    `  ferry apply --yes, whole process   ${wall.toFixed(0)} ms  (median of ${RUNS}: ${ferryRuns.map((r) => r.wallMs.toFixed(0)).join(", ")})`,
  );
  console.log(
    `  before the first step              ${median(ferryRuns.map((r) => r.beforeFirstStepMs)).toFixed(0)} ms`,
  );
  console.log(
    `  before the first host's roll step  ${median(ferryRuns.map((r) => r.beforeFirstHostStepMs)).toFixed(0)} ms`,
  );
  console.log(
    aimLine(
      "ssh-apply wall",
      `${wall.toFixed(0)} ms`,
      `${AIM_WALL_MS} ms`,
      wall / AIM_WALL_MS,
      "≤ 1",
      wall <= AIM_WALL_MS,
    ),
  );

  const ansible = ANSIBLE_RUNS < 1 ? "--ansible-runs 0" : ansibleMissing();
  if (ansible) {
    console.log(`  ansible-playbook: skipped, ${ansible}`);
  } else {
    const ansibleDir = join(dir, "ansible");
    mkdirSync(ansibleDir);
    writeFileSync(
      join(ansibleDir, "ansible.cfg"),
      [
        "[defaults]",
        "host_key_checking = True",
        "interpreter_python = /usr/bin/python3",
        "forks = 8",
        "[ssh_connection]",
        "pipelining = True",
        `ssh_args = -o ControlMaster=auto -o ControlPersist=60s -o UserKnownHostsFile=${lab.knownHostsFile}`,
        "",
      ].join("\n"),
    );
    writeFileSync(
      join(ansibleDir, "hosts.ini"),
      `[api]\n${lab.hosts.map((h) => `${h.name} ansible_host=${h.address} ansible_user=root ansible_ssh_private_key_file=${lab.clientKey} root=${h.root}`).join("\n")}\n`,
    );
    const task = (name: string, s: string) =>
      `    - name: ${name}\n      ansible.builtin.shell: ${JSON.stringify(s.replace(/ROOT/g, "{{ root }}").replace(/VERSION_TO/g, "{{ to }}"))}`;
    writeFileSync(
      join(ansibleDir, "upgrade.yaml"),
      `${[
        "- hosts: api",
        "  serial: 1",
        "  gather_facts: false",
        "  tasks:",
        task("version", step.version),
        task("install", step.install),
        task("stop", step.stop),
        task("activate", step.activate),
        task("start", step.start),
        task("health", step.health),
      ].join("\n")}\n`,
    );
    const ansibleMs: number[] = [];
    reset();
    for (let run = 1; run <= ANSIBLE_RUNS; run++) {
      const started = performance.now();
      const code = await new Promise<number | null>((resolve) => {
        const child = spawn(
          "ansible-playbook",
          ["-i", "hosts.ini", "upgrade.yaml", "-e", `to=${releases[run]}`],
          {
            cwd: ansibleDir,
            stdio: ["ignore", "ignore", "inherit"],
            env: { ...process.env, ANSIBLE_CONFIG: join(ansibleDir, "ansible.cfg") },
          },
        );
        child.on("exit", (c) => resolve(c));
      });
      if (code !== 0) throw new Error(`ansible-playbook exited ${code}`);
      ansibleMs.push(performance.now() - started);
    }
    const theirs = median(ansibleMs);
    const times = theirs / wall;
    console.log(
      `  ansible-playbook, same upgrade     ${theirs.toFixed(0)} ms  (median of ${ANSIBLE_RUNS}: ${ansibleMs.map((x) => x.toFixed(0)).join(", ")}; ${ansibleVersion()})`,
    );
    console.log(
      aimLine(
        "ssh-apply vs ansible",
        `${wall.toFixed(0)} ms`,
        `${theirs.toFixed(0)} ms`,
        times,
        `≥ ${AIM_TIMES_FASTER}×`,
        times >= AIM_TIMES_FASTER,
        "×",
      ),
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
  lab.close();
}

/** `AIM <name>: <measured> vs <reference> = <ratio> (aim <cond>) met|NOT met`, as `npm run bench` collects. */
function aimLine(
  name: string,
  measured: string,
  reference: string,
  ratio: number,
  aim: string,
  met: boolean,
  unit = "",
): string {
  return `AIM ${name}: ${measured} vs ${reference} = ${ratio.toFixed(2)}${unit} (aim ${aim}) ${met ? "met" : "NOT met"}`;
}

function ansibleMissing(): string | undefined {
  try {
    execFileSync("sh", ["-c", "command -v ansible-playbook"], { stdio: "ignore" });
    return undefined;
  } catch {
    return "ansible-playbook is not installed (Debian: apt-get install ansible-core)";
  }
}

function ansibleVersion(): string {
  try {
    return execFileSync("ansible-playbook", ["--version"], { encoding: "utf8" }).split("\n")[0] ?? "";
  } catch {
    return "";
  }
}
