/**
 * `ferry fleet …`: a fleet of clusters (DESIGN.md "A fleet of clusters"). Each subcommand lives in
 * its own module and is added to the group here, one line each.
 */
import type { Command } from "commander";
import type { ExitCode } from "../index.js";
import { registerFleetPlanCommand } from "./fleet-plan-command.js";
import { registerFleetRunCommands } from "./fleet-run-commands.js";

export function registerFleetCommand(program: Command, setExit: (code: ExitCode) => void): Command {
  const fleet = program
    .command("fleet")
    .description("a fleet of clusters: plan its upgrade, run it on any number of workers, watch it");
  registerFleetPlanCommand(fleet, setExit);
  registerFleetRunCommands(fleet, setExit);
  return fleet;
}

/** The fleet file flag every fleet subcommand takes. */
export function fleetFileOption(command: Command): Command {
  return command.option("-f, --file <file>", "the fleet file", "fleet.yaml");
}
