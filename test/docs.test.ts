/**
 * docs/ is made from ferry's own schemas and help by `npm run docs`: a page that differs from what
 * they make now (a field added, a flag renamed, a page edited by hand) fails here, so the reference
 * cannot drift from the code. Links between the pages and to the repository's files must resolve.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { it } from "node:test";
import { docsPages } from "../scripts/docs-pages.js";
import { ROOT } from "./support/run-ferry.js";

const pages = docsPages();

it("docs/ holds a page for each file a user writes and each command", () => {
  assert.ok(pages.has("docs/reference/cluster.yaml.md"));
  assert.ok(pages.has("docs/reference/releases.yaml.md"));
  assert.ok(pages.has("docs/commands/apply.md"));
  assert.ok(pages.has("docs/commands/report.md"));
});

for (const [path, text] of pages) {
  it(`${path} is as ferry makes it now (npm run docs writes it)`, () => {
    const file = join(ROOT, path);
    assert.ok(existsSync(file), `${path} is missing: run npm run docs`);
    assert.equal(readFileSync(file, "utf8"), text, `${path} differs from what ferry makes: run npm run docs`);
  });
}

it("every field of cluster.yaml's schema has a row in its reference", () => {
  const page = pages.get("docs/reference/cluster.yaml.md") ?? "";
  for (const field of [
    "name",
    "hosts[].address",
    "components[].drain",
    "pointOfNoReturn.before",
    "notify[].webhook",
  ]) {
    assert.match(page, new RegExp(`\\| \`${field.replace(/[.[\]]/g, "\\$&")}\` \\|`), field);
  }
});

it("the links in docs/ and the README point at files in the repository", () => {
  const sources = [...pages.keys(), "README.md"];
  for (const source of sources) {
    const text = readFileSync(join(ROOT, source), "utf8");
    for (const [, target] of text.matchAll(/\]\(([^)#]+)(#[^)]*)?\)/g)) {
      if (/^[a-z]+:/.test(target ?? "")) continue;
      const path = join(ROOT, dirname(source), target ?? "");
      assert.ok(path.startsWith(ROOT), `${source} links outside the repository: ${target}`);
      assert.ok(existsSync(path), `${source} links to ${target}, which is not there`);
    }
  }
});
