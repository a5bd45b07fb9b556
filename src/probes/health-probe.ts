/**
 * Health gates: the probe a component's `health:` names (http, tcp or exec), and the wait after a
 * host restarts that lets the roll go on only once the host has stayed healthy for `healthyFor`.
 *
 * A probe never throws: a refused connection, a 500 or a failing command is a result with a detail
 * the operator can read ("connection refused", "HTTP 500 Internal Server Error", "exit 1 — db not
 * ready"), because the executor reports it rather than deciding anything from it.
 */
import { connect } from "node:net";
import { performance } from "node:perf_hooks";
import { type Driver, describeExit, formatMs } from "../drivers/index.js";

export type HealthCheck =
  | { readonly http: string; readonly method?: "GET" | "HEAD" }
  | { readonly tcp: string /* "host:port" */ }
  | { readonly exec: string };

export interface ProbeResult {
  readonly ok: boolean;
  /** What the probe saw: "HTTP 200 OK", "connection refused", "exit 1 — db not ready". */
  readonly detail: string;
}

export interface ProbeOptions {
  /** One probe gives up after this long. */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

/** setTimeout() fires at once for delays beyond this (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Probes once: http is ok on a 2xx answer, tcp once a connection is accepted, exec when the
 * command exits 0 on the host (through its driver).
 *
 * @example
 * await probeOnce({ http: "http://10.0.0.2:8080/health" }, driver, { timeoutMs: 5000 });
 * // { ok: false, detail: "HTTP 503 Service Unavailable" }
 */
export async function probeOnce(
  check: HealthCheck,
  driver: Driver,
  options: ProbeOptions,
): Promise<ProbeResult> {
  if (options.signal?.aborted) return { ok: false, detail: "interrupted" };
  if ("http" in check) return probeHttp(check.http, check.method ?? "GET", options);
  if ("tcp" in check) return probeTcp(check.tcp, options);
  return probeExec(check.exec, driver, options);
}

async function probeHttp(url: string, method: "GET" | "HEAD", options: ProbeOptions): Promise<ProbeResult> {
  const { timeoutMs, signal } = options;
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(
    () => {
      timedOut = true;
      controller.abort();
    },
    Math.min(Math.max(timeoutMs, 0), MAX_TIMER_MS),
  );
  const onAbort = () => controller.abort();
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    const response = await fetch(url, {
      method,
      // A fresh connection for every probe: the probe then also tests that the server accepts
      // connections, and no kept-alive socket outlives the health gate.
      headers: { connection: "close" },
      redirect: "manual",
      signal: controller.signal,
    });
    // The body is not needed; dropping it frees the connection at once.
    await response.body?.cancel().catch(() => {});
    const status = `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ""}`;
    return { ok: response.status >= 200 && response.status < 300, detail: status };
  } catch (error) {
    if (timedOut) return { ok: false, detail: `no answer within ${formatMs(timeoutMs)}` };
    if (signal?.aborted) return { ok: false, detail: "interrupted" };
    return { ok: false, detail: networkError(error) };
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
  }
}

function probeTcp(address: string, options: ProbeOptions): Promise<ProbeResult> {
  const { timeoutMs, signal } = options;
  const target = parseHostPort(address);
  if (typeof target === "string") return Promise.resolve({ ok: false, detail: target });
  return new Promise((resolve) => {
    const socket = connect({ host: target.host, port: target.port });
    const finish = (result: ProbeResult) => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      socket.destroy();
      resolve(result);
    };
    const onAbort = () => finish({ ok: false, detail: "interrupted" });
    const timer = setTimeout(
      () => finish({ ok: false, detail: `no connection within ${formatMs(timeoutMs)}` }),
      Math.min(Math.max(timeoutMs, 0), MAX_TIMER_MS),
    );
    signal?.addEventListener("abort", onAbort, { once: true });
    socket.once("connect", () => finish({ ok: true, detail: `connected to ${address}` }));
    socket.once("error", (error) => finish({ ok: false, detail: networkError(error) }));
  });
}

async function probeExec(command: string, driver: Driver, options: ProbeOptions): Promise<ProbeResult> {
  try {
    const r = await driver.exec(command, { timeoutMs: options.timeoutMs, signal: options.signal });
    const how = describeExit(r, options.timeoutMs);
    const last = lastLine(r.output);
    return { ok: r.exitCode === 0 && !r.timedOut && !r.aborted, detail: last ? `${how} — ${last}` : how };
  } catch (error) {
    return { ok: false, detail: `cannot run the probe on ${driver.host}: ${messageOf(error)}` };
  }
}

export interface WaitHealthyOptions {
  /** One probe gives up after this long. */
  readonly timeoutMs: number;
  /** Every probe over a window this long must pass, the window's last probe included. */
  readonly healthyForMs: number;
  /** From the start of the wait: give up when the host has not been healthy by then. */
  readonly deadlineMs: number;
  /** From the start of one probe to the start of the next (at once after a probe that took longer). */
  readonly intervalMs: number;
  readonly signal?: AbortSignal;
  /** Called after each probe, for progress display and logs. */
  readonly onProbe?: (probe: ProbeEvent) => void;
}

export interface ProbeEvent extends ProbeResult {
  /** 1 for the first probe. */
  readonly probe: number;
  /** Since the start of the wait, in whole milliseconds. */
  readonly elapsedMs: number;
}

export interface WaitHealthyResult {
  readonly healthy: boolean;
  readonly elapsedMs: number;
  /** How many probes ran. */
  readonly probes: number;
  /** Healthy: the last probe's detail. Not: why ("never healthy within 10s: connection refused"). */
  readonly detail: string;
  /** The wait was ended by its abort signal; `healthy` is then false. */
  readonly aborted: boolean;
}

/**
 * Probes every `intervalMs` until every probe over a window of `healthyForMs` has passed: the
 * window runs from the start of its first passing probe to the start of its last, so it is
 * probed at both ends and every interval between, and one long probe never stands for all of it.
 * One failure starts the window again, so a server that flaps between 200 and 500 never counts as
 * healthy. Gives up when the window cannot close by `deadlineMs`.
 *
 * @example
 * const r = await waitHealthy({ tcp: "10.0.0.2:5432" }, driver, {
 *   timeoutMs: 2000, healthyForMs: 2000, deadlineMs: 60_000, intervalMs: 250,
 * });
 * if (!r.healthy) throw new Error(`h2: ${r.detail}`);
 */
/** The least time worth giving a last probe before the deadline. */
const MIN_PROBE_MS = 50;

export async function waitHealthy(
  check: HealthCheck,
  driver: Driver,
  options: WaitHealthyOptions,
): Promise<WaitHealthyResult> {
  const { healthyForMs, deadlineMs, intervalMs, signal } = options;
  const start = performance.now();
  const elapsed = () => performance.now() - start;
  let probes = 0;
  /** When the current window of passing probes began (the start of its first probe). */
  let passingSince: number | undefined;
  let lastFailure: string | undefined;
  let last: ProbeResult | undefined;

  const interrupted = (): WaitHealthyResult => ({
    healthy: false,
    elapsedMs: Math.round(elapsed()),
    probes,
    detail: `interrupted after ${formatMs(Math.round(elapsed()))}${lastFailure ? `; last failure: ${lastFailure}` : ""}`,
    aborted: true,
  });
  const gaveUp = (): WaitHealthyResult => ({
    healthy: false,
    elapsedMs: Math.round(elapsed()),
    probes,
    detail: neverHealthy(),
    aborted: false,
  });

  while (true) {
    if (signal?.aborted) return interrupted();
    const probeStart = elapsed();
    // A probe may not run past the deadline, so the gate answers close to it; but a probe with
    // only a sliver of time left would fail for want of time and hide the real failure.
    const left = Math.round(deadlineMs - probeStart);
    if (probes > 0 && left < Math.min(options.timeoutMs, MIN_PROBE_MS)) return gaveUp();
    const timeoutMs = Math.max(1, Math.min(options.timeoutMs, left));
    last = await probeOnce(check, driver, { timeoutMs, signal });
    if (signal?.aborted) return interrupted();
    probes++;
    if (last.ok) {
      passingSince ??= probeStart;
    } else {
      passingSince = undefined;
      // A probe cut short by the deadline says little; the failure before it says why.
      if (timeoutMs === options.timeoutMs || lastFailure === undefined) lastFailure = last.detail;
    }
    const now = elapsed();
    options.onProbe?.({ ...last, probe: probes, elapsedMs: Math.round(now) });

    if (passingSince !== undefined && probeStart - passingSince >= healthyForMs) {
      return { healthy: true, elapsedMs: Math.round(now), probes, detail: last.detail, aborted: false };
    }
    // The next probe starts an interval after this one started, or when the window ends if that
    // is sooner; never before this one has ended.
    let next = probeStart + intervalMs;
    if (passingSince !== undefined) next = Math.min(next, passingSince + healthyForMs);
    if (next >= deadlineMs) return gaveUp();
    await sleep(next - now, signal);
  }

  function neverHealthy(): string {
    const why = [lastFailure ?? "", passingSince === undefined ? "" : passingFor()]
      .filter(Boolean)
      .join("; ");
    return `never healthy within ${formatMs(deadlineMs)}${why ? `: ${why}` : ""}`;
  }

  function passingFor(): string {
    const span = formatMs(Math.round(elapsed() - (passingSince ?? 0)));
    return `passing only for the last ${span} of the ${formatMs(healthyForMs)} required`;
  }
}

/**
 * A duration from a cluster file, in milliseconds: "250ms", "5s", "2m", "1h", or a bare number
 * of seconds (5 or "5").
 *
 * @example
 * parseDuration("1.5s"); // 1500
 */
export function parseDuration(value: string | number): number {
  if (typeof value === "number") {
    if (Number.isFinite(value) && value >= 0) return Math.round(value * 1000);
    throw new Error(`${value} is not a duration; write 500ms, 5s, 2m or 1h (a bare number means seconds)`);
  }
  const match = /^(\d+(?:\.\d+)?|\.\d+)(ms|s|m|h)?$/.exec(value.trim());
  if (!match) {
    throw new Error(
      `${JSON.stringify(value)} is not a duration; write 500ms, 5s, 2m or 1h (a bare number means seconds)`,
    );
  }
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(match[2] ?? "s") as "ms" | "s" | "m" | "h"];
  return Math.round(Number(match[1]) * unit);
}

/** "host:port", "[::1]:port"; a string says what is wrong. */
function parseHostPort(address: string): { host: string; port: number } | string {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(address.trim());
  const port = Number(match?.[3]);
  const host = match?.[1] ?? match?.[2];
  if (!match || host === undefined || !Number.isInteger(port) || port < 1 || port > 65535) {
    return `${JSON.stringify(address)} is not host:port`;
  }
  return { host, port };
}

/** Words for the network errors an operator meets, from a fetch or socket error. */
function networkError(error: unknown): string {
  // fetch wraps the socket's error as its cause.
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  const code = (cause as { code?: unknown } | undefined)?.code;
  const words: Record<string, string> = {
    ECONNREFUSED: "connection refused",
    ECONNRESET: "connection reset",
    EHOSTUNREACH: "host unreachable",
    ENETUNREACH: "network unreachable",
    ENOTFOUND: "host not found",
    EAI_AGAIN: "host name lookup failed",
    ETIMEDOUT: "connection timed out",
    UND_ERR_SOCKET: "connection closed before an answer",
  };
  if (typeof code === "string" && words[code]) return words[code];
  return messageOf(cause);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function lastLine(output: string): string {
  const lines = output.trimEnd().split("\n");
  return (lines[lines.length - 1] ?? "").trim();
}

/** Resolves after `ms`, or at once when `signal` aborts; leaves no timer behind either way. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, Math.min(Math.max(ms, 0), MAX_TIMER_MS));
    signal?.addEventListener("abort", done, { once: true });
  });
}
