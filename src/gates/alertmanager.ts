/**
 * The Alertmanager client for `alarms:` (DESIGN.md "Gates", StarlingX's "no alarms" precondition):
 * which alerts fire now, through Alertmanager's v2 API. Only active alerts count: silenced and
 * inhibited ones are left out by Alertmanager itself, and the cluster file's `ignore` names
 * (Watchdog, which fires always by design) by the caller.
 */

export interface FiringAlert {
  /** Its `alertname` label. */
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** ISO 8601. */
  readonly startsAt: string;
}

/** The shape of one alert in `GET /api/v2/alerts` that is read here. */
interface GettableAlert {
  labels?: Record<string, string>;
  startsAt?: string;
  status?: { state?: string };
}

const TIMEOUT_MS = 10_000;

/**
 * The active, unsilenced, uninhibited alerts of the Alertmanager at `url`. Rejects, saying why,
 * when it cannot be asked or answers something else than its API's list: an alarm check that
 * cannot see the alerts must not pass.
 */
export async function firingAlerts(url: string, signal?: AbortSignal): Promise<FiringAlert[]> {
  // Unprocessed alerts (just received) count: whether a silence covers one is known a moment later.
  const query = "active=true&silenced=false&inhibited=false&unprocessed=true";
  const where = `${url.replace(/\/+$/, "")}/api/v2/alerts?${query}`;
  const timeout = AbortSignal.timeout(TIMEOUT_MS);
  let response: Response;
  try {
    response = await fetch(where, {
      headers: { Accept: "application/json" },
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
  } catch (err) {
    const cause = (err as { cause?: { message?: string } }).cause?.message;
    throw new Error(`Alertmanager at ${url} cannot be asked: ${cause ?? (err as Error).message}`);
  }
  const text = await response.text();
  if (!response.ok)
    throw new Error(`Alertmanager at ${url} answered ${response.status}: ${text.slice(0, 200)}`);
  let alerts: unknown;
  try {
    alerts = JSON.parse(text);
  } catch {
    throw new Error(`Alertmanager at ${url} answered something that is not JSON: ${text.slice(0, 200)}`);
  }
  if (!Array.isArray(alerts)) throw new Error(`Alertmanager at ${url} answered no list of alerts`);
  return (alerts as GettableAlert[])
    .filter((a) => ["active", "unprocessed"].includes(a.status?.state ?? "active"))
    .map((a) => ({
      name: a.labels?.alertname ?? "(no alertname)",
      labels: a.labels ?? {},
      startsAt: a.startsAt ?? "",
    }));
}

/** The firing alerts that hold a run: all but those whose name is ignored. Pure. */
export function holdingAlerts(alerts: readonly FiringAlert[], ignore: readonly string[]): FiringAlert[] {
  const ignored = new Set(ignore);
  return alerts.filter((a) => !ignored.has(a.name));
}

/** `HighLoad (instance=h2), DiskFull`: what holds the run, for its waiting line. */
export function describeAlerts(alerts: readonly FiringAlert[]): string {
  const names = alerts.map((a) => {
    const { alertname: _, ...rest } = a.labels;
    const where = rest.instance ?? rest.host ?? rest.job;
    return where ? `${a.name} (${where})` : a.name;
  });
  const shown = names.slice(0, 5).join(", ");
  return names.length > 5 ? `${shown} and ${names.length - 5} more` : shown;
}
