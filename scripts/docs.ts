/** Writes docs/ from ferry's own schemas and help (scripts/docs-pages.ts): `npm run docs`. */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { docsPages } from "./docs-pages.js";

const ROOT = new URL("../", import.meta.url).pathname;
for (const [path, text] of docsPages()) {
  mkdirSync(dirname(join(ROOT, path)), { recursive: true });
  writeFileSync(join(ROOT, path), text);
  process.stdout.write(`wrote ${path}\n`);
}
