import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { loadCatalog } from "../catalog/index.js";
import { UserError } from "../errors.js";
import { readMigrations, withBatch } from "./migration-files.js";

// Every case's files under one folder, gone when the file's tests end.
const TMP = mkdtempSync(join(tmpdir(), "ferry-mig-files-"));
after(() => rmSync(TMP, { recursive: true, force: true }));

function catalogWith(files: Record<string, string>): string {
  const dir = mkdtempSync(join(TMP, "case-"));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  const file = join(dir, "releases.yaml");
  writeFileSync(
    file,
    'product: p\nscheme: semver\nreleases:\n  - "1.0.0"\n  - { version: "1.1.0", migrations: m/1.1.0 }\n',
  );
  return file;
}

describe("readMigrations", () => {
  it("reads expand, data and contract files in name order, with checksums", () => {
    const file = catalogWith({
      "m/1.1.0/expand/0002-b.sql": "CREATE TABLE b (x int);",
      "m/1.1.0/expand/0001-a.sql": "CREATE TABLE a (x int);",
      "m/1.1.0/data/0001-fill.sql": "UPDATE a SET x = 1 WHERE x IS NULL LIMIT {{batch}}",
      "m/1.1.0/contract/0001-drop.sql": "DROP TABLE b;",
      "m/1.1.0/expand/README.txt": "not a migration",
    });
    const files = readMigrations(loadCatalog(file), "postgres");
    assert.deepEqual(
      files.map((f) => `${f.phase}/${f.name}`),
      ["expand/0001-a.sql", "expand/0002-b.sql", "data/0001-fill.sql", "contract/0001-drop.sql"],
    );
    assert.ok(files.every((f) => /^[0-9a-f]{64}$/.test(f.checksum)));
  });

  it("takes a database's own variant of a file in place of the generic one", () => {
    const file = catalogWith({
      "m/1.1.0/expand/0001-a.sql": "generic",
      "m/1.1.0/expand/0001-a.mysql.sql": "for mysql",
      "m/1.1.0/expand/0002-b.postgres.sql": "only postgres",
    });
    const catalog = loadCatalog(file);
    assert.deepEqual(
      readMigrations(catalog, "mysql").map((f) => [f.name, f.sql]),
      [["0001-a.mysql.sql", "for mysql"]],
    );
    assert.deepEqual(
      readMigrations(catalog, "postgres").map((f) => f.name),
      ["0001-a.sql", "0002-b.postgres.sql"],
    );
  });

  for (const [name, files, pattern] of [
    [
      "a data migration of two statements",
      { "m/1.1.0/data/0001.sql": "UPDATE a SET x = 1 LIMIT {{batch}}; UPDATE b SET y = 2;" },
      /data\/0001\.sql: a data migration is one statement/,
    ],
    [
      "a data migration without {{batch}}",
      { "m/1.1.0/data/0001.sql": "UPDATE a SET x = 1" },
      /data\/0001\.sql: a data migration must limit its work to \{\{batch\}\} rows/,
    ],
    [
      "a folder that is not a phase",
      { "m/1.1.0/upgrade/0001.sql": "x" },
      /m\/1\.1\.0\/upgrade is not expand\/, data\/ or contract\//,
    ],
  ] as const) {
    it(`refuses ${name}, naming the file`, () => {
      assert.throws(
        () => readMigrations(loadCatalog(catalogWith(files)), "sqlite"),
        (err: unknown) => err instanceof UserError && pattern.test(err.message),
      );
    });
  }

  it("refuses a release whose migrations folder is missing", () => {
    assert.throws(
      () => readMigrations(loadCatalog(catalogWith({})), "sqlite"),
      /release 1\.1\.0: its migrations folder .* does not exist/,
    );
  });

  it("fills in the batch size", () => {
    assert.equal(
      withBatch("-- fill\nUPDATE a SET x = 1 LIMIT {{batch}};", 500),
      "-- fill\nUPDATE a SET x = 1 LIMIT 500",
    );
  });
});
