/**
 * A real Prometheus (Debian's /usr/bin/prometheus) for tests: its own config and data folder in a
 * folder the test gives, on a free loopback port, scraping the targets named every 200 ms. Stopped
 * by its pid. Without Prometheus the tests that need it skip, saying why, except under CI=true,
 * where that fails.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

const BINARY = "/usr/bin/prometheus";

/** Why Prometheus cannot be used here, or undefined when it can. */
export function prometheusMissing(): string | undefined {
  return spawnSync(BINARY, ["--version"]).status === 0
    ? undefined
    : "prometheus is not installed here (apt-get install prometheus)";
}

/** `{ skip }` for a test or suite that needs Prometheus: skipped with the reason, but never under CI=true. */
export function prometheusSkip(): { skip: string | false } {
  const why = prometheusMissing();
  return { skip: why && process.env.CI !== "true" ? why : false };
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface Prometheus {
  readonly url: string;
  /** The value of an instant query, or null when it has none. */
  value(query: string): Promise<number | null>;
  /** Resolves once `query` has a value that `ok` accepts (polled, at most `ms`). */
  until(query: string, ok: (v: number) => boolean, ms?: number): Promise<number>;
  log(): string;
  stop(): Promise<void>;
}

/** Starts Prometheus scraping `targets` (`127.0.0.1:PORT`, job `notes`) every 200 ms. */
export async function startPrometheus(dir: string, targets: readonly string[]): Promise<Prometheus> {
  mkdirSync(join(dir, "tsdb"), { recursive: true });
  const config = join(dir, "prometheus.yml");
  writeFileSync(
    config,
    JSON.stringify({
      global: { scrape_interval: "200ms", scrape_timeout: "200ms", evaluation_interval: "1s" },
      scrape_configs: [{ job_name: "notes", static_configs: [{ targets }] }],
    }),
  );
  const port = await freePort();
  const logFile = join(dir, "prometheus.log");
  const out = openSync(logFile, "a");
  const child: ChildProcess = spawn(
    BINARY,
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, "tsdb")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--log.level=warn",
    ],
    { stdio: ["ignore", out, out] },
  );
  const url = `http://127.0.0.1:${port}`;
  const value = async (query: string): Promise<number | null> => {
    const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(query)}`);
    const body = (await res.json()) as { data?: { result?: { value: [number, string] }[] } };
    const first = body.data?.result?.[0];
    return first ? Number(first.value[1]) : null;
  };
  const until = async (query: string, ok: (v: number) => boolean, ms = 20_000): Promise<number> => {
    const deadline = Date.now() + ms;
    for (;;) {
      const v = await value(query).catch(() => null);
      if (v !== null && ok(v)) return v;
      if (Date.now() > deadline) throw new Error(`${query} did not reach the value wanted within ${ms} ms`);
      await sleep(100);
    }
  };
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, "exit");
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`prometheus exited: ${readFileSync(logFile, "utf8")}`);
      const ready = await fetch(`${url}/-/ready`).then(
        (r) => r.ok,
        () => false,
      );
      if (ready) break;
      if (Date.now() > deadline) throw new Error("prometheus did not become ready within 20 s");
      await sleep(100);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, value, until, log: () => readFileSync(logFile, "utf8"), stop };
}
