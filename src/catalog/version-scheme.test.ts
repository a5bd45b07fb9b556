import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SCHEMES } from "./version-scheme.js";

describe("calver", () => {
  const { parse, compare } = SCHEMES.calver;

  it("reads YY.MM.PATCH with its series YY.MM", () => {
    assert.deepEqual(parse("23.09.10"), { key: "23.09.10", series: "23.09", major: 0 });
    assert.equal(parse("23.9.10")?.key, "23.09.10", "a month without its leading zero is the same version");
    assert.equal(parse("2024.03.1")?.series, "2024.03");
  });

  for (const bad of ["23.09", "23.13.0", "23.00.1", "v23.09.1", "23.09.1-rc1", "23.09.x", ""]) {
    it(`refuses ${JSON.stringify(bad)}`, () => assert.equal(parse(bad), undefined));
  }

  it("orders numerically, not as text", () => {
    const sorted = ["24.03.0", "23.09.10", "23.09.9", "23.03.11"].sort(compare);
    assert.deepEqual(sorted, ["23.03.11", "23.09.9", "23.09.10", "24.03.0"]);
  });
});

describe("semver", () => {
  const { parse, compare } = SCHEMES.semver;

  it("reads MAJOR.MINOR.PATCH with its series MAJOR.MINOR", () => {
    assert.deepEqual(parse("2.10.3"), { key: "2.10.3", series: "2.10", major: 2 });
    assert.equal(parse("3.0.0-rc.1")?.series, "3.0");
  });

  for (const bad of ["2.10", "v2.10.0", "=2.10.0", "2.10.0.1", "two"]) {
    it(`refuses ${JSON.stringify(bad)}`, () => assert.equal(parse(bad), undefined));
  }

  it("orders pre-releases as semver does", () => {
    const versions = [
      "1.0.0",
      "1.0.0-rc.1",
      "1.0.0-beta.11",
      "1.0.0-beta.2",
      "1.0.0-alpha.beta",
      "1.0.0-alpha",
    ];
    assert.deepEqual(versions.sort(compare), [
      "1.0.0-alpha",
      "1.0.0-alpha.beta",
      "1.0.0-beta.2",
      "1.0.0-beta.11",
      "1.0.0-rc.1",
      "1.0.0",
    ]);
  });
});

describe("ranges (a release warning's `from`)", () => {
  // [scheme, range, version, in it?]: each row a reading a vendor relies on.
  const rows: [keyof typeof SCHEMES, string, string, boolean][] = [
    // calver: numbers, not text: 23.09.9 comes before 23.09.10.
    ["calver", "<23.09.10", "23.09.9", true],
    ["calver", "<23.09.10", "23.09.10", false],
    ["calver", "<23.09.9", "23.09.10", false],
    ["calver", ">=23.09.10", "23.09.10", true],
    ["calver", "~23.09", "23.09.10", true],
    ["calver", "~23.09", "24.03.0", false],
    ["calver", "23.03.x || 23.09.0", "23.03.11", true],
    ["calver", "23.03.x || 23.09.0", "23.09.1", false],
    ["calver", "<24", "23.09.10", true],
    ["calver", "<24", "24.03.0", false],
    ["calver", "23.9.1 - 23.9.3", "23.09.2", true],
    ["calver", "<2024.03", "2023.09.1", true],
    // semver: pre-releases where the catalog orders them, before their release.
    ["semver", "<1.9.0", "1.8.0", true],
    ["semver", "<1.9.0", "1.9.0", false],
    ["semver", "<1.9.0", "1.10.0", false],
    ["semver", "<1.9.0", "1.9.0-rc.1", true],
    ["semver", "<2.13.0", "2.13.0-beta.2", true],
    ["semver", ">=2.13.0-rc.1", "2.13.0-beta.2", false],
    ["semver", "~2.10", "2.10.8", true],
    ["semver", "1.7.x || >=1.10.0", "1.8.0", false],
    ["semver", "*", "0.1.0", true],
  ];
  for (const [scheme, range, version, expected] of rows) {
    it(`${scheme}: ${version} is ${expected ? "" : "not "}in ${range}`, () => {
      assert.equal(SCHEMES[scheme].rangeProblem(range), undefined);
      assert.equal(SCHEMES[scheme].inRange(version, range), expected);
    });
  }

  for (const [scheme, range, pattern] of [
    ["semver", "<1.9.0 garbage", /not a version range/],
    ["semver", "before 1.9", /not a version range/],
    ["semver", "", /empty range/],
    ["semver", "  ", /empty range/],
    ["calver", "<23.13.0", /"23\.13\.0" in "<23\.13\.0" is not a calver version/],
    ["calver", "~23.00", /is not a calver version/],
    ["calver", "<24.03.1-rc.1", /no pre-releases/],
    ["calver", "<=>23.09", /not a version range/],
  ] as const) {
    it(`${scheme}: ${JSON.stringify(range)} is refused`, () => {
      assert.match(SCHEMES[scheme].rangeProblem(range) ?? "(accepted)", pattern);
    });
  }
});
