/** `ferry report [-c cluster.yaml] [--run ID] [--out report.html]`: a run as one HTML page. */
import { loadCluster, runReport } from "../index.js";
import { withStore } from "./context.js";
import { writeWhole } from "./output.js";

interface Flags {
  config: string;
  run?: string;
  out: string;
}

export async function reportCommand(flags: Flags): Promise<void> {
  const cluster = loadCluster(flags.config);
  const report = await withStore(cluster, (store) => runReport(cluster, store, flags.run));
  writeWhole(flags.out, report.html, "--out");
  const t = report.timeline;
  process.stdout.write(
    `wrote ${flags.out}: run ${report.runId} (${t.run.from} → ${t.run.to}, ${t.run.status}), ${t.bars.length} steps on ${t.hosts.length} rows\n`,
  );
}
