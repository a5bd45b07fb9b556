/**
 * The schema of `releases.yaml`, the vendor's catalog (DESIGN.md). It is the single source of the
 * file's shape: the loader validates with it and `ferry schema catalog` prints it as JSON Schema.
 * Rules that need the scheme (is "24.03.0" a version? is it listed twice?) live in load-catalog.ts.
 *
 * Written with zod/mini, not zod (zod-mini.ts): `ferry path` reads only this file of the schemas,
 * and zod/mini costs it a twentieth of what zod does to load (issue 15: a cold start of `path`
 * within 2× of a bare `node -e 0`). Same checks, same messages, same JSON Schema.
 */
import { describe, z } from "../zod-mini.js";

/** Every field is optional; the defaults are the strictest rules of the seeds (Backend.AI's). */
export const PolicySchema = describe(
  z.strictObject({
    stepwise: describe(
      z._default(z.boolean(), true),
      "Within a series, pass through every release in order (no skipped patch releases).",
    ),
    leaveSeriesFrom: describe(
      z._default(z.enum(["latest", "any"]), "latest"),
      "latest: a hop into a newer series starts from the latest release of the older one.",
    ),
    skipSeries: describe(z._default(z.boolean(), false), "May a hop jump over a whole series?"),
    crossMajor: describe(z._default(z.boolean(), true), "semver only: may a hop change MAJOR at all?"),
    downgrade: describe(
      z._default(z.enum(["none", "previous-series"]), "none"),
      "none: no hop to an older release. previous-series: a hop back within the series or to a release of precisely the previous series.",
    ),
    rolling: describe(
      z._default(z.enum(["within-series", "always", "never"]), "within-series"),
      "Which hops may run rolling; the rest run offline.",
    ),
  }),
  "The rules every hop of an upgrade path must keep.",
);

export type Policy = z.output<typeof PolicySchema>;

export const ReleaseWarningSchema = z.strictObject({
  from: describe(
    z.optional(z.string()),
    'The hops the warning is for: a range in node-semver\'s syntax ("<1.9.0", ">=23.03 <23.09", "~2.10"), matched against the release a hop into this release starts from, in the catalog\'s own order (calver too). Absent: every hop into this release.',
  ),
  text: describe(
    z.string().check(z.minLength(1, "write what the operator must know")),
    "What the operator must know.",
  ),
  acknowledge: describe(
    z._default(z.boolean(), false),
    "true: `ferry apply` refuses (exit 3) until the warning is accepted, at the prompt or with --accept-warnings; `--yes` does not accept it.",
  ),
});

export type ReleaseWarningInput = z.input<typeof ReleaseWarningSchema>;

export const ReleaseObjectSchema = z.strictObject({
  version: describe(z.string(), "The release's version, written as a quoted string."),
  migrations: describe(
    z.optional(z.string().check(z.minLength(1))),
    "Folder of this release's database migrations (expand/, contract/, data/), relative to this file.",
  ),
  notes: describe(
    z.optional(z.string()),
    "What the release changes, shown by `ferry path`, `plan` and `apply` for every hop into it.",
  ),
  warnings: describe(
    z.optional(z.array(ReleaseWarningSchema)),
    "What an operator must know before a hop into this release (KubeFATE's from/to matrix), shown by `ferry path`, `plan` and `apply`.",
  ),
});

export const ReleaseEntrySchema = z.union([z.string(), ReleaseObjectSchema], {
  error: (issue) =>
    typeof issue.input === "number"
      ? `write versions in quotes ("2.10.0"): YAML read this one as the number ${issue.input}`
      : 'a release is a version string ("24.03.0") or an object with a version field',
});

export const CatalogSchema = describe(
  z.strictObject({
    product: describe(z.string().check(z.minLength(1)), "The product's name."),
    scheme: describe(
      z.enum(["calver", "semver"]),
      "calver: YY.MM.PATCH, series YY.MM. semver: MAJOR.MINOR.PATCH, series MAJOR.MINOR.",
    ),
    policy: z.prefault(PolicySchema, {}),
    releases: z.array(ReleaseEntrySchema).check(z.minLength(1, "a catalog lists at least one release")),
  }),
  "ferry release catalog (releases.yaml): a product's releases and the upgrade policy between them.",
);

export type CatalogInput = z.input<typeof CatalogSchema>;
