/**
 * The schema of `releases.yaml`, the vendor's catalog (DESIGN.md). It is the single source of the
 * file's shape: the loader validates with it and `ferry schema catalog` prints it as JSON Schema.
 * Rules that need the scheme (is "24.03.0" a version? is it listed twice?) live in load-catalog.ts.
 */
import { z } from "zod";

/** Every field is optional; the defaults are the strictest rules of the seeds (Backend.AI's). */
export const PolicySchema = z
  .strictObject({
    stepwise: z
      .boolean()
      .default(true)
      .describe("Within a series, pass through every release in order (no skipped patch releases)."),
    leaveSeriesFrom: z
      .enum(["latest", "any"])
      .default("latest")
      .describe("latest: a hop into a newer series starts from the latest release of the older one."),
    skipSeries: z.boolean().default(false).describe("May a hop jump over a whole series?"),
    crossMajor: z.boolean().default(true).describe("semver only: may a hop change MAJOR at all?"),
    downgrade: z
      .enum(["none", "previous-series"])
      .default("none")
      .describe(
        "none: no hop to an older release. previous-series: a hop back within the series or to a release of precisely the previous series.",
      ),
    rolling: z
      .enum(["within-series", "always", "never"])
      .default("within-series")
      .describe("Which hops may run rolling; the rest run offline."),
  })
  .describe("The rules every hop of an upgrade path must keep.");

export type Policy = z.output<typeof PolicySchema>;

export const ReleaseWarningSchema = z.strictObject({
  from: z
    .string()
    .optional()
    .describe(
      'The hops the warning is for: a range in node-semver\'s syntax ("<1.9.0", ">=23.03 <23.09", "~2.10"), matched against the release a hop into this release starts from, in the catalog\'s own order (calver too). Absent: every hop into this release.',
    ),
  text: z.string().min(1, "write what the operator must know").describe("What the operator must know."),
  acknowledge: z
    .boolean()
    .default(false)
    .describe(
      "true: `ferry apply` refuses (exit 3) until the warning is accepted, at the prompt or with --accept-warnings; `--yes` does not accept it.",
    ),
});

export type ReleaseWarningInput = z.input<typeof ReleaseWarningSchema>;

export const ReleaseObjectSchema = z.strictObject({
  version: z.string().describe("The release's version, written as a quoted string."),
  migrations: z
    .string()
    .min(1)
    .optional()
    .describe(
      "Folder of this release's database migrations (expand/, contract/, data/), relative to this file.",
    ),
  notes: z
    .string()
    .optional()
    .describe("What the release changes, shown by `ferry path`, `plan` and `apply` for every hop into it."),
  warnings: z
    .array(ReleaseWarningSchema)
    .optional()
    .describe(
      "What an operator must know before a hop into this release (KubeFATE's from/to matrix), shown by `ferry path`, `plan` and `apply`.",
    ),
});

export const ReleaseEntrySchema = z.union([z.string(), ReleaseObjectSchema], {
  error: (issue) =>
    typeof issue.input === "number"
      ? `write versions in quotes ("2.10.0"): YAML read this one as the number ${issue.input}`
      : 'a release is a version string ("24.03.0") or an object with a version field',
});

export const CatalogSchema = z
  .strictObject({
    product: z.string().min(1).describe("The product's name."),
    scheme: z
      .enum(["calver", "semver"])
      .describe("calver: YY.MM.PATCH, series YY.MM. semver: MAJOR.MINOR.PATCH, series MAJOR.MINOR."),
    policy: PolicySchema.prefault({}),
    releases: z.array(ReleaseEntrySchema).min(1, "a catalog lists at least one release"),
  })
  .describe(
    "ferry release catalog (releases.yaml): a product's releases and the upgrade policy between them.",
  );

export type CatalogInput = z.input<typeof CatalogSchema>;
