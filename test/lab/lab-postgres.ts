/**
 * A PostgreSQL server on a lab host: the cluster's database on a machine of its own, which the
 * product's hosts and ferry (migrations, pg_dump) reach over the lab's bridge, as they would a real
 * database host. This machine's own PostgreSQL listens on 127.0.0.1, which a lab host cannot
 * reach (its loopback is its own); and SQLite in a folder every host sees would only work because
 * the lab's hosts share one kernel (WAL's shared memory does not cross real machines).
 *
 * Debian's server binaries, initdb'd into the host's own tree, run as the `postgres` user (the
 * server refuses root) inside the host's network namespace, listening on the host's address only.
 * The lab's close() ends it with the host's other processes; stop() shuts it down first.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import {
  appendFileSync,
  chownSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
} from "node:fs";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import pg from "pg";
import type { Lab } from "./lab.js";

const USER = "postgres";
const PORT = 5432;

export interface LabPostgres {
  readonly host: string;
  readonly address: string;
  /** postgres://postgres@ADDRESS:5432/NAME: trust on the lab's bridge, so no password anywhere. */
  url(database: string): string;
  /** Makes an empty database and returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** Shuts the server down (fast: sessions are ended) and waits for it to exit. */
  stop(): Promise<void>;
}

/** Debian's newest server binaries, e.g. /usr/lib/postgresql/15/bin. */
function serverBin(): string | undefined {
  const base = "/usr/lib/postgresql";
  if (!existsSync(base)) return undefined;
  const versions = readdirSync(base)
    .filter((v) => existsSync(join(base, v, "bin", "postgres")) && existsSync(join(base, v, "bin", "initdb")))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(base, versions[0], "bin") : undefined;
}

function userIds(): { uid: number; gid: number } | undefined {
  try {
    const uid = Number(execFileSync("id", ["-u", USER], { encoding: "utf8" }));
    const gid = Number(execFileSync("id", ["-g", USER], { encoding: "utf8" }));
    return { uid, gid };
  } catch {
    return undefined;
  }
}

/** Why a lab host cannot run PostgreSQL here, or undefined when it can. */
export function labPostgresUnavailable(): string | undefined {
  if (!serverBin()) return "a lab database needs PostgreSQL's server (apt-get install postgresql)";
  if (!userIds()) return `a lab database needs the ${USER} user (Debian's postgresql package makes it)`;
  try {
    execFileSync("sh", ["-c", "command -v setpriv && command -v pg_dump"], { stdio: "ignore" });
  } catch {
    return "a lab database needs setpriv (util-linux) and pg_dump (postgresql-client)";
  }
  return undefined;
}

/** Starts PostgreSQL on the lab host `name`; resolves once it accepts connections there. */
export async function startLabPostgres(lab: Lab, name: string): Promise<LabPostgres> {
  const bin = serverBin();
  const ids = userIds();
  if (!bin || !ids) throw new Error(labPostgresUnavailable());
  const h = lab.host(name);
  const data = join(h.dir, "pgdata");
  const log = join(h.dir, "postgres.log");
  mkdirSync(data, { mode: 0o700 });
  chownSync(data, ids.uid, ids.gid);
  const asPostgres = ["setpriv", `--reuid=${USER}`, `--regid=${USER}`, "--init-groups", "--"];
  execFileSync(
    asPostgres[0] as string,
    [
      ...asPostgres.slice(1),
      join(bin, "initdb"),
      "--pgdata",
      data,
      "--username",
      USER,
      "--auth",
      "trust",
      "--encoding",
      "UTF8",
      "--no-locale",
      // Only initdb's own closing fsync of a throw-away cluster; the server keeps fsync on.
      "--no-sync",
    ],
    { stdio: ["ignore", "ignore", "pipe"], env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } },
  );
  // The lab's hosts reach it over the bridge; nothing else can (it listens on the lab address only).
  appendFileSync(join(data, "pg_hba.conf"), `host all ${USER} ${h.address}/24 trust\n`);

  const out = openSync(log, "a");
  const server: ChildProcess = spawn(
    "ip",
    [
      "netns",
      "exec",
      h.netns,
      ...asPostgres,
      join(bin, "postgres"),
      "-D",
      data,
      "-c",
      `listen_addresses=${h.address}`,
      "-c",
      `port=${PORT}`,
      "-c",
      `unix_socket_directories=${data}`,
    ],
    { detached: true, stdio: ["ignore", out, out] },
  );
  server.unref();
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    server.once("exit", () => {
      exited = true;
      resolve();
    }),
  );

  const url = (database: string) => `postgres://${USER}@${h.address}:${PORT}/${database}`;
  // Ready when a session opens; a server that exits instead fails at once, with its log.
  const until = Date.now() + 30_000;
  for (;;) {
    if (exited) throw new Error(`PostgreSQL on ${name} exited:\n${readFileSync(log, "utf8").slice(-2000)}`);
    const client = new pg.Client({ connectionString: url(USER), connectionTimeoutMillis: 1000 });
    const ok = await client.connect().then(
      () => true,
      () => false,
    );
    await client.end().catch(() => {});
    if (ok) break;
    if (Date.now() > until) {
      throw new Error(
        `PostgreSQL on ${name} did not accept connections within 30 s:\n${readFileSync(log, "utf8").slice(-2000)}`,
      );
    }
    await delay(100);
  }

  return {
    host: name,
    address: h.address,
    url,
    async createDatabase(database) {
      const admin = new pg.Client({ connectionString: url(USER) });
      await admin.connect();
      try {
        await admin.query(`CREATE DATABASE ${database}`);
      } finally {
        await admin.end();
      }
      return url(database);
    },
    async stop() {
      if (exited || server.pid === undefined) return;
      process.kill(server.pid, "SIGINT");
      const timer = setTimeout(() => {
        if (!exited && server.pid !== undefined) process.kill(server.pid, "SIGKILL");
      }, 15_000);
      await exit;
      clearTimeout(timer);
    },
  };
}
