/**
 * A small Prometheus client: one instant query through the HTTP API (`/api/v1/query`), reduced to
 * one number or to the reason there is none. Anything short of exactly one finite-or-infinite
 * sample (no series, NaN, several series, an error, no answer) is `null` with its reason: a gate
 * reads that as inconclusive, never as a pass.
 */

export interface Reading {
  /** The sample's value; null when the query gave no usable one. */
  readonly value: number | null;
  /** Why there is no value, in words; empty when there is one. */
  readonly reason: string;
  /** Prometheus could not answer the query at all (unreachable, or the query is not PromQL). */
  readonly unanswered?: true;
}

interface QueryAnswer {
  status?: string;
  error?: string;
  data?: { resultType?: string; result?: unknown };
}

/**
 * Asks `url` for `query` at this moment.
 *
 * @example await queryPrometheus("http://127.0.0.1:9090", "sum(rate(errors_total[1m]))", { timeoutMs: 5000 })
 */
export async function queryPrometheus(
  url: string,
  query: string,
  options: { readonly timeoutMs: number; readonly signal?: AbortSignal },
): Promise<Reading> {
  const endpoint = new URL("api/v1/query", url.endsWith("/") ? url : `${url}/`);
  endpoint.searchParams.set("query", query);
  const signals = [AbortSignal.timeout(options.timeoutMs), ...(options.signal ? [options.signal] : [])];
  let answer: QueryAnswer;
  try {
    const res = await fetch(endpoint, { signal: AbortSignal.any(signals) });
    answer = (await res.json()) as QueryAnswer;
    if (!res.ok || answer.status !== "success")
      return unanswered(`Prometheus answered ${res.status}: ${answer.error ?? "no error given"}`);
  } catch (err) {
    return unanswered(`Prometheus at ${url} could not be asked: ${(err as Error).message}`);
  }
  return readingOf(answer.data);
}

/** The one number in a query's `data`, or why there is none. Pure; exported for its tests. */
export function readingOf(data: QueryAnswer["data"]): Reading {
  const { resultType, result } = data ?? {};
  let sample: unknown;
  if (resultType === "scalar") sample = result;
  else if (resultType === "vector" && Array.isArray(result)) {
    if (result.length === 0) return none("no data: the query matched no series");
    if (result.length > 1)
      return none(`the query gave ${result.length} series, not one: aggregate it (sum, max, …)`);
    sample = (result[0] as { value?: unknown }).value;
  } else return none(`the query gave a ${resultType ?? "missing"} result, not one instant value`);
  const text = Array.isArray(sample) ? sample[1] : undefined;
  if (typeof text !== "string") return none("the query's sample has no value");
  // Prometheus writes infinities as +Inf and -Inf, which Number() does not read.
  const value = /^[+-]?Inf$/.test(text)
    ? (text.startsWith("-") ? -1 : 1) * Number.POSITIVE_INFINITY
    : Number(text);
  if (Number.isNaN(value)) return none("the value is NaN (for instance a rate of nothing over nothing)");
  return { value, reason: "" };
}

function unanswered(reason: string): Reading {
  return { value: null, reason, unanswered: true };
}

function none(reason: string): Reading {
  return { value: null, reason };
}
