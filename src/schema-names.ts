/**
 * The kinds of file whose JSON Schema `ferry schema` prints. Apart from json-schema.ts, which holds
 * the schemas (and fails to compile when a kind has none), so that the command line can name them
 * in its help without building any schema.
 */
export const SCHEMA_NAMES = ["catalog", "cluster", "fleet"] as const;
export type SchemaName = (typeof SCHEMA_NAMES)[number];
