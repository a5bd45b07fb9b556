import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { PostgresTarget } from "./postgres-target.js";

// pg_dump stands in here: what matters is how it is called, which every user of the machine can see.
test("a password in the URL, userinfo or ?password=, reaches pg_dump in its environment, never its arguments", async (t) => {
  const bin = mkdtempSync(join(tmpdir(), "ferry-pg-tool-"));
  t.after(() => rmSync(bin, { recursive: true, force: true }));
  const seen = join(bin, "seen");
  writeFileSync(
    join(bin, "pg_dump"),
    `#!/bin/sh\necho "args: $*" >> ${seen}\necho "env: $PGPASSWORD" >> ${seen}\n`,
  );
  chmodSync(join(bin, "pg_dump"), 0o755);
  const path = process.env.PATH;
  process.env.PATH = `${bin}:${path}`;
  t.after(() => {
    process.env.PATH = path;
  });
  for (const url of [
    "postgres://ferry:s3cr%40t@127.0.0.1:5432/notes",
    "postgres://ferry@127.0.0.1:5432/notes?password=s3cr%40t&sslmode=disable",
  ]) {
    rmSync(seen, { force: true });
    await new PostgresTarget(url).backup(join(bin, "dump"));
    const [args, env] = readFileSync(seen, "utf8").trim().split("\n");
    assert.doesNotMatch(args ?? "", /s3cr/, url);
    assert.match(args ?? "", /127\.0\.0\.1:5432\/notes/);
    assert.equal(env, "env: s3cr@t", url);
  }
});
