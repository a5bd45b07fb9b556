/** `ferry schema catalog`: the JSON Schema of a file ferry reads, for editors to check it with. */
import type { Command } from "commander";
import { jsonSchemaOf, SCHEMA_NAMES, type SchemaName, UserError } from "../index.js";
import { printJson } from "./output.js";

export function registerSchemaCommand(program: Command): void {
  program
    .command("schema")
    .description(`print the JSON Schema of a file ferry reads (${SCHEMA_NAMES.join(" | ")})`)
    .argument("<file-kind>", SCHEMA_NAMES.join(" | "))
    .action((kind: string) => {
      if (!(SCHEMA_NAMES as string[]).includes(kind)) {
        throw new UserError(`schema: unknown file kind "${kind}"; choose ${SCHEMA_NAMES.join(" or ")}`);
      }
      printJson(jsonSchemaOf(kind as SchemaName));
    });
}
