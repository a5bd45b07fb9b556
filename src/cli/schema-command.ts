/** `ferry schema catalog`: the JSON Schema of a file ferry reads, for editors to check it with. */
import { jsonSchemaOf, SCHEMA_NAMES, type SchemaName, UserError } from "../index.js";
import { printJson } from "./output.js";

export function schemaCommand(kind: string): void {
  if (!(SCHEMA_NAMES as readonly string[]).includes(kind)) {
    throw new UserError(`schema: unknown file kind "${kind}"; choose ${SCHEMA_NAMES.join(" or ")}`);
  }
  printJson(jsonSchemaOf(kind as SchemaName));
}
