/**
 * Version schemes: how a release's version string is read, ordered and grouped into a series.
 *
 * - calver `YY.MM.PATCH` (Backend.AI's 23.09.10): the series is `YY.MM`; there is no major.
 * - semver `MAJOR.MINOR.PATCH[-pre]` (Ganeti's 2.10.0): the series is `MAJOR.MINOR`, and
 *   pre-releases order before their release exactly as semver orders them.
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
};

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
};

export const SCHEMES: Readonly<Record<SchemeName, VersionScheme>> = { calver, semver: semverScheme };
