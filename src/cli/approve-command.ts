/** `ferry approve|reject [-c cluster.yaml] [--run ID] [--by NAME] [--json]`: answer the approval a run waits for. */
import { answerApproval, loadCluster, type Verdict, whoStarted } from "../index.js";
import { withStore } from "./context.js";
import { printJson } from "./output.js";

interface Flags {
  config: string;
  run?: string;
  by?: string;
  json?: boolean;
}

export async function approveCommand(name: "approve" | "reject", flags: Flags): Promise<void> {
  const verdict: Verdict = name === "approve" ? "approved" : "rejected";
  const cluster = loadCluster(flags.config);
  await withStore(cluster, async (store) => {
    const answer = await answerApproval({
      cluster,
      store,
      verdict,
      by: flags.by ?? whoStarted(),
      ...(flags.run ? { runId: flags.run } : {}),
    });
    if (flags.json) printJson(answer);
    else process.stdout.write(`${answer.message}\n`);
  });
}
