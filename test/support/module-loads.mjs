/**
 * `node --import ./module-loads.mjs …` with FERRY_LOADS_FILE set: appends to that file the URL of
 * every ES module Node loads, and at exit every CommonJS file in require's cache, one a line.
 */
import { appendFileSync } from "node:fs";
import { createRequire, register } from "node:module";

const file = process.env.FERRY_LOADS_FILE;
if (file) {
  register("./module-loads-hooks.mjs", import.meta.url, { data: { file } });
  const cache = createRequire(import.meta.url).cache;
  process.on("exit", () => {
    const names = Object.keys(cache);
    if (names.length > 0) appendFileSync(file, `${names.join("\n")}\n`);
  });
}
