import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { maskPassword, maskPasswordsIn, scrubSecrets, secretsIn } from "./mask-password.js";

describe("maskPassword", () => {
  const cases: [string, string, string][] = [
    ["a plain password", "postgres://ferry:s3cret@db/ops", "postgres://ferry:***@db/ops"],
    ["a password with @", "postgres://ferry:p@ss@db:5432/ops", "postgres://ferry:***@db:5432/ops"],
    ["a password with :", "postgres://ferry:pa:ss@db/ops", "postgres://ferry:***@db/ops"],
    ["a password with @ and :", "mysql://root:a@b:c@127.0.0.1:3306/x", "mysql://root:***@127.0.0.1:3306/x"],
    ["a percent-encoded password", "postgres://ferry:p%40ss%2Fw@db/ops", "postgres://ferry:***@db/ops"],
    ["?password=", "postgres://ferry@db/ops?password=hush", "postgres://ferry@db/ops?password=***"],
    [
      "?sslpassword= beside other parameters",
      "postgres://db/ops?schema=f&sslpassword=hush&sslmode=require",
      "postgres://db/ops?schema=f&sslpassword=***&sslmode=require",
    ],
    [
      "both places at once",
      "postgresql://u:one@[::1]:5432/ops?password=two",
      "postgresql://u:***@[::1]:5432/ops?password=***",
    ],
    ["no password", "postgres://ferry@db/ops?schema=x", "postgres://ferry@db/ops?schema=x"],
    ["a password with / (no valid URL)", "postgres://ferry:pa/ss@db/ops", "postgres://ferry:***@db/ops"],
    ["a password with # (no valid URL)", "postgres://ferry:pa#ss@db/ops", "postgres://ferry:***@db/ops"],
    ["a password with ? (no valid URL)", "postgres://ferry:pa?ss@db/ops", "postgres://ferry:***@db/ops"],
    ["a password of digits then # (parses as a port)", "postgres://u:123#@db/ops", "postgres://u:***@db/ops"],
    ["a SQLite path", ".ferry/state.db", ".ferry/state.db"],
    ["a SQLite path with @ and :", "/srv/a@b:c/state.db", "/srv/a@b:c/state.db"],
    ["a sqlite: URL", "sqlite:data/notes.db", "sqlite:data/notes.db"],
    ["memory:", "memory:", "memory:"],
  ];
  for (const [what, input, want] of cases) {
    it(what, () => assert.equal(maskPassword(input), want));
  }
});

describe("secretsIn and scrubSecrets", () => {
  it("find a password in every form a message may quote it, and scrub them all", () => {
    const url = "postgres://ferry:p@ss:w%2Frd@db/ops?sslpassword=k%20ey";
    const secrets = secretsIn(url);
    for (const form of ["p@ss:w%2Frd", "p@ss:w/rd", "p%40ss%3Aw%2Frd", "k ey", "k%20ey"])
      assert.ok(secrets.includes(form), `${form} in ${secrets.join(" ")}`);
    const message = `auth failed for p@ss:w/rd (was p%40ss%3Aw%2Frd), key k ey`;
    assert.equal(scrubSecrets(message, secrets), "auth failed for *** (was ***), key ***");
  });

  it("none for a string that is not a URL", () => {
    assert.deepEqual(secretsIn("/srv/a@b:c/state.db"), []);
    assert.deepEqual(secretsIn("postgres://ferry@db/ops"), []);
  });
});

describe("maskPasswordsIn", () => {
  it("masks every URL in free text and leaves the rest", () => {
    assert.equal(
      maskPasswordsIn("pg_dump postgres://u:p@ss@db/x > /tmp/a@b:c; curl http://h/?token=t"),
      "pg_dump postgres://u:***@db/x > /tmp/a@b:c; curl http://h/?token=***",
    );
  });
});
