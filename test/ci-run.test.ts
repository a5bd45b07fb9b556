/**
 * `.ci/run` is what CI runs on a clean clone. The tests that need a system tool skip when it is
 * absent except under CI=true; the script sets CI=true itself, so those guards hold however it is
 * started (by hand, from another CI system, under `env -i`). It runs here with stand-ins for the
 * tools it would call (npm, apt-get, the database services), which record how they were called.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { ROOT } from "./support/run-ferry.js";

test(".ci/run runs the tests with CI=true even when started without it", (t) => {
  const bin = mkdtempSync(join(tmpdir(), "ferry-ci-run-"));
  t.after(() => rmSync(bin, { recursive: true, force: true }));
  const calls = join(bin, "calls");
  const record = `#!/bin/sh\necho "$(basename "$0") $* CI=\${CI:-unset}" >> ${calls}\n`;
  for (const tool of [
    "npm",
    "apt-get",
    "pg_isready",
    "mariadb-admin",
    "pg_ctlcluster",
    "start-stop-daemon",
  ]) {
    writeFileSync(join(bin, tool), record);
    chmodSync(join(bin, tool), 0o755);
  }
  const env: NodeJS.ProcessEnv = { PATH: `${bin}:${process.env.PATH}`, HOME: bin };
  const r = spawnSync("bash", [join(ROOT, ".ci/run")], { env, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const npm = readFileSync(calls, "utf8")
    .split("\n")
    .filter((l) => l.startsWith("npm "));
  assert.deepEqual(npm, ["npm ci --no-audit --no-fund CI=true", "npm test CI=true"]);
});
