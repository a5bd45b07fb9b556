/**
 * ferry's public library API. The CLI imports only from here.
 */
export {
  type Catalog,
  type CatalogInput,
  defineCatalog,
  formatRefusal,
  type Hop,
  type HopKind,
  type HopMode,
  loadCatalog,
  type PathOptions,
  PathRefusedError,
  type Policy,
  type PolicyRule,
  planPath,
  type Refusal,
  type Release,
  type SchemeName,
  type VersionPath,
} from "./catalog/index.js";
export {
  ExitCode,
  exitCodeOf,
  FerryError,
  formatProblem,
  RefusedError,
  type SourceProblem,
  UserError,
} from "./errors.js";
export { jsonSchemaOf, SCHEMA_NAMES, type SchemaName } from "./json-schema.js";
