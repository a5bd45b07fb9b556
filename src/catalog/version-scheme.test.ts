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
