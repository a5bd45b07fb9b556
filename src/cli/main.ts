/**
 * The command line's edge: builds the program, runs one command, and turns what it threw into an
 * exit code (errors.ts says which). Nothing below this file calls process.exit.
 */
import { createRequire } from "node:module";
import { Command, CommanderError } from "commander";
// The exit codes straight from their leaf: main runs before any command's module is loaded.
import { ExitCode } from "../errors.js";
import { registerCommands } from "./program.js";

/** `setExit` is how a command that ran to its end says its outcome was not success (a run that failed). */
export function buildProgram(setExit: (code: ExitCode) => void = () => {}): Command {
  const program = new Command("ferry")
    .description("Upgrade a running multi-node cluster from one release to another, safely.")
    .version(VERSION)
    .showHelpAfterError("(run with --help for usage)")
    .configureOutput({ outputError: (text, write) => write(`ferry: ${text}`) })
    .exitOverride();
  registerCommands(program, setExit);
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

// src/cli, dist/cli and the bundle in dist/cli-bundle all sit two folders below package.json.
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
    // Loaded only now: what it needs to name every kind of error is no cost to a command that succeeds.
    const { reportError } = await import("./output.js");
    return reportError(err, json);
  }
}
