/**
 * Version schemes: how a release's version string is read, ordered and grouped into a series, and
 * how a range of versions (a release warning's `from`) is read.
 *
 * - calver `YY.MM.PATCH` (Backend.AI's 23.09.10): the series is `YY.MM`; there is no major.
 * - semver `MAJOR.MINOR.PATCH[-pre]` (Ganeti's 2.10.0): the series is `MAJOR.MINOR`, and
 *   pre-releases order before their release exactly as semver orders them.
 *
 * Ranges are written in node-semver's syntax (`<1.7.0`, `>=23.03 <23.09`, `~2.10`, `1.x || 2.0.0`)
 * and read in the scheme's own order: a semver pre-release is inside `<2.13.0` (it comes before
 * 2.13.0 in the catalog), and a calver range compares year, month and patch as numbers, so
 * `<23.09.10` holds 23.09.9 and `~23.09` is the series 23.09.
 */
import semver from "semver";

export type SchemeName = "calver" | "semver";

export interface ParsedVersion {
  /** The spelling used to find this version again: `23.9.1` and `23.09.1` are one version. */
  readonly key: string;
  /** The series this version belongs to, as a label: `23.09`, `2.10`. */
  readonly series: string;
  /** semver's MAJOR; calver has none, so every calver version shares major 0. */
  readonly major: number;
}

export interface VersionScheme {
  readonly name: SchemeName;
  /** What a version of this scheme looks like, for error messages. */
  readonly shape: string;
  /** The parsed version, or undefined when `raw` is not a version of this scheme. */
  parse(raw: string): ParsedVersion | undefined;
  /** Negative when a < b, 0 when equal, positive when a > b. Both must parse. */
  compare(a: string, b: string): number;
  /** What is wrong with `raw` as a range of this scheme's versions, or undefined when it is one. */
  rangeProblem(raw: string): string | undefined;
  /** Whether `version` (which must parse) is in `range` (which must have no problem). */
  inRange(version: string, range: string): boolean;
}

/**
 * node-semver reads a range with every version compared in semver's order, pre-releases included:
 * without includePrerelease, `<2.13.0` would leave out 2.13.0-rc.1, which the catalog orders
 * before 2.13.0.
 */
const RANGE_OPTIONS = { includePrerelease: true } as const;

/** A range's problem as node-semver reads it: empty (which it would take for "any"), or unreadable. */
function semverRangeProblem(raw: string, shown = raw): string | undefined {
  if (raw.trim() === "") return 'an empty range; leave `from` out for every hop, or write "*"';
  if (semver.validRange(raw, RANGE_OPTIONS) === null) {
    return `"${shown}" is not a version range (node-semver syntax, e.g. "<1.7.0", ">=1.7.0 <1.9.0", "~1.8")`;
  }
  return undefined;
}

const CALVER = /^(\d{2}|\d{4})\.(\d{1,2})\.(\d+)$/;

function calverParts(raw: string): [number, number, number] | undefined {
  const m = CALVER.exec(raw);
  if (!m) return undefined;
  const [yy, mm, patch] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (mm < 1 || mm > 12 || !Number.isSafeInteger(patch)) return undefined;
  return [yy, mm, patch];
}

const calver: VersionScheme = {
  name: "calver",
  shape: "YY.MM.PATCH, e.g. 24.03.1",
  parse(raw) {
    const parts = calverParts(raw);
    if (!parts) return undefined;
    const [yy, mm, patch] = parts;
    const series = `${yy}.${String(mm).padStart(2, "0")}`;
    return { key: `${series}.${patch}`, series, major: 0 };
  },
  compare(a, b) {
    const pa = calverParts(a);
    const pb = calverParts(b);
    if (!pa || !pb) throw new Error(`calver compare of unparsed versions ${a}, ${b}`);
    return pa[0] - pb[0] || pa[1] - pb[1] || pa[2] - pb[2];
  },
  rangeProblem(raw) {
    // A calver version in a range may stop at its year or month (`<24`, `~23.09`); each one given
    // must be a version of the scheme, so a month 13 or a pre-release is a mistake, not "no match".
    for (const m of raw.matchAll(CALVER_IN_RANGE)) {
      const [token, , month, , pre] = m;
      if (pre !== undefined) return `"${token}" in "${raw}": calver versions have no pre-releases`;
      if (month !== undefined && (Number(month) < 1 || Number(month) > 12)) {
        return `"${token}" in "${raw}" is not a calver version (${this.shape})`;
      }
    }
    return semverRangeProblem(calverRangeAsSemver(raw), raw);
  },
  inRange(version, range) {
    const parts = calverParts(version);
    if (!parts) throw new Error(`calver range test of an unparsed version ${version}`);
    return semver.satisfies(parts.join("."), calverRangeAsSemver(range), RANGE_OPTIONS);
  },
};

/** A version as it stands in a calver range: YY[.MM[.PATCH]], an x for any, maybe a (wrong) pre-release. */
const CALVER_IN_RANGE = /(?<![\w.])(\d+)(?:\.(\d+|[xX*])(?:\.(\d+|[xX*]))?)?(-[0-9A-Za-z.-]+)?/g;

/**
 * A calver range as the semver range that orders the same: each number without its leading zeros
 * (23.09.10 → 23.9.10), which node-semver's strict reading refuses and which change no number.
 */
function calverRangeAsSemver(raw: string): string {
  return raw.replace(/\d+/g, (digits) => String(Number(digits)));
}

const semverScheme: VersionScheme = {
  name: "semver",
  shape: "MAJOR.MINOR.PATCH[-PRERELEASE], e.g. 2.10.0",
  parse(raw) {
    // semver's strict parser also takes a leading "v" or "="; a catalog entry should be the bare version.
    if (!/^\d/.test(raw)) return undefined;
    const v = semver.parse(raw);
    if (!v) return undefined;
    const pre = v.prerelease.length ? `-${v.prerelease.join(".")}` : "";
    return { key: `${v.major}.${v.minor}.${v.patch}${pre}`, series: `${v.major}.${v.minor}`, major: v.major };
  },
  compare(a, b) {
    return semver.compare(a, b);
  },
  rangeProblem(raw) {
    return semverRangeProblem(raw);
  },
  inRange(version, range) {
    return semver.satisfies(version, range, RANGE_OPTIONS);
  },
};

export const SCHEMES: Readonly<Record<SchemeName, VersionScheme>> = { calver, semver: semverScheme };
