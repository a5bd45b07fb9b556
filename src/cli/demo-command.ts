/** `ferry demo [--json]`: the sample cluster, upgraded under load on this machine, and a report. */
import {
  type DemoReport,
  ExitCode,
  forTerminal,
  type LiveLoad,
  RunEvents,
  renderReport,
  runDemo,
} from "../index.js";
import { printJson, printLines, writeWhole } from "./output.js";
import type { SetExit } from "./program.js";
import { plainProgress } from "./progress.js";
import { progressTree } from "./progress-tree.js";
import { colorsFor, isLiveTerminal } from "./terminal.js";

export interface DemoFlags {
  json?: boolean;
  database?: string;
  report?: string;
}

export async function demoCommand(flags: DemoFlags, setExit: SetExit): Promise<void> {
  const events = new RunEvents();
  // On a terminal the live tree, as apply draws it, with the load's figures under it.
  let live: (() => LiveLoad) | undefined;
  const below = () => (live ? [loadLine(live())] : []);
  const tree = isLiveTerminal(process.stdout) && !flags.json;
  const progress = flags.json
    ? undefined
    : tree
      ? progressTree(process.stdout, colorsFor(process.stdout), below)
      : plainProgress();
  if (progress) events.on(progress.listener);
  const say = flags.json
    ? () => {}
    : tree
      ? (line: string) => progress?.note(line)
      : (line: string) => process.stdout.write(`${forTerminal(line)}\n`);
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    const report = await runDemo({
      events,
      interrupt: controller.signal,
      ...(flags.database ? { database: flags.database } : {}),
      say,
      onLoad: (figures) => {
        live = figures;
      },
    });
    progress?.finish();
    if (flags.report && report.recorded) {
      const { timeline, load } = report.recorded;
      writeWhole(flags.report, renderReport(timeline, { load }), "--report");
      if (!flags.json) process.stdout.write(`wrote ${flags.report}\n`);
    }
    if (flags.json) {
      const { latencyBeforeMs, outcome, problems, recorded, ...shape } = report;
      printJson(shape);
    } else {
      printLines(renderSummary(report));
    }
    const wrong = whatWentWrong(report);
    // The JSON keeps its shape; what went wrong goes to stderr, so that a failed exit says why.
    if (flags.json) for (const line of wrong) process.stderr.write(`ferry demo: ${forTerminal(line)}\n`);
    if (controller.signal.aborted) setExit(ExitCode.interrupted);
    else if (wrong.length > 0) setExit(ExitCode.failed);
  } finally {
    progress?.finish();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

/**
 * Nothing when the demo upgraded every member and lost nothing; else the run's outcome and every
 * problem. A failed request before or after the upgrade's own span is not counted in `requests`,
 * but it is still a problem.
 */
export function whatWentWrong(r: DemoReport): string[] {
  const clean =
    r.requests.failed === 0 && r.writes.lost === 0 && r.jobs.lost === 0 && r.problems.length === 0;
  return clean && r.finalVersion === r.path.at(-1) ? [] : [r.outcome, ...r.problems];
}

/** `load: 298 requests/s, 0 failed, p99 12 ms (last 3 s)` */
export function loadLine(l: LiveLoad): string {
  return `load: ${l.perS} requests/s, ${l.failed} failed, p99 ${l.p99Ms} ms (last 3 s)`;
}

export function renderSummary(r: DemoReport): string[] {
  return [
    "",
    `${r.finalVersion === r.path.at(-1) ? "upgraded" : "did not complete the upgrade"} ${r.path.join(" → ")} in ${r.durationS} s; ${r.finalVersion ? `every member runs ${r.finalVersion}` : "the members run mixed versions"}`,
    `  ${r.outcome}`,
    `requests: ${r.requests.sent} sent during the upgrade, ${r.requests.failed} failed`,
    `latency:  p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms, max ${r.latencyMs.max} ms (before the upgrade: p99 ${r.latencyBeforeMs.p99} ms)`,
    `writes:   ${r.writes.acknowledged} acknowledged, ${r.writes.lost} lost`,
    `jobs:     ${r.jobs.enqueued} enqueued, ${r.jobs.completed} completed, ${r.jobs.lost} lost`,
    ...r.problems.map((p) => `  problem: ${p}`),
  ];
}
