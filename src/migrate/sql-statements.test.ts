import assert from "node:assert/strict";
import { it } from "node:test";
import { splitStatements } from "./sql-statements.js";

for (const [name, sql, expected] of [
  [
    "plain statements",
    "CREATE TABLE a (x int);\nINSERT INTO a VALUES (1);",
    ["CREATE TABLE a (x int)", "INSERT INTO a VALUES (1)"],
  ],
  [
    "a semicolon in a string",
    "INSERT INTO a VALUES ('x;y', 'it''s');",
    ["INSERT INTO a VALUES ('x;y', 'it''s')"],
  ],
  [
    "comments, with semicolons in them",
    "-- first; not a split\nSELECT 1; /* two; */ SELECT 2;\n-- trailing",
    ["-- first; not a split\nSELECT 1", "/* two; */ SELECT 2"],
  ],
  [
    "a dollar-quoted body",
    "CREATE FUNCTION f() RETURNS int AS $$ BEGIN RETURN 1; END $$ LANGUAGE plpgsql;",
    ["CREATE FUNCTION f() RETURNS int AS $$ BEGIN RETURN 1; END $$ LANGUAGE plpgsql"],
  ],
  ["quoted identifiers", 'SELECT "a;b", `c;d` FROM t;', ['SELECT "a;b", `c;d` FROM t']],
  ["only comments and blanks", "-- nothing here\n\n/* at all */ ;;", []],
] as const) {
  it(`splits ${name}`, () => assert.deepEqual(splitStatements(sql), expected));
}
