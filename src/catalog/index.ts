/** Versions, schemes, policy and the path planner: everything about which upgrades are allowed. */
export {
  type Catalog,
  type CatalogSource,
  defineCatalog,
  loadCatalog,
  parseCatalog,
  type Release,
  type ReleaseWarning,
} from "./catalog.js";
export { lookupRelease, releaseIndex } from "./catalog-index.js";
export { type CatalogInput, CatalogSchema, type Policy, PolicySchema } from "./catalog-schema.js";
export {
  formatRefusal,
  type Hop,
  type HopKind,
  type HopMode,
  type PolicyRule,
  type Refusal,
} from "./hop-rules.js";
export { type PathOptions, PathRefusedError, planPath, type VersionPath } from "./path-planner.js";
export {
  type HopNote,
  type HopWarning,
  hopReleaseNotes,
  type PathHop,
  type ReleaseNotes,
  warningsToAccept,
} from "./release-notes.js";
export { SCHEMES, type SchemeName, type VersionScheme } from "./version-scheme.js";
