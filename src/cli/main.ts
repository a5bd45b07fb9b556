/**
 * The command line's edge: builds the program, runs one command, and turns what it threw into an
 * exit code (errors.ts says which). Nothing below this file calls process.exit.
 */
import { createRequire } from "node:module";
import { Command, CommanderError } from "commander";
import { ExitCode } from "../index.js";
import { registerApplyCommand } from "./apply-command.js";
import { registerApproveCommands } from "./approve-command.js";
import { registerCheckCommand } from "./check-command.js";
import { registerDbCommand } from "./db-command.js";
import { registerDemoCommand } from "./demo-command.js";
import { registerFleetCommand } from "./fleet-command.js";
import { registerHostCommand } from "./host-command.js";
import { registerInitCommand } from "./init-command.js";
import { reportError } from "./output.js";
import { registerPathCommand } from "./path-command.js";
import { registerPauseCommand } from "./pause-command.js";
import { registerPlanCommand } from "./plan-command.js";
import { registerReportCommand } from "./report-command.js";
import { registerResumeCommands } from "./resume-command.js";
import { registerSchemaCommand } from "./schema-command.js";
import { registerServeCommand } from "./serve-command.js";
import { registerStatusCommands } from "./status-command.js";
import { registerWorkerCommand } from "./worker-command.js";

/** `setExit` is how a command that ran to its end says its outcome was not success (a run that failed). */
export function buildProgram(setExit: (code: ExitCode) => void = () => {}): Command {
  const program = new Command("ferry")
    .description("Upgrade a running multi-node cluster from one release to another, safely.")
    .version(VERSION)
    .showHelpAfterError("(run with --help for usage)")
    .configureOutput({ outputError: (text, write) => write(`ferry: ${text}`) })
    .exitOverride();
  registerInitCommand(program);
  registerPathCommand(program);
  registerPlanCommand(program);
  registerCheckCommand(program, setExit);
  registerApplyCommand(program, setExit);
  registerResumeCommands(program, setExit);
  registerPauseCommand(program);
  registerApproveCommands(program);
  registerHostCommand(program, setExit);
  registerStatusCommands(program);
  registerReportCommand(program);
  registerDbCommand(program, setExit);
  registerServeCommand(program, setExit);
  registerDemoCommand(program, setExit);
  registerFleetCommand(program, setExit);
  registerWorkerCommand(program, setExit);
  registerSchemaCommand(program);
  // Subcommands copy the parent's settings only when created after them, so set these on each.
  const all = (c: Command): Command[] => [c, ...c.commands.flatMap(all)];
  for (const command of all(program).slice(1)) {
    command
      .exitOverride()
      .configureOutput(program.configureOutput())
      .showHelpAfterError("(run with --help for usage)");
  }
  return program;
}

// Both src/cli and dist/cli sit two folders below package.json.
const VERSION: string = createRequire(import.meta.url)("../../package.json").version;

/**
 * A reader of ferry's output that goes away (`ferry apply | head`, a dropped terminal) must not
 * end a run in the middle of a step: the run goes on, and only the printing stops.
 */
function keepRunningWithoutReaders(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code !== "EPIPE" && err.code !== "ERR_STREAM_DESTROYED") throw err;
    });
  }
}

const STREAMS = new Set(["apply", "resume", "rollback"]);

export async function main(argv: readonly string[]): Promise<number> {
  keepRunningWithoutReaders();
  // apply, resume and rollback stream events with --json; an error then closes the stream.
  const command = argv.find((a) => !a.startsWith("-"));
  const json = argv.includes("--json") && (STREAMS.has(command ?? "") ? "stream" : true);
  let outcome: ExitCode = ExitCode.ok;
  try {
    await buildProgram((code) => {
      outcome = code;
    }).parseAsync(argv, { from: "user" });
    return outcome;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander has already printed its message; help and --version are not failures.
      const done = ["commander.helpDisplayed", "commander.version", "commander.help"].includes(err.code);
      return done ? ExitCode.ok : ExitCode.invalid;
    }
    return reportError(err, json);
  }
}
