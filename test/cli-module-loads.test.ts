/**
 * What a command loads: `ferry path` and `ferry --version` start without ssh2, the database
 * clients or the HTTP server (issue 15: an operator types them dozens of times a night). The real
 * bin/ferry runs with a loader hook that records every module Node loads; a chunk of the bundled
 * CLI stands for the files esbuild put into it (dist/cli-bundle/metafile.json).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { FERRY, ROOT } from "./support/run-ferry.js";

const HOOK = join(ROOT, "test/support/module-loads.mjs");
const METAFILE = join(ROOT, "dist/cli-bundle/metafile.json");
const HEAVY = ["ssh2", "pg", "mysql2", "better-sqlite3", "hono", "@hono/node-server"];

const dir = mkdtempSync(join(tmpdir(), "ferry-loads-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Every file `ferry args` loaded, a bundle chunk replaced by the files that went into it. */
function loadedBy(args: readonly string[], cwd = ROOT): string[] {
  const record = join(dir, `loads-${Math.random().toString(36).slice(2)}.txt`);
  const r = spawnSync(process.execPath, ["--import", HOOK, FERRY, ...args], {
    cwd,
    encoding: "utf8",
    env: { ...process.env, FERRY_LOADS_FILE: record, NO_COLOR: "1" },
  });
  assert.equal(r.status, 0, r.stderr);
  const inputs: Record<string, string[]> = {};
  if (existsSync(METAFILE)) {
    const meta = JSON.parse(readFileSync(METAFILE, "utf8")) as {
      outputs: Record<string, { inputs: Record<string, unknown> }>;
    };
    for (const [chunk, out] of Object.entries(meta.outputs)) inputs[chunk] = Object.keys(out.inputs);
  }
  return readFileSync(record, "utf8")
    .split("\n")
    .filter((line) => line && !line.startsWith("node:"))
    .map((line) => (line.startsWith("file:") ? fileURLToPath(line) : line))
    .flatMap((file) => inputs[relative(ROOT, file)] ?? [file]);
}

/** The packages among `files`, by the folder after their last node_modules/. */
function packagesIn(files: readonly string[]): Set<string> {
  const names = new Set<string>();
  for (const file of files) {
    const last = file.lastIndexOf("node_modules/");
    if (last < 0) continue;
    const rest = file.slice(last + "node_modules/".length).split("/");
    names.add(rest[0]?.startsWith("@") ? `${rest[0]}/${rest[1]}` : (rest[0] as string));
  }
  return names;
}

describe("what a command loads", () => {
  it("ferry path loads none of ssh2, pg, mysql2, better-sqlite3, hono", () => {
    const files = loadedBy([
      "path",
      "--catalog",
      "examples/notes/releases.yaml",
      "--from",
      "1.0.0",
      "--to",
      "1.2.0",
    ]);
    assert.ok(
      files.some((f) => f.includes("path-command")),
      "the recording saw the command's own module",
    );
    const heavy = HEAVY.filter((p) => packagesIn(files).has(p));
    assert.deepEqual(heavy, []);
  });

  it("ferry --version loads none of them either", () => {
    const heavy = HEAVY.filter((p) => packagesIn(loadedBy(["--version"])).has(p));
    assert.deepEqual(heavy, []);
  });

  it("ferry status of a local cluster loads its SQLite journal's driver, and no SSH nor zod's full API", () => {
    writeFileSync(join(dir, "releases.yaml"), 'product: one\nscheme: semver\nreleases: ["1.0.0"]\n');
    writeFileSync(
      join(dir, "cluster.yaml"),
      [
        "name: one",
        "catalog: releases.yaml",
        "hosts: [{ name: h1, address: 127.0.0.1 }]",
        "components:",
        "  - name: app",
        "    hosts: [h1]",
        '    commands: { version: "echo 1.0.0", install: "true", stop: "true", activate: "true", start: "true" }',
      ].join("\n"),
    );
    const files = loadedBy(["status"], dir);
    const packages = packagesIn(files);
    // The recording sees a package that is loaded: without this, "none loaded" would prove nothing.
    assert.ok(packages.has("better-sqlite3"), [...packages].join(", "));
    assert.ok(!packages.has("ssh2"), [...packages].join(", "));
    // The schemas are written with zod/mini: zod's full API would cost every such command ~17 ms.
    assert.ok(
      files.some((f) => f.includes("node_modules/zod/v4/mini/")),
      "the recording saw zod/mini",
    );
    assert.deepEqual(
      files.filter((f) => f.includes("node_modules/zod/v4/classic/")),
      [],
    );
  });

  it("ferry apply not on a terminal loads none of the live tree's packages (log-update, string-width)", () => {
    const root = join(dir, "apply");
    writeFileSync(join(dir, "releases.yaml"), 'product: one\nscheme: semver\nreleases: ["1.0.0", "1.0.1"]\n');
    writeFileSync(
      join(dir, "apply.yaml"),
      [
        "name: one",
        "catalog: releases.yaml",
        "state: apply.db",
        "hosts: [{ name: h1, address: 127.0.0.1 }]",
        "components:",
        "  - name: app",
        "    hosts: [h1]",
        `    commands: { version: "cat ${root} 2>/dev/null || echo 1.0.0", install: "true", stop: "true", activate: "echo {{version}} > ${root}", start: "true" }`,
      ].join("\n"),
    );
    for (const args of [["--json"], []]) {
      const packages = packagesIn(
        loadedBy(["apply", "-c", "apply.yaml", "--to", "1.0.1", "--yes", ...args], dir),
      );
      assert.ok(packages.has("better-sqlite3"), [...packages].join(", "));
      for (const tree of ["log-update", "string-width", "wrap-ansi"])
        assert.ok(!packages.has(tree), `${args.join(" ") || "plain"}: loaded ${tree}`);
      rmSync(root, { force: true });
    }
  });
});
