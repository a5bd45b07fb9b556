/**
 * `ferry init` (flags off a terminal, questions on one) writes files that `ferry check` and
 * `ferry plan` accept; `ferry check` names what is wrong.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { noPseudoTerminal, onTerminal } from "./support/pseudo-terminal.js";
import { ferry } from "./support/run-ferry.js";

function inTemp(body: (dir: string) => Promise<void> | void) {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), "ferry-fl7t-init-"));
    try {
      await body(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

describe("ferry init with flags", () => {
  it(
    "writes commented files that check and plan accept",
    inTemp((dir) => {
      const r = ferry([
        "init",
        "--dir",
        dir,
        "--product",
        "notes",
        "--scheme",
        "calver",
        "--releases",
        "24.03.0,24.03.1,24.09.0",
        "--hosts",
        "web1,web2=10.0.0.2",
        "--component",
        "api",
        "--component",
        "worker,gateway",
      ]);
      assert.equal(r.code, 0, r.stderr);
      const cluster = readFileSync(join(dir, "cluster.yaml"), "utf8");
      const releases = readFileSync(join(dir, "releases.yaml"), "utf8");
      assert.match(cluster, /^name: notes$/m);
      assert.match(cluster, /address: "10\.0\.0\.2"/);
      assert.match(cluster, /^ {4}hosts: \[web1, web2\]$/m);
      assert.match(cluster, /^# database: /m, "optional fields are shown commented out");
      assert.match(cluster, /maxUnavailable: 1 +# at most this many/, "fields are explained");
      assert.match(releases, /^scheme: calver$/m);
      assert.match(releases, /^# {3}stepwise: true/m);

      const check = ferry(["check", "-c", join(dir, "cluster.yaml")]);
      assert.equal(check.code, 0, check.stderr);
      assert.match(check.stdout, /cluster notes, 2 hosts, components api, worker, gateway: valid/);
      assert.match(check.stdout, /notes \(calver\), 3 releases 24\.03\.0 … 24\.09\.0: valid/);

      const plan = ferry([
        "plan",
        "-c",
        join(dir, "cluster.yaml"),
        "--from",
        "24.03.0",
        "--to",
        "24.09.0",
        "--json",
      ]);
      assert.equal(plan.code, 0, plan.stderr);
      const planned = JSON.parse(plan.stdout);
      assert.deepEqual(planned.path, ["24.03.0", "24.03.1", "24.09.0"]);
      assert.deepEqual(
        planned.hops.map((h: { mode: string }) => h.mode),
        ["rolling", "offline"],
      );
      const checked = ferry([
        "check",
        "-c",
        join(dir, "cluster.yaml"),
        "--from",
        "24.03.0",
        "--to",
        "24.09.0",
      ]);
      assert.match(checked.stdout, /upgrade 24\.03\.0 → 24\.03\.1 → 24\.09\.0: allowed, \d+ steps/);
      // The starter's commands find no product here: the first hop's preflight says so (exit 3).
      assert.equal(checked.code, 3, checked.stderr);
      assert.match(checked.stdout, /preflight of the first hop failed: 24\.03\.1\/preflight\/cluster: /);
    }),
  );

  it(
    "with no flags writes the defaults",
    inTemp((dir) => {
      assert.equal(ferry(["init", "--dir", dir]).code, 0);
      const check = ferry(["check", "-c", join(dir, "cluster.yaml"), "--json"]);
      assert.equal(check.code, 0, check.stderr);
      const report = JSON.parse(check.stdout);
      assert.deepEqual(
        [report.cluster.name, report.cluster.hosts, report.cluster.components, report.catalog.releases],
        ["myapp", 3, ["api", "worker"], ["1.0.0"]],
      );
    }),
  );

  it(
    "refuses to overwrite without --force (exit 2, nothing changed), and overwrites with it",
    inTemp((dir) => {
      writeFileSync(join(dir, "releases.yaml"), "mine\n");
      const r = ferry(["init", "--dir", dir]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /releases\.yaml already exists: pass --force/);
      assert.equal(readFileSync(join(dir, "releases.yaml"), "utf8"), "mine\n");
      assert.equal(existsSync(join(dir, "cluster.yaml")), false, "not half written");
      assert.equal(ferry(["init", "--dir", dir, "--force"]).code, 0);
      assert.match(readFileSync(join(dir, "releases.yaml"), "utf8"), /^product: myapp$/m);
    }),
  );

  it(
    "bad answers are exit 2 naming the flag, and nothing is written",
    inTemp((dir) => {
      const r = ferry([
        "init",
        "--dir",
        dir,
        "--hosts",
        "h1,bad host,h1,h2=10.0.0.2;id",
        "--scheme",
        "semver",
        "--releases",
        "1.0",
      ]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /--hosts: "bad host" is not a name/);
      assert.match(r.stderr, /--hosts: h1 given twice/);
      assert.match(
        r.stderr,
        /--hosts: h2=10\.0\.0\.2;id: "10\.0\.0\.2;id" is not an address; an address is a host name/,
      );
      const v = ferry(["init", "--dir", dir, "--releases", "1.0"]);
      assert.equal(v.code, 2);
      assert.match(v.stderr, /--releases: .*"1\.0" is not a semver version/);
      assert.equal(existsSync(join(dir, "cluster.yaml")), false);
      assert.equal(existsSync(join(dir, "releases.yaml")), false);
    }),
  );
});

describe("ferry init on a terminal", { skip: noPseudoTerminal }, () => {
  it(
    "asks for each answer, Enter taking the default, and writes files check accepts",
    inTemp(async (dir) => {
      const term = onTerminal(["init", "--dir", dir]);
      for (const [question, answer] of [
        [/Product name \[myapp\]: /, "shop"],
        [/Version scheme, semver or calver \[semver\]: /, ""],
        [/Releases, oldest first \(the first runs now\) \[1\.0\.0\]: /, "2.0.0, 2.0.1"],
        [/Hosts \(name or name=address\) \[h1,h2,h3\]: /, "db1=10.1.0.1,db2"],
        [/Components \[api,worker\]: /, "store"],
      ] as const) {
        await term.waitFor(question);
        term.type(answer);
      }
      const { code, screen } = await term.done;
      assert.equal(code, 0, screen);
      const check = ferry(["check", "-c", join(dir, "cluster.yaml"), "--json"]);
      assert.equal(check.code, 0, check.stderr);
      const report = JSON.parse(check.stdout);
      assert.deepEqual(
        [
          report.cluster.name,
          report.cluster.hosts,
          report.cluster.components,
          report.catalog.scheme,
          report.catalog.releases,
        ],
        ["shop", 2, ["store"], "semver", ["2.0.0", "2.0.1"]],
      );
    }),
  );
});

describe("ferry check", () => {
  it(
    "names the file, line and field of a problem (exit 2), and a refused path (exit 3)",
    inTemp((dir) => {
      assert.equal(ferry(["init", "--dir", dir, "--releases", "1.0.0,1.1.0,2.0.0"]).code, 0);
      const file = join(dir, "cluster.yaml");
      writeFileSync(file, readFileSync(file, "utf8").replace("maxUnavailable: 1 ", "maxUnavailable: 0 "));
      const bad = ferry(["check", "-c", file]);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /cluster\.yaml:\d+(:\d+)?: components\[0\]\.maxUnavailable: /);

      writeFileSync(file, readFileSync(file, "utf8").replace("maxUnavailable: 0 ", "maxUnavailable: 1 "));
      writeFileSync(
        join(dir, "releases.yaml"),
        "product: myapp\nscheme: semver\npolicy: { crossMajor: false }\nreleases: ['1.0.0', '1.1.0', '2.0.0']\n",
      );
      const refused = ferry(["check", "-c", file, "--from", "1.1.0", "--to", "2.0.0"]);
      assert.equal(refused.code, 3, refused.stderr);
      assert.match(refused.stderr, /crossMajor/);
    }),
  );
});
