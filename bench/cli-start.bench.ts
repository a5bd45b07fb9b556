/**
 * ferry's cold start, measured side by side with a bare `node -e 0` in one run: the commands run
 * in turns, round after round (each round starting with the next one), and each figure is the
 * median of its rounds, so a busy moment of the machine falls on all of them alike. Prints the
 * median wall time of each, its ratio to `node -e 0`, and an AIM line per aim of issue 15:
 * `--version` and `path` at most 2×, `status` of a one-host local cluster at most 3×, and `plan`
 * of 10,000 hosts × 3 components, the whole command, at most 500 ms.
 *
 *   npm run bench:start [-- --rounds N] [-- --plan-hosts N] [-- --json]
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { simClusterYaml } from "../test/support/sim-cluster.js";
import { aimLine } from "./aim-line.js";

const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const ROUNDS = flag("--rounds", 15);
const PLAN_HOSTS = flag("--plan-hosts", 10_000);
const json = args.includes("--json");
const ROOT = new URL("../", import.meta.url).pathname;
const FERRY = join(ROOT, "bin/ferry");

const dir = mkdtempSync(join(tmpdir(), "ferry-bench-start-"));
const one = join(dir, "one");
const big = join(dir, "big");
for (const [d, cluster] of [
  [
    one,
    [
      "name: one",
      "catalog: releases.yaml",
      "hosts: [{ name: h1, address: 127.0.0.1 }]",
      "components:",
      "  - name: app",
      "    hosts: [h1]",
      '    commands: { version: "echo 1.0.0", install: "true", stop: "true", activate: "true", start: "true" }',
    ].join("\n"),
  ],
  [big, simClusterYaml(PLAN_HOSTS, 100)],
] as const) {
  mkdirSync(d);
  writeFileSync(join(d, "releases.yaml"), 'product: bench\nscheme: semver\nreleases: ["1.0.0", "1.0.1"]\n');
  writeFileSync(join(d, "cluster.yaml"), cluster);
}

interface Subject {
  readonly name: string;
  readonly command: readonly string[];
  readonly cwd: string;
}

const SUBJECTS: readonly Subject[] = [
  { name: "node -e 0", command: [process.execPath, "-e", "0"], cwd: ROOT },
  { name: "ferry --version", command: [FERRY, "--version"], cwd: ROOT },
  {
    name: "ferry path",
    command: [FERRY, "path", "--catalog", "examples/notes/releases.yaml", "--from", "1.0.0", "--to", "1.2.0"],
    cwd: ROOT,
  },
  { name: "ferry status", command: [FERRY, "status"], cwd: one },
  {
    name: `ferry plan, ${PLAN_HOSTS} hosts`,
    command: [FERRY, "plan", "--from", "1.0.0", "--to", "1.0.1"],
    cwd: big,
  },
];

/**
 * Through /usr/bin/time when there is one, for the CPU time each took besides its wall time: on a
 * busy machine that one says more about ferry's own cost than the wall time. It adds the same
 * small cost to every subject.
 */
const TIME = existsSync("/usr/bin/time") ? ["/usr/bin/time", "-f", "%U %S"] : [];

function timeOnce(s: Subject): { wallMs: number; cpuMs: number } {
  const command = [...TIME, ...s.command];
  const start = performance.now();
  const r = spawnSync(command[0] as string, command.slice(1), {
    cwd: s.cwd,
    encoding: "utf8",
    maxBuffer: 2 ** 30,
    env: { ...process.env, NO_COLOR: "1" },
  });
  const wallMs = performance.now() - start;
  if (r.status !== 0) throw new Error(`${s.name} failed (exit ${r.status}): ${r.stderr}`);
  const [user = Number.NaN, sys = Number.NaN] = TIME.length
    ? (r.stderr.trim().split("\n").at(-1) ?? "").split(" ").map(Number)
    : [];
  return { wallMs, cpuMs: (user + sys) * 1000 };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

try {
  const loadBefore = loadavg()[0] as number;
  // One untimed round: the state file of `status` is created, the files are in the page cache.
  for (const s of SUBJECTS) timeOnce(s);
  const times: number[][] = SUBJECTS.map(() => []);
  const cpu: number[][] = SUBJECTS.map(() => []);
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < SUBJECTS.length; k++) {
      const i = (round + k) % SUBJECTS.length;
      const t = timeOnce(SUBJECTS[i] as Subject);
      (times[i] as number[]).push(t.wallMs);
      (cpu[i] as number[]).push(t.cpuMs);
    }
  }
  const cpuMedians = cpu.map(median);
  const load = [loadBefore, loadavg()[0] as number].map((l) => Math.round(l * 100) / 100);
  const medians = times.map(median);
  const [node, version, path, status, plan] = medians as [number, number, number, number, number];
  const aims = [
    aimLine({
      name: "ferry --version",
      measured: version,
      reference: node,
      referenceName: "node -e 0",
      atMost: 2,
    }),
    aimLine({ name: "ferry path", measured: path, reference: node, referenceName: "node -e 0", atMost: 2 }),
    aimLine({
      name: "ferry status, one local host",
      measured: status,
      reference: node,
      referenceName: "node -e 0",
      atMost: 3,
    }),
    aimLine({
      name: `ferry plan, ${PLAN_HOSTS} hosts × 3 components`,
      measured: plan,
      reference: 500,
      atMost: 1,
    }),
  ];
  if (json) {
    const figures = SUBJECTS.map((s, i) => ({
      name: s.name,
      medianMs: Math.round((medians[i] as number) * 10) / 10,
      cpuMedianMs: Math.round(cpuMedians[i] as number),
      ratio: Math.round(((medians[i] as number) / node) * 100) / 100,
    }));
    process.stdout.write(
      `${JSON.stringify({ rounds: ROUNDS, loadAverage1m: load, figures, aims }, null, 2)}\n`,
    );
  } else {
    console.log(
      `cold start: median of ${ROUNDS} interleaved rounds; load average (1 min) ${load[0]} before, ${load[1]} after, on ${availableParallelism()} cores`,
    );
    SUBJECTS.forEach((s, i) => {
      const ms = medians[i] as number;
      const cpuMs = cpuMedians[i] as number;
      console.log(
        `  ${s.name.padEnd(28)} ${ms.toFixed(1).padStart(7)} ms  ${(ms / node).toFixed(2)}× node -e 0` +
          `   CPU ${cpuMs.toFixed(0).padStart(5)} ms  ${(cpuMs / (cpuMedians[0] as number)).toFixed(2)}×`,
      );
    });
    for (const line of aims) console.log(line);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
