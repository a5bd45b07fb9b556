/**
 * `ferry apply` dials its SSH hosts before it opens the journal, so that the two go on at once.
 * What that must not change: an error of the journal still ends the command at once, even when a
 * host never answers (its handshake is given up, not waited out to its connect timeout).
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { startFerry } from "./support/run-ferry-async.js";
import { withSilentHost } from "./support/silent-host.js";

describe("ferry apply, dialling before the journal is open", () => {
  it("says the journal cannot be opened at once, while a host that never answers is still being dialled", async () => {
    await withSilentHost(async ({ port, dir, identityFile, knownHostsFile }) => {
      // The journal's folder is a file: SQLite cannot create the journal in it.
      writeFileSync(join(dir, "state"), "");
      writeFileSync(join(dir, "releases.yaml"), 'product: p\nscheme: semver\nreleases: ["1.0.0", "1.0.1"]\n');
      writeFileSync(
        join(dir, "cluster.yaml"),
        [
          "name: dial",
          "catalog: releases.yaml",
          "state: state/ferry.db",
          `hosts: [{ name: h1, address: 127.0.0.1, port: ${port}, driver: ssh, user: root, identityFile: ${identityFile}, knownHostsFile: ${knownHostsFile}, connectTimeout: 120s }]`,
          "components:",
          '  - { name: app, hosts: [h1], commands: { version: "echo 1.0.0", install: "true", stop: "true", activate: "true", start: "true" } }',
        ].join("\n"),
      );
      const ferry = startFerry(["apply", "--yes", "--to", "1.0.1", "-c", join(dir, "cluster.yaml")]);
      const ended = await Promise.race([ferry.done, delay(60_000).then(() => undefined)]);
      if (!ended) process.kill(ferry.pid, "SIGKILL");
      assert.ok(ended, "ferry apply still waits for the host that does not answer");
      assert.equal(ended.code, 1, ended.stderr);
      assert.match(ended.stderr, /cannot open the state store .*state\/ferry\.db/);
    });
  });
});
