/**
 * A real Alertmanager (Debian's prometheus-alertmanager) for the alarm tests: its own instance on
 * a free loopback port, its own data folder and configuration, clustering off, stopped by its pid.
 * Alerts are pushed and resolved through its v2 API, as Prometheus would, and silenced as an
 * operator would.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

export const ALERTMANAGER = "/usr/bin/prometheus-alertmanager";

/** Why the alarm tests cannot run here, or undefined when they can. */
export function alertmanagerMissing(): string | undefined {
  return existsSync(ALERTMANAGER)
    ? undefined
    : `${ALERTMANAGER} is missing (apt-get install prometheus-alertmanager)`;
}

export interface Alertmanager {
  readonly url: string;
  /** Fires an alert (until resolved): `labels` must hold its alertname. */
  fire(labels: Record<string, string>): Promise<void>;
  /** Resolves it: the same labels sent again with an end in the past. */
  resolve(labels: Record<string, string>): Promise<void>;
  /** Silences every alert of that name for an hour. */
  silence(alertname: string): Promise<void>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export async function startAlertmanager(): Promise<Alertmanager> {
  const dir = mkdtempSync(join(tmpdir(), "ferry-alertmanager-"));
  const config = join(dir, "alertmanager.yml");
  writeFileSync(config, "route:\n  receiver: none\nreceivers:\n  - name: none\n");
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    ALERTMANAGER,
    [
      `--config.file=${config}`,
      `--storage.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--cluster.listen-address=",
      "--log.level=warn",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr?.on("data", (d) => {
    stderr += d;
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  // Ready within 20 s, asked every 50 ms: bounded in count and time.
  for (let i = 0; ; i++) {
    const ready = await fetch(`${url}/-/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (i >= 400 || child.exitCode !== null) {
      await stop();
      throw new Error(`Alertmanager did not come up on ${url}: ${stderr}`);
    }
    await sleep(50);
  }
  const post = async (path: string, body: unknown) => {
    const r = await fetch(`${url}${path}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    if (!r.ok) throw new Error(`POST ${path}: ${r.status} ${await r.text()}`);
  };
  const hour = 3_600_000;
  return {
    url,
    fire: (labels) => post("/api/v2/alerts", [{ labels, startsAt: new Date().toISOString() }]),
    resolve: (labels) =>
      post("/api/v2/alerts", [
        {
          labels,
          startsAt: new Date(Date.now() - hour).toISOString(),
          endsAt: new Date(Date.now() - 1000).toISOString(),
        },
      ]),
    silence: (alertname) =>
      post("/api/v2/silences", {
        matchers: [{ name: "alertname", value: alertname, isRegex: false, isEqual: true }],
        startsAt: new Date().toISOString(),
        endsAt: new Date(Date.now() + hour).toISOString(),
        createdBy: "ferry tests",
        comment: "known, being fixed",
      }),
    stop,
  };
}
