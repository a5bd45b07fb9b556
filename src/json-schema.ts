/**
 * JSON Schemas of the files a user writes, generated from the same zod schemas that validate them,
 * so an editor's checks and ferry's never disagree. `schemas/*.schema.json` hold the published copies.
 */
import { CatalogSchema } from "./catalog/catalog-schema.js";
import { ClusterSchema } from "./cluster/cluster-schema.js";
import { FleetSchema } from "./fleet/fleet-schema.js";
import type { SchemaName } from "./schema-names.js";
import { z } from "./zod-mini.js";

export { SCHEMA_NAMES, type SchemaName } from "./schema-names.js";

const SCHEMAS: Record<SchemaName, { schema: z.core.$ZodType; title: string }> = {
  catalog: { schema: CatalogSchema, title: "ferry release catalog (releases.yaml)" },
  cluster: { schema: ClusterSchema, title: "ferry cluster file (cluster.yaml)" },
  fleet: { schema: FleetSchema, title: "ferry fleet file (fleet.yaml)" },
};

export function jsonSchemaOf(name: SchemaName): Record<string, unknown> {
  const { schema, title } = SCHEMAS[name];
  // draft-07 is the newest draft every YAML editor plugin understands.
  return { title, ...z.toJSONSchema(schema, { io: "input", target: "draft-7" }) };
}
