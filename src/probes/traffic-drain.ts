/**
 * Traffic drain adapters: take a host out of its load balancer before it stops, and put it back
 * once it is healthy again (Cinder's "API load balancer draining").
 *
 * - exec: the operator's own commands, run on the host.
 * - http: a load balancer's admin API (the sample gateway's): a request that answers 2xx once
 *   nothing is in flight to the host any more.
 * - haproxy: HAProxy's runtime API over its stats socket: `set server B/S state drain`, then wait
 *   until the server's current sessions reach zero, and `state ready` to undrain.
 */
import { createConnection } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { type Driver, describeExit, lastLineOf } from "../drivers/driver.js";

export type DrainSpec =
  | { readonly exec: string; readonly undrain: string }
  | {
      readonly http: {
        readonly url: string;
        readonly undrainUrl: string;
        readonly method: string;
        readonly timeoutMs: number;
      };
    }
  | {
      readonly haproxy: {
        /** A unix socket path, or host:port of a stats socket at admin level. */
        readonly socket: string;
        readonly backend: string;
        readonly server: string;
        readonly timeoutMs: number;
      };
    };

export type DrainOp = "drain" | "undrain";

export interface DrainResult {
  readonly ok: boolean;
  readonly detail: string;
}

export async function drainTraffic(
  spec: DrainSpec,
  op: DrainOp,
  driver: Driver,
  signal?: AbortSignal,
): Promise<DrainResult> {
  if ("exec" in spec) {
    const command = op === "drain" ? spec.exec : spec.undrain;
    const r = await driver.exec(command, signal ? { signal } : {});
    const last = lastLineOf(r.output);
    return { ok: r.exitCode === 0, detail: `\`${command}\`: ${describeExit(r)}${last ? `: ${last}` : ""}` };
  }
  if ("http" in spec) return httpDrain(spec.http, op, signal);
  return haproxyDrain(spec.haproxy, op, signal);
}

async function httpDrain(
  o: { url: string; undrainUrl: string; method: string; timeoutMs: number },
  op: DrainOp,
  signal?: AbortSignal,
): Promise<DrainResult> {
  const url = op === "drain" ? o.url : o.undrainUrl;
  const timeout = AbortSignal.timeout(o.timeoutMs);
  try {
    const response = await fetch(url, {
      method: o.method,
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      headers: { connection: "close" },
    });
    const body = (await response.text()).trim().slice(0, 200);
    return {
      ok: response.ok,
      detail: `${o.method} ${url}: HTTP ${response.status}${body ? `: ${body}` : ""}`,
    };
  } catch (err) {
    const why = timeout.aborted ? `no answer within ${o.timeoutMs} ms` : (err as Error).message;
    return { ok: false, detail: `${o.method} ${url}: ${why}` };
  }
}

async function haproxyDrain(
  o: { socket: string; backend: string; server: string; timeoutMs: number },
  op: DrainOp,
  signal?: AbortSignal,
): Promise<DrainResult> {
  const name = `${o.backend}/${o.server}`;
  const set = (
    await haproxyCommand(o.socket, `set server ${name} state ${op === "drain" ? "drain" : "ready"}`)
  ).trim();
  // The runtime API answers an accepted command with an empty line, a refused one in words.
  if (set) return { ok: false, detail: `haproxy: set server ${name}: ${set}` };
  if (op === "undrain") return { ok: true, detail: `haproxy: ${name} is ready` };
  const deadline = Date.now() + o.timeoutMs;
  let sessions = await currentSessions(o.socket, o.backend, o.server);
  while (sessions > 0) {
    if (signal?.aborted)
      return { ok: false, detail: `haproxy: interrupted with ${sessions} sessions left on ${name}` };
    if (Date.now() >= deadline)
      return { ok: false, detail: `haproxy: ${name} still has ${sessions} sessions after ${o.timeoutMs} ms` };
    await sleep(100);
    sessions = await currentSessions(o.socket, o.backend, o.server);
  }
  return { ok: true, detail: `haproxy: ${name} drained, no session left` };
}

/** `scur` of the server in `show stat`: its sessions now. */
export async function currentSessions(socket: string, backend: string, server: string): Promise<number> {
  return Number((await serverStat(socket, backend, server)).scur ?? 0);
}

/**
 * The server's row of `show stat` (CSV: `# pxname,svname,qcur,qmax,scur,…`), by column name:
 * `scur` its sessions now, `status` UP, DOWN, DRAIN, MAINT…
 */
export async function serverStat(
  socket: string,
  backend: string,
  server: string,
): Promise<Readonly<Record<string, string>>> {
  const csv = await haproxyCommand(socket, "show stat");
  const [header, ...rows] = csv.split("\n").filter((l) => l.trim());
  const columns = (header ?? "").replace(/^# /, "").split(",");
  for (const row of rows) {
    const cells = row.split(",");
    if (cells[columns.indexOf("pxname")] === backend && cells[columns.indexOf("svname")] === server)
      return Object.fromEntries(columns.map((c, i) => [c, cells[i] ?? ""]));
  }
  throw new Error(`haproxy has no server ${backend}/${server}`);
}

/** One command on HAProxy's runtime API; it answers and closes the connection. */
export function haproxyCommand(socket: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const [host, port] = socket.includes(":") && !socket.startsWith("/") ? socket.split(":") : [];
    const conn =
      host && port ? createConnection({ host, port: Number(port) }) : createConnection({ path: socket });
    let out = "";
    conn.setEncoding("utf8");
    conn.setTimeout(5000, () => conn.destroy(new Error(`no answer from haproxy at ${socket}`)));
    conn.on("connect", () => conn.end(`${command}\n`));
    conn.on("data", (d: string) => {
      out += d;
    });
    conn.on("error", (err) => reject(new Error(`haproxy at ${socket}: ${err.message}`)));
    conn.on("close", (hadError) => {
      if (!hadError) resolve(out);
    });
  });
}
