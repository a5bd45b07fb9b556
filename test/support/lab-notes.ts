/**
 * The sample product notes (examples/notes) on the lab's hosts, as `ferry demo` lays it out on
 * this machine (src/demo/sample-cluster.ts), but spread over real hosts reached over SSH: API
 * servers and workers each on their own lab host, in their own tree (releases side by side under
 * `versions/`, a `current` symlink), all on one PostgreSQL server on another lab host. The gateway
 * is the cluster's load balancer, outside the upgrade: it runs on this machine's loopback (where
 * the load generator may send) and forwards to the API hosts over the lab's bridge.
 *
 * Where the demo's cluster and this one differ, it is because the hosts are real: every API server
 * listens on its host's own address (the same port on each), ferry probes and drains it by that
 * address, and the pin file is on each API host, written by the `pin` command over SSH (ferry runs
 * `pin` on this machine) with OpenSSH's client, as an operator's runbook would.
 *
 * What happened is read from the hosts: each process's log and pid file in its host's tree.
 */
import { type ChildProcess, spawn } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import pg from "pg";
import { render } from "../../src/cluster/template.js";
import { clusterMembers, DriverPool, loadCluster } from "../../src/index.js";
import type { Lab, LabHost } from "../lab/lab.js";
import type { LabPostgres } from "../lab/lab-postgres.js";
import { ROOT } from "./run-ferry.js";

const NOTES = join(ROOT, "examples", "notes");
export const FIRST = "1.0.0";
/** Every API server listens on this port of its own host's address. */
const API_PORT = 8080;

export interface LabNotes {
  readonly dir: string;
  readonly clusterFile: string;
  /** The gateway on this machine's loopback, where the load goes. */
  readonly url: string;
  readonly apiHosts: readonly LabHost[];
  readonly workerHosts: readonly LabHost[];
  /** The product's database, on the database host. */
  readonly db: string;
  /** Installs, activates and starts FIRST on every member with the cluster file's own commands, over SSH; resolves once each serves. */
  bringUp(): Promise<void>;
  /** What an API server says of itself at /health, asked at its host's address. */
  apiHealth(
    host: LabHost,
  ): Promise<{ status: string; version: string; jobFormat: number; pin: string | null }>;
  /** The log of `component`'s processes on `host`, from its tree. */
  log(host: LabHost, component: "api" | "worker"): string;
  /** The pid in `component`'s pid file on `host`. */
  pid(host: LabHost, component: "api" | "worker"): number;
  /** Whether the pin file is on `host`. */
  pinned(host: LabHost): boolean;
  query<T extends Record<string, unknown>>(sql: string): Promise<T[]>;
  /** Stops every process it started (SIGTERM, then SIGKILL), and removes its folder. */
  cleanup(): Promise<void>;
}

export interface LabNotesOptions {
  readonly api: readonly string[];
  readonly workers: readonly string[];
  readonly postgres: LabPostgres;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  ms: number,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`gave up after ${ms} ms waiting for ${what}`);
    await delay(100);
  }
}

const shQuote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

/** Lays the product out; call bringUp() to start it, cleanup() when done. */
export async function makeLabNotes(lab: Lab, options: LabNotesOptions): Promise<LabNotes> {
  const dir = mkdtempSync(join(tmpdir(), "fl6-notes-"));
  const apiHosts = options.api.map((n) => lab.host(n));
  const workerHosts = options.workers.map((n) => lab.host(n));
  for (const h of [...apiHosts, ...workerHosts]) {
    rmSync(h.root, { recursive: true, force: true });
    mkdirSync(h.root, { recursive: true });
  }

  const db = await options.postgres.createDatabase("notes");
  const client = new pg.Client({ connectionString: db });
  await client.connect();
  try {
    await client.query(readFileSync(join(NOTES, "schema", `${FIRST}.postgres.sql`), "utf8"));
  } catch (err) {
    await client.end();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  const gateway = { port: await freePort(), adminPort: await freePort() };
  const home = "{{vars.root}}/{{component}}";
  // A process started here must outlive the SSH session that starts it, and hold none of its pipes.
  const daemon = (env: string, program: string) =>
    `cd ${home} && ${env} NODE_PATH={{vars.nodePath}} setsid node current/${program} >> ${home}.log 2>&1 < /dev/null & echo $! > ${home}.pid`;
  const commands = (program: string, env: string) => ({
    version: `cat ${home}/current/VERSION`,
    install: `mkdir -p ${home}/versions/{{version}} && cp -R {{vars.notes}}/app/. {{vars.notes}}/releases/{{version}}/. ${home}/versions/{{version}}/`,
    activate: `ln -sfn versions/{{version}} ${home}/current`,
    start: daemon(env, program),
  });
  const ssh = [
    "ssh -F /dev/null -o BatchMode=yes -o ConnectTimeout=5",
    `-o StrictHostKeyChecking=yes -o UserKnownHostsFile=${lab.knownHostsFile} -o GlobalKnownHostsFile=/dev/null`,
    `-i ${lab.clientKey}`,
  ].join(" ");
  // Compatibility mode on every API host: while versions are mixed, 1.1 and later write 1.0's jobs.
  const onEveryApiHost = (command: (h: LabHost) => string) =>
    apiHosts.map((h) => `${ssh} root@${h.address} ${shQuote(command(h))}`).join(" && ");
  const hostFields = (h: LabHost) => ({
    name: h.name,
    address: h.address,
    driver: "ssh",
    user: "root",
    identityFile: lab.clientKey,
    knownHostsFile: lab.knownHostsFile,
    connectTimeout: "5s",
    vars: { root: h.root },
  });
  const yaml = {
    name: "notes-lab",
    catalog: join(NOTES, "releases.yaml"),
    state: "state/ferry.db",
    database: db,
    vars: {
      notes: NOTES,
      nodePath: join(ROOT, "node_modules"),
      db,
      port: API_PORT,
      gwadmin: gateway.adminPort,
    },
    hosts: [...apiHosts, ...workerHosts].map(hostFields),
    components: [
      {
        name: "api",
        hosts: apiHosts.map((h) => h.name),
        order: 1,
        maxUnavailable: 1,
        timeout: "30s",
        commands: commands(
          "api.mjs",
          "NOTES_HOST={{address}} NOTES_PORT={{vars.port}} NOTES_DB='{{vars.db}}' NOTES_PIN_FILE={{vars.root}}/pin",
        ),
        // ferry stops each process itself: SIGTERM, up to 15 s to finish what it has in hand, then SIGKILL.
        pidFile: `${home}.pid`,
        stopGrace: "15s",
        health: {
          http: "http://{{address}}:{{vars.port}}/health",
          timeout: "1s",
          healthyFor: "500ms",
          deadline: "20s",
          interval: "100ms",
        },
        drain: {
          http: {
            url: "http://127.0.0.1:{{vars.gwadmin}}/backends/{{address}}:{{vars.port}}/drain",
            undrainUrl: "http://127.0.0.1:{{vars.gwadmin}}/backends/{{address}}:{{vars.port}}/ready",
            timeout: "15s",
          },
        },
      },
      {
        name: "worker",
        hosts: workerHosts.map((h) => h.name),
        order: 2,
        maxUnavailable: 1,
        timeout: "30s",
        commands: commands("worker.mjs", "NOTES_DB='{{vars.db}}' NOTES_WORKER_ID={{host}}"),
        pidFile: `${home}.pid`,
        stopGrace: "15s",
        health: {
          exec: `kill -0 $(cat ${home}.pid)`,
          healthyFor: "300ms",
          deadline: "10s",
          interval: "100ms",
        },
      },
    ],
    pin: onEveryApiHost((h) => `echo {{from}} > ${h.root}/pin`),
    unpin: onEveryApiHost((h) => `rm -f ${h.root}/pin`),
  };
  const clusterFile = join(dir, "cluster.yaml");
  // JSON is YAML: an ordinary cluster file, written without a YAML emitter.
  writeFileSync(clusterFile, `${JSON.stringify(yaml, null, 2)}\n`);

  // The gateway runs FIRST's program, from a folder of its own on this machine.
  const gatewayDir = join(dir, "gateway");
  mkdirSync(gatewayDir);
  cpSync(join(NOTES, "app"), gatewayDir, { recursive: true });
  cpSync(join(NOTES, "releases", FIRST), gatewayDir, { recursive: true });
  const gatewayLog = openSync(join(dir, "gateway.log"), "a");
  let gatewayProcess: ChildProcess | undefined;

  const processFile = (h: LabHost, component: string, ext: string) => join(h.root, `${component}.${ext}`);
  const pid = (h: LabHost, component: "api" | "worker") =>
    Number(readFileSync(processFile(h, component, "pid"), "utf8").trim());
  const log = (h: LabHost, component: "api" | "worker") => {
    const file = processFile(h, component, "log");
    return existsSync(file) ? readFileSync(file, "utf8") : "";
  };
  const apiHealth = async (h: LabHost) => {
    const r = await fetch(`http://${h.address}:${API_PORT}/health`, { signal: AbortSignal.timeout(2000) });
    if (!r.ok) throw new Error(`api on ${h.name}: HTTP ${r.status}`);
    return (await r.json()) as { status: string; version: string; jobFormat: number; pin: string | null };
  };

  return {
    dir,
    clusterFile,
    url: `http://127.0.0.1:${gateway.port}`,
    apiHosts,
    workerHosts,
    db,
    async bringUp() {
      gatewayProcess = spawn(process.execPath, [join(gatewayDir, "gateway.mjs")], {
        env: {
          ...process.env,
          NOTES_PORT: String(gateway.port),
          NOTES_ADMIN_PORT: String(gateway.adminPort),
          NOTES_BACKENDS: apiHosts.map((h) => `${h.address}:${API_PORT}`).join(","),
        },
        stdio: ["ignore", gatewayLog, gatewayLog],
      });
      const cluster = loadCluster(clusterFile);
      const components = new Map(cluster.components.map((c) => [c.name, c]));
      const pool = new DriverPool(cluster.hosts);
      try {
        await Promise.all(
          clusterMembers(cluster).map(async (m) => {
            const c = components.get(m.component);
            const values = {
              version: FIRST,
              from: FIRST,
              host: m.host,
              address: m.address,
              component: m.component,
              vars: m.vars,
            };
            for (const step of ["install", "activate", "start"] as const) {
              const command = render(c?.commands[step] as string, values);
              const r = await pool.driverFor(m.host).exec(command, { timeoutMs: 30_000 });
              if (r.exitCode !== 0) throw new Error(`${step} of ${m.component} on ${m.host}: ${r.output}`);
            }
          }),
        );
      } finally {
        await pool.close();
      }
      // Up: each API server answers at its own address, each worker has said it started.
      for (const h of apiHosts) {
        await until(
          `api on ${h.name}`,
          () =>
            apiHealth(h).then(
              (x) => x.version === FIRST || undefined,
              () => undefined,
            ),
          20_000,
        );
      }
      for (const h of workerHosts) {
        await until(
          `worker on ${h.name}`,
          () => log(h, "worker").includes(`started as ${h.name}`) || undefined,
          20_000,
        );
      }
      await until(
        "the gateway",
        () =>
          fetch(`http://127.0.0.1:${gateway.adminPort}/health`).then(
            (r) => r.ok || undefined,
            () => undefined,
          ),
        10_000,
      );
    },
    apiHealth,
    log,
    pid,
    pinned: (h) => existsSync(join(h.root, "pin")),
    query: async <T extends Record<string, unknown>>(sql: string) => (await client.query(sql)).rows as T[],
    async cleanup() {
      const pids = [
        ...apiHosts.map((h) => [h, "api"] as const),
        ...workerHosts.map((h) => [h, "worker"] as const),
      ]
        .filter(([h, c]) => existsSync(processFile(h, c, "pid")))
        .map(([h, c]) => pid(h, c));
      if (gatewayProcess?.pid !== undefined && gatewayProcess.exitCode === null)
        pids.push(gatewayProcess.pid);
      await stopAll(pids);
      await client.end().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** SIGTERM, up to 20 s for a graceful exit, then SIGKILL: only these pids, which this module started. */
async function stopAll(pids: readonly number[]): Promise<void> {
  const live = pids.filter(alive);
  for (const p of live) process.kill(p, "SIGTERM");
  const deadline = Date.now() + 20_000;
  while (live.some(alive) && Date.now() < deadline) await delay(50);
  for (const p of live.filter(alive)) process.kill(p, "SIGKILL");
}
