/** `ferry approve|reject [-c cluster.yaml] [--run ID] [--by NAME] [--json]`: answer the approval a run waits for. */
import type { Command } from "commander";
import { answerApproval, loadCluster, type Verdict, whoStarted } from "../index.js";
import { withStore } from "./context.js";
import { printJson } from "./output.js";

interface Flags {
  config: string;
  run?: string;
  by?: string;
  json?: boolean;
}

export function registerApproveCommands(program: Command): void {
  const commands: [string, Verdict, string][] = [
    ["approve", "approved", "let the run waiting for an approval go on"],
    [
      "reject",
      "rejected",
      "refuse the approval a run waits for: its hop rolls back (before its point of no return)",
    ],
  ];
  for (const [name, verdict, description] of commands) {
    program
      .command(name)
      .description(description)
      .option("-c, --config <file>", "the cluster file", "cluster.yaml")
      .option("--run <id>", "the run meant (default: the cluster's unfinished run)")
      .option("--by <name>", "who answers, for the journal (default: FERRY_USER, else user@host)")
      .option("--json", "print one JSON document")
      .action(async (flags: Flags) => {
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
      });
  }
}
