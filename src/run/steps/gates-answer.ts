/**
 * `gates-answer`, in a hop's preflight: every metric gate's Prometheus answers its query, before
 * any host changes. A URL that is wrong or a query that is not PromQL would otherwise show only
 * after the first batch, as an inconclusive gate. No data is fine here: a metric may appear only
 * with the new release.
 */
import { queryPrometheus } from "../../gates/index.js";
import { type ActionOf, failed, passed, type StepKind } from "./step-kind.js";

const QUERY_TIMEOUT_MS = 10_000;

export const gatesAnswer: StepKind<ActionOf<"gates-answer">> = {
  async run({ gates }, { signal }) {
    const lines: string[] = [];
    for (const g of gates) {
      const { url, query } = g.prometheus;
      const r = await queryPrometheus(url, query, { timeoutMs: QUERY_TIMEOUT_MS, signal });
      if (r.unanswered) return failed(`gate ${g.name}: ${r.reason} (query: ${query})`, lines.join(""));
      lines.push(`gate ${g.name}: ${r.value === null ? r.reason : `answers ${r.value}`}\n`);
    }
    return passed(lines.join(""));
  },
};
