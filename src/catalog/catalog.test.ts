import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { UserError } from "../errors.js";
import { loadCatalog } from "./catalog.js";

// Every case's files under one folder, gone when the file's tests end.
const TMP = mkdtempSync(join(tmpdir(), "ferry-catalog-"));
after(() => rmSync(TMP, { recursive: true, force: true }));

function catalogFile(text: string): string {
  const file = join(mkdtempSync(join(TMP, "case-")), "releases.yaml");
  writeFileSync(file, text);
  return file;
}

/** The problems a bad catalog is refused with, as "line: field: message" strings. */
function problemsOf(text: string): string[] {
  const file = catalogFile(text);
  try {
    loadCatalog(file);
  } catch (err) {
    assert.ok(err instanceof UserError, String(err));
    assert.equal(err.exitCode, 2);
    for (const p of err.problems) assert.equal(p.file, file, "every problem names the file");
    return err.problems.map((p) => `${p.line}: ${p.field ?? ""}: ${p.message}`);
  }
  assert.fail("the catalog was accepted");
}

describe("loadCatalog", () => {
  it("reads a catalog, applies the policy defaults and sorts the releases", () => {
    const file = catalogFile(
      'product: notes\nscheme: calver\nreleases:\n  - "24.03.0"\n  - version: "23.09.10"\n    migrations: db/23.09.10\n',
    );
    const catalog = loadCatalog(file);
    assert.deepEqual(catalog.policy, {
      stepwise: true,
      leaveSeriesFrom: "latest",
      skipSeries: false,
      crossMajor: true,
      downgrade: "none",
      rolling: "within-series",
    });
    assert.deepEqual(
      catalog.releases.map((r) => r.version),
      ["23.09.10", "24.03.0"],
    );
    assert.equal(catalog.releases[0]?.migrations, join(file, "..", "db/23.09.10"), "relative to the file");
    assert.ok(Object.isFrozen(catalog.releases));
  });

  for (const [name, text, expected] of [
    ["a missing field, on its parent's line", "product: notes\nreleases: ['1.0.0']\n", ["1: scheme: "]],
    [
      "a misspelt policy field",
      "product: n\nscheme: calver\npolicy:\n  stepWise: false\nreleases: ['24.03.0']\n",
      ["4: policy.stepWise: unknown field (check its spelling)"],
    ],
    [
      "a wrong enum value",
      "product: n\nscheme: calver\npolicy:\n  rolling: sometimes\nreleases: ['24.03.0']\n",
      ["4: policy.rolling: "],
    ],
    [
      "an unquoted version that YAML reads as a number",
      "product: n\nscheme: semver\nreleases:\n  - 2.10\n",
      ['4: releases[0]: write versions in quotes ("2.10.0"): YAML read this one as the number 2.1'],
    ],
    [
      "a version of the wrong scheme",
      "product: n\nscheme: calver\nreleases:\n  - '24.03.0'\n  - version: '2.10.0-rc.1'\n",
      ['5: releases[1].version: "2.10.0-rc.1" is not a calver version (YY.MM.PATCH, e.g. 24.03.1)'],
    ],
    [
      "a release listed twice",
      "product: n\nscheme: calver\nreleases:\n  - '24.03.0'\n  - '24.03.1'\n  - '24.3.0'\n",
      ["6: releases[2]: 24.3.0 is listed twice (first at line 4)"],
    ],
    [
      "an empty release list",
      "product: n\nscheme: calver\nreleases: []\n",
      ["3: releases: a catalog lists at least one release"],
    ],
    [
      "a warning's range that is not one",
      "product: n\nscheme: semver\nreleases:\n  - '1.8.0'\n  - version: '1.9.0'\n    warnings:\n      - { text: ok }\n      - from: before 1.9\n        text: volumes are lost\n",
      ['8: releases[1].warnings[1].from: "before 1.9" is not a version range'],
    ],
    [
      "a calver warning's range with a month that is not one",
      "product: n\nscheme: calver\nreleases:\n  - version: '24.03.0'\n    warnings: [{ from: '<23.13', text: t }]\n",
      ['5: releases[0].warnings[0].from: "23.13" in "<23.13" is not a calver version'],
    ],
    [
      "a warning without its text",
      "product: n\nscheme: semver\nreleases:\n  - version: '1.9.0'\n    warnings:\n      - from: '<1.9.0'\n        acknowledge: yes\n",
      ["6: releases[0].warnings[0].text: missing", "7: releases[0].warnings[0].acknowledge: "],
    ],
    ["a YAML syntax error", "product: n\nscheme: [calver\n", ["3: : "]],
    [
      "a duplicated key",
      "product: n\nproduct: m\nscheme: calver\nreleases: ['24.03.0']\n",
      ["2: : Map keys must be unique"],
    ],
  ] as const) {
    it(`refuses ${name}, naming the line and field`, () => {
      const problems = problemsOf(text);
      assert.equal(problems.length, expected.length, problems.join("\n"));
      for (const [k, prefix] of expected.entries()) {
        assert.ok(problems[k]?.startsWith(prefix), `${problems[k]} !~ ${prefix}`);
      }
    });
  }

  it("reads a release's notes and warnings, `acknowledge` false unless given", () => {
    const catalog = loadCatalog(
      catalogFile(
        "product: n\nscheme: semver\nreleases:\n  - '1.8.0'\n  - version: '1.9.0'\n    notes: StatefulSets.\n    warnings:\n      - { from: '<1.9.0', text: volumes are lost, acknowledge: true }\n      - { text: read the notes }\n",
      ),
    );
    assert.deepEqual(catalog.releases[1], {
      version: "1.9.0",
      series: "1.9",
      major: 1,
      notes: "StatefulSets.",
      warnings: [
        { from: "<1.9.0", text: "volumes are lost", acknowledge: true },
        { text: "read the notes", acknowledge: false },
      ],
    });
  });

  it("reports every problem at once", () => {
    const problems = problemsOf(
      "product: n\nscheme: calver\npolicy: { stepwise: 1, extra: 2 }\nreleases: ['x']\n",
    );
    assert.equal(problems.length, 2, problems.join("\n"));
  });

  it("names a file that cannot be read", () => {
    assert.throws(
      () => loadCatalog("/nonexistent/releases.yaml"),
      /\/nonexistent\/releases\.yaml: cannot read it: no such file/,
    );
  });
});
