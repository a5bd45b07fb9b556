// biome-ignore-all lint/suspicious/noExplicitAny: JSON documents are read field by field by the assertions
/**
 * KubeFATE's procedure (shared/seeds/001) end to end, through bin/ferry, on the example in
 * examples/procedures/kubefate: five pods, each a folder with its own process and its persistent
 * volume. Tom changes `version:` in cluster.yaml and runs `ferry apply` (KubeFATE's
 * `cluster update -f cluster.yaml`). Checked from the pods' own records (each pod's events.log,
 * and FATE's database on mysql's volume): each old pod terminated by SIGTERM and recreated with the
 * new image, started on the volume it had; the per-version SQL in sequence, once every pod runs;
 * nothing lost on any volume; the hop that recreates volumes refused until its warning is
 * accepted; and a release whose component does not start rolled back to the previous one.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import { ROOT } from "./support/run-ferry.js";
import { ferryAsync } from "./support/run-ferry-async.js";

const EXAMPLE = join(ROOT, "examples/procedures/kubefate");
const PODS = {
  "mysql-0": "mysql",
  "python-0": "python",
  "nodemanager-0": "nodemanager",
  "nodemanager-1": "nodemanager",
  "client-0": "client",
} as const;
type Pod = keyof typeof PODS;
const pods = Object.keys(PODS) as Pod[];

/** A copy of the example, installed at 1.7.0 and running. */
interface Fate {
  readonly dir: string;
  /** bin/ferry in the example's folder, as its README runs it. */
  ferry(args: readonly string[], env?: Record<string, string>): ReturnType<typeof ferryAsync>;
  /** Tom's edit: the cluster file's `version:`. */
  setVersion(version: string): void;
  /** The pod's events.log: [time, text] per line. */
  events(pod: Pod): [string, string][];
  /** The volume its claim was bound to at install. */
  claim(pod: Pod): string;
  /** The pod's process id now. */
  pid(pod: Pod): number;
  /** Every file on every volume but FATE's database (which the SQL changes), with its sha-256. */
  volumes(): Record<string, string>;
  /** A query on FATE's database on mysql's volume. */
  query(sql: string): any[];
}

async function withFate(body: (fate: Fate) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "ferry-kubefate-"));
  const run = (args: string[]) =>
    execFileSync(join(dir, "fate"), args, {
      cwd: dir,
      env: { ...process.env, NODE_PATH: join(ROOT, "node_modules") },
      encoding: "utf8",
    });
  try {
    cpSync(EXAMPLE, dir, { recursive: true, filter: (f) => !/\/(hosts|\.ferry)$/.test(f) });
    run(["install"]);
    const database = join(dir, "hosts/mysql-0/volume/fate.db");
    await body({
      dir,
      ferry: (args, env = {}) => ferryAsync(args, env, { cwd: dir }),
      setVersion(version) {
        const file = join(dir, "cluster.yaml");
        const text = readFileSync(file, "utf8");
        assert.match(text, /^version: "[^"]+"/m);
        writeFileSync(file, text.replace(/^version: "[^"]+"/m, `version: "${version}"`));
      },
      events: (pod) =>
        readFileSync(join(dir, "hosts", pod, "events.log"), "utf8")
          .trimEnd()
          .split("\n")
          .map((line) => [line.slice(0, line.indexOf(" ")), line.slice(line.indexOf(" ") + 1)]),
      claim: (pod) => readFileSync(join(dir, "hosts", pod, "claim"), "utf8").trim(),
      pid: (pod) => Number(readFileSync(join(dir, "hosts", pod, "pod.pid"), "utf8")),
      volumes() {
        const out: Record<string, string> = {};
        for (const pod of pods) {
          const volume = join(dir, "hosts", pod, "volume");
          for (const f of readdirSync(volume, { recursive: true, withFileTypes: true })) {
            const path = join(f.parentPath ?? (f as any).path, f.name);
            if (!f.isFile() || /fate\.db/.test(f.name)) continue;
            out[path.slice(dir.length + 1)] = createHash("sha256").update(readFileSync(path)).digest("hex");
          }
        }
        return out;
      },
      query(sql) {
        const db = new Database(database, { readonly: true });
        try {
          return db.prepare(sql).all();
        } finally {
          db.close();
        }
      },
    });
  } finally {
    if (existsSync(join(dir, "hosts"))) run(["down"]);
    rmSync(dir, { recursive: true, force: true });
  }
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return !/\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
};

/** A pod's events from the `from`-th on, with pids and file counts taken out. */
const since = (fate: Fate, pod: Pod, from: number): string[] =>
  fate
    .events(pod)
    .slice(from)
    .map(([, text]) => text.replace(/pid \d+/, "pid N").replace(/mounted: \d+ files/, "mounted"));

/** How many events each pod has logged so far. */
const logged = (fate: Fate) =>
  Object.fromEntries(pods.map((p) => [p, fate.events(p).length])) as Record<Pod, number>;

/** What one pod's upgrade looks like in its log: the seed's "Terminating", then "Running" on the same volume. */
function upgraded(fate: Fate, pod: Pod, from: string, to: string): string[] {
  const c = PODS[pod];
  return [
    `SIGTERM: terminating ${c}:${from}`,
    `stopped ${c}:${from}`,
    `pulled image federatedai/${c}:${to}`,
    `recreated with image federatedai/${c}:${to}, claim ${fate.claim(pod)}`,
    `started ${c}:${to} pid N`,
    `volume ${fate.claim(pod)} mounted`,
    `running ${c}:${to} on ${pod}`,
  ];
}

/** The time each pod last turned Running: the cluster runs from the latest of them. */
const lastRunning = (fate: Fate): string =>
  pods
    .map((pod) => fate.events(pod).filter(([, text]) => text.startsWith("running ")))
    .map((lines) => lines.at(-1)?.[0] ?? "")
    .sort()
    .at(-1) ?? "";

const JOBS = "SELECT f_job_id, f_role, f_party_id, f_status, f_create_time FROM t_job ORDER BY f_job_id";
const SCRIPTS = "SELECT f_script, f_applied_at FROM t_schema_upgrade ORDER BY f_id";

describe("KubeFATE's procedure (examples/procedures/kubefate)", () => {
  it("version: in the file drives apply: pods recreated on their volumes, then the SQL in sequence once the cluster runs; the hop that recreates volumes waits for its warning to be accepted", async () => {
    await withFate(async (fate) => {
      const volumes = fate.volumes();
      const jobs = fate.query(JOBS);
      assert.equal(jobs.length, 3);
      const before = logged(fate);
      const oldPids = pods.map((p) => fate.pid(p));

      // Tom changes the version in cluster.yaml and runs the update: no --to.
      fate.setVersion("1.8.0");
      const r = await fate.ferry(["apply", "--yes"]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /upgrade fate-9999 1\.7\.0 → 1\.8\.0/);

      for (const pod of pods)
        assert.deepEqual(since(fate, pod, before[pod]), upgraded(fate, pod, "1.7.0", "1.8.0"), pod);
      assert.ok(
        oldPids.every((p) => !alive(p)),
        "every old pod has exited",
      );
      assert.ok(
        pods.every((p) => alive(fate.pid(p))),
        "every new pod runs",
      );

      // 170-171, 171-172, 172-180 in sequence (the first two of releases the path passes over),
      // after the last pod turned Running.
      const scripts = fate.query(SCRIPTS);
      assert.deepEqual(
        scripts.map((s) => s.f_script),
        ["170-171.sql", "171-172.sql", "172-180.sql"],
      );
      const running = lastRunning(fate);
      assert.ok(
        scripts[0].f_applied_at > running,
        `the first script ran at ${scripts[0].f_applied_at}, before the last pod turned Running at ${running}`,
      );
      assert.deepEqual(fate.query(JOBS), jobs, "FATE's job metadata is all there");
      assert.deepEqual(fate.volumes(), volumes, "every file on every volume is there, unchanged");

      // 1.8.0 → 1.9.0 recreates volumes a storage class provisioned: plan shows the warning, and
      // apply refuses until it is accepted, touching no pod.
      fate.setVersion("1.9.0");
      const plan = await fate.ferry(["plan"]);
      assert.match(
        plan.stdout,
        /warning 1\.9\.0 \(from <1\.9\.0, must be accepted\): Volumes a storage class/,
      );
      const at = logged(fate);
      const pids = pods.map((p) => fate.pid(p));
      const refused = await fate.ferry(["apply", "--yes"]);
      assert.equal(refused.code, 3, refused.stdout + refused.stderr);
      assert.match(refused.stderr, /a release warning that must be accepted: 1\.9\.0 .*--accept-warnings/);
      assert.deepEqual(
        pods.map((p) => fate.events(p).length),
        pods.map((p) => at[p]),
        "no pod was touched",
      );
      assert.deepEqual(
        pods.map((p) => fate.pid(p)),
        pids,
      );
      assert.equal(fate.query(SCRIPTS).length, 3);

      const accepted = await fate.ferry(["apply", "--yes", "--accept-warnings"]);
      assert.equal(accepted.code, 0, accepted.stdout + accepted.stderr);
      for (const pod of pods)
        assert.deepEqual(since(fate, pod, at[pod]), upgraded(fate, pod, "1.8.0", "1.9.0"), pod);
      const all = fate.query(SCRIPTS);
      assert.deepEqual(
        all.map((s) => s.f_script),
        ["170-171.sql", "171-172.sql", "172-180.sql", "180-190.sql"],
      );
      assert.ok(all[3].f_applied_at > lastRunning(fate), "180-190.sql ran once the cluster ran 1.9.0");
      assert.deepEqual(fate.query(JOBS).length, 3);
      assert.deepEqual(fate.volumes(), volumes);
    });
  });

  it("a release whose component does not start: rolled back to the previous release, every pod on its volume, no SQL run; a pod without a volume: refused", async () => {
    await withFate(async (fate) => {
      const volumes = fate.volumes();
      const jobs = fate.query(JOBS);
      const before = logged(fate);

      fate.setVersion("1.8.0");
      const r = await fate.ferry(["apply", "--yes"], { FATE_CRASH: "nodemanager:1.8.0" });
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(
        r.stdout + r.stderr,
        /nodemanager-0\/start failed: [\s\S]*Rolled back: fate-9999 is back at 1\.7\.0/,
      );

      // The first node manager crashed at its start, and came back on 1.7.0.
      const back = (pod: Pod): string[] => {
        const c = PODS[pod];
        return [
          `recreated with image federatedai/${c}:1.7.0, claim ${fate.claim(pod)}`,
          `started ${c}:1.7.0 pid N`,
          `volume ${fate.claim(pod)} mounted`,
          `running ${c}:1.7.0 on ${pod}`,
        ];
      };
      assert.deepEqual(since(fate, "nodemanager-0", before["nodemanager-0"]), [
        ...upgraded(fate, "nodemanager-0", "1.7.0", "1.8.0").slice(0, 5),
        "crashed nodemanager:1.8.0: exit 1",
        ...back("nodemanager-0"),
      ]);
      // mysql and python had run 1.8.0: terminated again, and back on 1.7.0 with their volumes.
      for (const pod of ["mysql-0", "python-0"] as const) {
        assert.deepEqual(
          since(fate, pod, before[pod]),
          [
            ...upgraded(fate, pod, "1.7.0", "1.8.0"),
            `SIGTERM: terminating ${PODS[pod]}:1.8.0`,
            `stopped ${PODS[pod]}:1.8.0`,
            ...back(pod),
          ],
          pod,
        );
      }
      // The second node manager waited its turn, which never came.
      assert.deepEqual(since(fate, "nodemanager-1", before["nodemanager-1"]), []);

      const status = JSON.parse((await fate.ferry(["status", "--json"])).stdout);
      assert.deepEqual([status.version, status.run], ["1.7.0", null]);
      assert.ok(
        status.members.every((m: any) => m.healthy),
        JSON.stringify(status.members),
      );
      assert.ok(
        pods.every((p) => alive(fate.pid(p))),
        "every pod runs",
      );
      const [run] = JSON.parse((await fate.ferry(["history", "--json"])).stdout);
      assert.equal(run.status, "rolled-back");

      // The SQL had not run, so nothing more to do: the database and every volume as they were.
      assert.deepEqual(fate.query(SCRIPTS), []);
      assert.ok(!fate.query("PRAGMA table_info(t_job)").some((c) => c.name === "f_cores"));
      assert.deepEqual(fate.query(JOBS), jobs);
      assert.deepEqual(fate.volumes(), volumes);

      // A pod without a persistent volume would lose its data at its restart: refused first.
      const pv = join(fate.dir, "hosts/client-0/volume/.pv");
      renameSync(pv, `${pv}.away`);
      const at = logged(fate);
      const refused = await fate.ferry(["apply", "--yes"]);
      assert.equal(refused.code, 3, refused.stdout + refused.stderr);
      assert.match(refused.stdout + refused.stderr, /no persistent volume: client-0/);
      assert.deepEqual(logged(fate), at, "no pod was touched");
      renameSync(`${pv}.away`, pv);
    });
  });
});
