import assert from "node:assert/strict";
import { describe, it } from "node:test";
import jsYaml from "js-yaml";
import { yamlWithoutPasswords } from "./yaml-file.js";

describe("yamlWithoutPasswords", () => {
  const text = [
    "name: x   # a comment that stays",
    "state: postgres://u:p@ss@h/db  # was postgres://u:0ldpw@h/db",
    'database: "postgres://u:p\\u0040w@h/db"',
    "single: 'postgres://u:it''s@h/db'",
    "a: |",
    "  psql postgres://u:pw@h/x",
    "  more",
    "b: &x postgres://u:pw2@h/x?sslpassword=k",
    "c: *x",
    "d: [postgres://u:pw3@h/x, 2]",
    "e: >-",
    "  folded postgres://u:pw4@h/x",
    "f: 1",
    "g: /a@b:c/d.db",
    "",
  ].join("\n");
  const out = yamlWithoutPasswords(text);

  it("masks every URL's password, however the value is written, and in comments", () => {
    assert.deepEqual(jsYaml.load(out), {
      name: "x",
      state: "postgres://u:***@h/db",
      database: "postgres://u:***@h/db",
      single: "postgres://u:***@h/db",
      a: "psql postgres://u:***@h/x\nmore\n",
      b: "postgres://u:***@h/x?sslpassword=***",
      c: "postgres://u:***@h/x?sslpassword=***",
      d: ["postgres://u:***@h/x", 2],
      e: "folded postgres://u:***@h/x",
      f: 1,
      g: "/a@b:c/d.db",
    });
    for (const secret of ["p@ss", "0ldpw", "p\\u0040w", "it''s", "pw@", "pw2", "=k", "pw3", "pw4"])
      assert.ok(!out.includes(secret), `${secret} is in:\n${out}`);
  });

  it("keeps the rest as written", () => {
    assert.match(out, /^name: x {3}# a comment that stays$/m);
    assert.match(out, /^state: postgres:\/\/u:\*\*\*@h\/db {2}# was postgres:\/\/u:\*\*\*@h\/db$/m);
    assert.match(out, /^g: \/a@b:c\/d\.db$/m);
    const plain = "name: x\nstate: .ferry/state.db\nhosts: [{ name: h1, address: 10.0.0.1 }]\n";
    assert.equal(yamlWithoutPasswords(plain), plain);
  });
});
