/**
 * A real HAProxy (Debian's package) for tests: its own config and admin socket in a folder the
 * test gives, a frontend on a loopback port, one backend of the servers named, and its log (every
 * request, with the server that answered, and every server state change) in `haproxy.log` there.
 * Without HAProxy the tests that need it skip, saying why, except under CI=true, where that fails.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { openSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { haproxyCommand, serverStat } from "../../src/probes/traffic-drain.js";

/** Why HAProxy cannot be used here, or undefined when it can. */
export function haproxyMissing(): string | undefined {
  return spawnSync("haproxy", ["-v"]).status === 0
    ? undefined
    : "haproxy is not installed here (apt-get install haproxy)";
}

/** `{ skip }` for a test or suite that needs HAProxy: skipped with the reason, but never under CI=true. */
export function haproxySkip(): { skip: string | false } {
  const why = haproxyMissing();
  return { skip: why && process.env.CI !== "true" ? why : false };
}

export interface Haproxy {
  /** The admin socket (runtime API at level admin). */
  readonly socket: string;
  /** The frontend's port on 127.0.0.1. */
  readonly port: number;
  readonly backend: string;
  /** A server's `show stat` row: `status` (UP, DRAIN, …), `scur` (its sessions now), … */
  stat(server: string): Promise<Readonly<Record<string, string>>>;
  /** What HAProxy has logged so far. */
  log(): string;
  stop(): Promise<void>;
}

export interface HaproxyOptions {
  readonly dir: string;
  readonly port: number;
  readonly backend: string;
  readonly servers: readonly { readonly name: string; readonly port: number }[];
}

export async function startHaproxy(o: HaproxyOptions): Promise<Haproxy> {
  const socket = join(o.dir, "haproxy.sock");
  const config = join(o.dir, "haproxy.cfg");
  const logFile = join(o.dir, "haproxy.log");
  writeFileSync(
    config,
    [
      "global",
      `  stats socket ${socket} mode 600 level admin`,
      "  log stdout format raw local0",
      "defaults",
      "  mode http",
      "  log global",
      "  option httplog",
      // A new connection to the server for every request, as the notes gateway does: a pooled
      // one that the server closes just as a request goes out would fail a request that was sent.
      "  option http-server-close",
      "  timeout connect 1s",
      "  timeout client 30s",
      "  timeout server 30s",
      "frontend web",
      `  bind 127.0.0.1:${o.port}`,
      `  default_backend ${o.backend}`,
      `backend ${o.backend}`,
      "  balance roundrobin",
      ...o.servers.map((s) => `  server ${s.name} 127.0.0.1:${s.port}`),
      "",
    ].join("\n"),
  );
  const out = openSync(logFile, "a");
  const child: ChildProcess = spawn("haproxy", ["-db", "-f", config], { stdio: ["ignore", out, out] });
  const exited = once(child, "exit");
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      await exited;
    }
  };
  // Ready once the runtime API answers: HAProxy binds every listener before it serves the socket.
  for (let i = 0; ; i++) {
    if (child.exitCode !== null)
      throw new Error(`haproxy exited ${child.exitCode}: ${readFileSync(logFile, "utf8")}`);
    const answer = await haproxyCommand(socket, "show info").catch(() => "");
    if (answer.includes("Name: HAProxy")) break;
    if (i === 200) {
      await stop();
      throw new Error(`haproxy did not answer on ${socket} within 10 s: ${readFileSync(logFile, "utf8")}`);
    }
    await sleep(50);
  }
  return {
    socket,
    port: o.port,
    backend: o.backend,
    stat: (server) => serverStat(socket, o.backend, server),
    log: () => readFileSync(logFile, "utf8"),
    stop,
  };
}
