import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { varScopes } from "./var-scopes.js";

const every = (scopes: readonly ReadonlySet<string>[], name: string) => scopes.every((s) => s.has(name));

describe("varScopes", () => {
  it("gives hosts that define the same var names one scope between them", () => {
    const scopes = varScopes(["root"], [["port"], ["port"], ["port"]]);
    assert.deepEqual(
      scopes.map((s) => [...s]),
      [["root", "port"]],
    );
  });

  it("keeps a var that one host lacks out of some scope, so a template using it is refused", () => {
    const scopes = varScopes(["root"], [["port", "unit"], ["port"], undefined]);
    assert.equal(scopes.length, 3);
    assert.equal(every(scopes, "root"), true);
    assert.equal(every(scopes, "port"), false);
    assert.equal(every(scopes, "unit"), false);
  });

  it("tells apart hosts whose names would run together if joined plainly", () => {
    const scopes = varScopes([], [["a", "b"], ["a,b"]]);
    assert.equal(scopes.length, 2);
    assert.equal(every(scopes, "a"), false);
  });
});
