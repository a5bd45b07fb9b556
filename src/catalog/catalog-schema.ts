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

export const ReleaseObjectSchema = z.strictObject({
  version: z.string().describe("The release's version, written as a quoted string."),
  migrations: z
    .string()
    .min(1)
    .optional()
    .describe(
      "Folder of this release's database migrations (expand/, contract/, data/), relative to this file.",
    ),
  notes: z.string().optional().describe("Free text shown with the release."),
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
