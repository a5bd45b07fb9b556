/**
 * `ferry serve` against a hostile client, through a real server process: a token that nobody could
 * send.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { withProduct } from "./support/fake-product.js";
import { startFerry } from "./support/run-ferry-async.js";

describe("ferry serve: FERRY_TOKEN", () => {
  for (const [what, token] of [
    ["a space inside", "abc def"],
    ["a leading space", " abcdef"],
    ["a trailing newline", "abcdef\n"],
    ["a tab", "abc\tdef"],
    ["a letter beyond ASCII", "tok\u00e9n"],
    ["only spaces", "   "],
    ["nothing", ""],
  ] as const) {
    it(`a token with ${what} is refused: exit 2 naming FERRY_TOKEN, nothing started`, async () => {
      await withProduct({}, async (p, c) => {
        const run = startFerry(["serve", ...c, "--port", "0"], { FERRY_TOKEN: token });
        const timer = setTimeout(() => process.kill(run.pid, "SIGTERM"), 10_000);
        const r = await run.done;
        clearTimeout(timer);
        assert.equal(r.code, 2, `${r.stdout}${r.stderr}`);
        assert.match(r.stderr, /FERRY_TOKEN/);
        assert.doesNotMatch(r.stdout, /http:\/\//, "it never listened");
        assert.ok(!existsSync(join(p.dir, "state")), "the journal was not even opened");
      });
    });
  }
});
