/** `ferry path` and `ferry schema` through the real executable: output, JSON and exit codes. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { ferry, ROOT } from "./support/run-ferry.js";

const BACKEND_AI = "examples/catalogs/backend-ai.yaml";
const GANETI = "examples/catalogs/ganeti.yaml";

describe("ferry path", () => {
  it("prints the path with each hop's kind and mode, exit 0", () => {
    const r = ferry(["path", "--catalog", BACKEND_AI, "--from", "23.09.9", "--to", "24.03.0"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      [
        "backend.ai 23.09.9 → 24.03.0: 2 hops",
        "  23.09.9  → 23.09.10  patch     rolling",
        "  23.09.10 → 24.03.0   series    offline",
        "",
      ].join("\n"),
    );
    assert.equal(r.stderr, "");
  });

  it("--json prints only the JSON document DESIGN.md specifies", () => {
    const r = ferry(["path", "--catalog", GANETI, "--from", "2.10.3", "--to", "2.9.1", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), {
      from: "2.10.3",
      to: "2.9.1",
      path: ["2.10.3", "2.9.1"],
      hops: [{ from: "2.10.3", to: "2.9.1", kind: "downgrade", mode: "offline", notes: [], warnings: [] }],
    });
  });

  it("refuses a forbidden hop with exit 3, naming the rule and the way out", () => {
    const r = ferry(["path", "--catalog", BACKEND_AI, "--from", "23.09.9", "--to", "24.03.0", "--direct"]);
    assert.equal(r.code, 3);
    assert.equal(r.stdout, "");
    assert.match(
      r.stderr,
      /^ferry: refused: 23\.09\.9 → 24\.03\.0 is refused: .*latest release of 23\.09, which is 23\.09\.10/,
    );
    assert.match(r.stderr, /Way out: upgrade to 23\.09\.10 first/);
  });

  it("with --json, a refusal is one JSON document on stdout carrying the rule", () => {
    const r = ferry(["path", "--catalog", GANETI, "--from", "2.10.3", "--to", "3.0.0", "--json"]);
    assert.equal(r.code, 3);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.error.kind, "refused");
    assert.equal(doc.error.refusal.rule, "crossMajor");
  });

  for (const [name, args, pattern] of [
    ["an unknown version", ["--from", "23.09.9", "--to", "24.03.9"], /--to: 24\.03\.9 is not a release in/],
    ["a malformed version", ["--from", "23.9", "--to", "24.03.0"], /--from: "23\.9" is not a calver version/],
    ["a missing flag", ["--from", "23.09.9"], /required option '--to <version>' not specified/],
    ["an unknown flag", ["--from", "23.09.9", "--to", "24.03.0", "--fast"], /unknown option '--fast'/],
  ] as const) {
    it(`exits 2 for ${name}`, () => {
      const r = ferry(["path", "--catalog", BACKEND_AI, ...args]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, pattern);
      assert.equal(r.stdout, "");
    });
  }

  it("exits 2 for a catalog that does not validate, naming file, line and field", () => {
    const r = ferry([
      "path",
      "--catalog",
      "test/fixtures/bad-releases.yaml",
      "--from",
      "1.0.0",
      "--to",
      "1.0.1",
    ]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /test\/fixtures\/bad-releases\.yaml:6:\d+: policy\.leaveSeriesFrom: /);
  });
});

describe("ferry schema", () => {
  for (const [kind, fields] of [
    ["catalog", ["product", "scheme", "policy", "releases"]],
    ["cluster", ["name", "catalog", "state", "version", "onFailure", "vars", "hosts", "components", "hooks"]],
    ["fleet", ["name", "state", "clusters", "strategy"]],
  ] as const) {
    it(`prints the ${kind} file's JSON Schema, the same as the published copy`, () => {
      const r = ferry(["schema", kind]);
      assert.equal(r.code, 0, r.stderr);
      const published = readFileSync(`${ROOT}schemas/${kind}.schema.json`, "utf8");
      assert.deepEqual(
        JSON.parse(r.stdout),
        JSON.parse(published),
        `regenerate: bin/ferry schema ${kind} > schemas/${kind}.schema.json`,
      );
      const properties = Object.keys(JSON.parse(r.stdout).properties);
      for (const field of fields) assert.ok(properties.includes(field), field);
    });
  }

  it("exits 2 for an unknown kind of file", () => {
    assert.equal(ferry(["schema", "nonsense"]).code, 2);
  });
});

describe("ferry", () => {
  it("--help exits 0 and lists the commands", () => {
    const r = ferry(["--help"]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /path \[options\]/);
  });

  it("exits 2 for an unknown command", () => {
    assert.equal(ferry(["upgrade-everything"]).code, 2);
  });
});
