/** `ferry report [-c cluster.yaml] [--run ID] [--out report.html]`: a run as one HTML page. */
import type { Command } from "commander";
import { loadCluster, runReport } from "../index.js";
import { withStore } from "./context.js";
import { writeWhole } from "./output.js";

interface Flags {
  config: string;
  run?: string;
  out: string;
}

export function registerReportCommand(program: Command): void {
  program
    .command("report")
    .description(
      "write one self-contained HTML page of a run: its facts, a timeline of every step per host, time out of service",
    )
    .option("-c, --config <file>", "the cluster file", "cluster.yaml")
    .option("--run <id>", "the run (default: the latest)")
    .option("--out <file>", "where to write the page", "report.html")
    .action(async (flags: Flags) => {
      const cluster = loadCluster(flags.config);
      const report = await withStore(cluster, (store) => runReport(cluster, store, flags.run));
      writeWhole(flags.out, report.html, "--out");
      const t = report.timeline;
      process.stdout.write(
        `wrote ${flags.out}: run ${report.runId} (${t.run.from} → ${t.run.to}, ${t.run.status}), ${t.bars.length} steps on ${t.hosts.length} rows\n`,
      );
    });
}
