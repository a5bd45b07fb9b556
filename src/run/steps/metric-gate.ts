/**
 * `metric-gate`: measures a Prometheus query `count` times, `interval` apart, and passes or fails
 * the batch before it by the gate's rules (src/gates). Each measurement is journaled (value, time,
 * verdict) before the next is taken. A gate that cannot decide for want of data asks the run to
 * pause (`inconclusive: pause`, the default); a halt between measurements ends it `cut`, and a
 * resume measures again from the start.
 */
import { gateStanding, judgeReading, type MeasurementVerdict, queryPrometheus } from "../../gates/index.js";
import { formatMs, waitFor } from "./soak.js";
import { type ActionOf, failed, passed, type StepKind, type StepResult } from "./step-kind.js";

/** The longest one query may take. */
const QUERY_TIMEOUT_MS = 10_000;

export const metricGate: StepKind<ActionOf<"metric-gate">> = {
  async run({ gate }, ctx) {
    const { url, query } = gate.prometheus;
    const verdicts: MeasurementVerdict[] = [];
    const lines: string[] = [];
    // The run waits for the gate while it measures: one mark, not one journal write per measurement.
    const { bound, threshold } = gate.prometheus;
    await ctx.waiting.start({
      for: "gate",
      detail: `${gate.name}: ${query} ${bound} ${threshold}, ${gate.count} measurements every ${formatMs(gate.intervalMs)}`,
    });
    try {
      return await measure();
    } finally {
      await ctx.waiting.end(`gate ${gate.name} measured`);
    }

    async function measure(): Promise<StepResult> {
      for (;;) {
        const reading = await queryPrometheus(url, query, {
          timeoutMs: Math.min(QUERY_TIMEOUT_MS, ctx.step.timeoutMs),
          signal: ctx.signal,
        });
        const { verdict, detail } = judgeReading(reading, gate.prometheus);
        await ctx.measured({ gate: gate.name, at: Date.now(), value: reading.value, verdict, detail });
        verdicts.push(verdict);
        lines.push(`measurement ${verdicts.length}/${gate.count}: ${verdict} (${detail})`);
        const output = `${lines.join("\n")}\n`;
        const standing = gateStanding(verdicts, gate);
        const failures = verdicts.filter((v) => v === "fail").length;
        if (standing === "pass")
          return passed(
            `${output}gate ${gate.name} passed: ${verdicts.length - failures} of ${gate.count} measurements passed\n`,
          );
        if (standing === "fail")
          return failed(
            `gate ${gate.name} failed: ${failures} failed measurement(s), more than failureLimit ${gate.failureLimit}; last: ${detail} (query: ${query})`,
            output,
          );
        if (standing === "pause")
          return {
            ok: false,
            pause: `gate ${gate.name}`,
            error: `gate ${gate.name} is inconclusive: ${detail} (query: ${query}); inconclusive: pause`,
            exitCode: null,
            output,
          };
        if (!(await waitFor(gate.intervalMs, ctx.waiting.halted)))
          return {
            ok: false,
            cut: true,
            error: `gate ${gate.name} cut short by the run stopping after ${verdicts.length} of ${gate.count} measurements (every ${formatMs(gate.intervalMs)})`,
            exitCode: null,
            output,
          };
      }
    }
  },
};
