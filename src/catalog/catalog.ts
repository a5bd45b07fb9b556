/**
 * The catalog as ferry works with it: validated, its releases parsed and sorted oldest first.
 */
import { dirname, resolve } from "node:path";
import { type SourceProblem, UserError } from "../errors.js";
import { type FieldPath, problemAt, readYamlFile, validateWith, YamlFile } from "../yaml-file.js";
import { type CatalogInput, CatalogSchema, type Policy } from "./catalog-schema.js";
import { SCHEMES, type SchemeName, type VersionScheme } from "./version-scheme.js";

export interface Release {
  /** As the catalog spells it. */
  readonly version: string;
  readonly series: string;
  readonly major: number;
  /** Absolute path of the release's migrations folder, when it has one. */
  readonly migrations?: string;
  readonly notes?: string;
  /** What an operator must know before a hop into this release; see release-notes.ts. */
  readonly warnings?: readonly ReleaseWarning[];
}

export interface ReleaseWarning {
  /** The hops it is for: a range of the scheme's versions that a hop's start must be in; absent: every hop. */
  readonly from?: string;
  readonly text: string;
  /** Must be accepted before `apply` runs a hop it is shown for. */
  readonly acknowledge: boolean;
}

export interface Catalog {
  readonly product: string;
  readonly scheme: SchemeName;
  readonly policy: Policy;
  /** Oldest first, in the scheme's order. */
  readonly releases: readonly Release[];
  /** The file it was read from, as given, and its text; absent for a catalog built from data. */
  readonly file?: string;
  readonly text?: string;
}

export interface CatalogSource {
  /** The parsed file, so that problems can name their line. */
  readonly yaml?: YamlFile;
  /** Folder that `migrations` paths are relative to; defaults to the working directory. */
  readonly dir?: string;
}

/** Reads and validates `releases.yaml`; any problem is a UserError naming file, line and field. */
export function loadCatalog(file: string): Catalog {
  const yaml = readYamlFile(file);
  return { ...defineCatalog(yaml.data(), { yaml, dir: dirname(resolve(file)) }), file, text: yaml.text };
}

/**
 * Validates catalog text; `file` names it in errors and anchors its `migrations` folders (a fleet
 * worker runs a cluster from the copy of its catalog kept with the fleet run).
 */
export function parseCatalog(file: string, text: string): Catalog {
  const yaml = new YamlFile(file, text);
  return { ...defineCatalog(yaml.data(), { yaml, dir: dirname(resolve(file)) }), file, text };
}

/**
 * Validates a catalog given as plain data (the shape of `releases.yaml`) and returns it ready to
 * plan with.
 *
 * @example defineCatalog({ product: "notes", scheme: "calver", releases: ["24.03.0", "24.03.1"] })
 */
export function defineCatalog(input: CatalogInput | unknown, source: CatalogSource = {}): Catalog {
  const data = validateWith(source.yaml, CatalogSchema, input);
  const scheme = SCHEMES[data.scheme];
  const problems: SourceProblem[] = [];
  const seen = new Map<string, number>();
  const releases: Release[] = [];

  data.releases.forEach((entry, i) => {
    const obj = typeof entry === "string" ? { version: entry } : entry;
    const at: FieldPath = typeof entry === "string" ? ["releases", i] : ["releases", i, "version"];
    const parsed = scheme.parse(obj.version);
    if (!parsed) {
      problems.push(
        problemAt(source.yaml, at, `"${obj.version}" is not a ${scheme.name} version (${scheme.shape})`),
      );
      return;
    }
    const twin = seen.get(parsed.key);
    if (twin !== undefined) {
      const first = problemAt(source.yaml, ["releases", twin], "");
      const where = first.line ? `line ${first.line}` : `releases[${twin}]`;
      problems.push(problemAt(source.yaml, at, `${obj.version} is listed twice (first at ${where})`));
      return;
    }
    seen.set(parsed.key, i);
    const warnings = "warnings" in obj ? (obj.warnings ?? []) : [];
    warnings.forEach((w, j) => {
      const problem = w.from === undefined ? undefined : scheme.rangeProblem(w.from);
      if (problem) problems.push(problemAt(source.yaml, ["releases", i, "warnings", j, "from"], problem));
    });
    releases.push({
      version: obj.version,
      series: parsed.series,
      major: parsed.major,
      ...("migrations" in obj && obj.migrations
        ? { migrations: resolve(source.dir ?? ".", obj.migrations) }
        : {}),
      ...("notes" in obj && obj.notes ? { notes: obj.notes } : {}),
      ...(warnings.length > 0
        ? {
            warnings: warnings.map((w) => ({
              ...(w.from === undefined ? {} : { from: w.from }),
              text: w.text,
              acknowledge: w.acknowledge,
            })),
          }
        : {}),
    });
  });
  if (problems.length > 0) throw UserError.fromProblems(problems);

  releases.sort((a, b) => scheme.compare(a.version, b.version));
  return deepFreeze({ product: data.product, scheme: data.scheme, policy: data.policy, releases });
}

export function schemeOf(catalog: Catalog): VersionScheme {
  return SCHEMES[catalog.scheme];
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
