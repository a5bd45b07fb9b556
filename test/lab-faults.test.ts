/**
 * Faults on real hosts: the CLI (bin/ferry) upgrades a product on the lab's hosts over SSH while
 * a host's link is cut, its sshd is killed, its new release never gets healthy, or ferry itself is
 * killed with commands in flight. What happened is read from the hosts' own files and logs.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { processAlive } from "../src/run/process-alive.js";
import { type Lab, labSkip, makeLab } from "./lab/lab.js";
import { makeLabProduct } from "./support/lab-product.js";
import { ferryAsync, startFerry } from "./support/run-ferry-async.js";

const skip = labSkip();
const lab: Lab | undefined = skip.skip ? undefined : await makeLab({ hosts: 3 });
after(() => lab?.close());

const at = (v: string) => ({ active: v, running: v });

async function waitFor(file: string, ms = 20_000): Promise<void> {
  const until = Date.now() + ms;
  while (!existsSync(file)) {
    if (Date.now() > until) throw new Error(`${file} did not appear within ${ms}ms`);
    await delay(20);
  }
}

const all = (l: Lab, v: string) => Object.fromEntries(l.hosts.map((h) => [h.name, at(v)]));

describe("faults on lab hosts over SSH", skip, () => {
  it("a changed host key stops the run before any command runs on any host", async () => {
    const l = lab as Lab;
    const file = join(l.dir, "known_hosts.fault");
    // h3 is listed with h1's key.
    const lines = readFileSync(l.knownHostsFile, "utf8").trim().split("\n");
    const h1Key = (lines[0] as string).split(" ").slice(1).join(" ");
    writeFileSync(file, `${lines.slice(0, 2).join("\n")}\n${l.host("h3").address} ${h1Key}\n`);
    const product = makeLabProduct(l, { knownHostsFile: file });
    try {
      const r = await ferryAsync(["apply", "-c", product.clusterFile, "--to", "1.0.1", "--yes"]);
      assert.equal(r.code, 3, r.stderr);
      assert.match(r.stderr, /h3 \(10\.86\.0\.13:22\): its host key has changed/);
      assert.ok(
        r.stderr.includes(l.host("h3").fingerprint) && r.stderr.includes(l.host("h1").fingerprint),
        r.stderr,
      );
      assert.ok(r.stderr.includes(`${file}:3`), r.stderr);
      assert.deepEqual(product.events(), { h1: [], h2: [], h3: [] }, "a command ran");
    } finally {
      product.cleanup();
    }
  });

  for (const onFailure of ["rollback", "pause"] as const) {
    it(`a link cut mid-upgrade fails the step; the run ${onFailure === "rollback" ? "rolls back" : "pauses"}, and resume finishes once the link is back`, async () => {
      const l = lab as Lab;
      const product = makeLabProduct(l, { extra: `onFailure: ${onFailure}` });
      try {
        writeFileSync(join(l.host("h2").root, "slow-install"), "");
        const run = startFerry(["apply", "-c", product.clusterFile, "--to", "1.0.1", "--yes"]);
        await waitFor(join(l.host("h2").root, "at-install"));
        l.cut("h2");
        const r = await run.done;
        assert.equal(r.code, 1, r.stderr + r.stdout);
        assert.match(r.stdout + r.stderr, /h2 \(10\.86\.0\.12:22\)/);
        const [first] = JSON.parse(
          (await ferryAsync(["history", "-c", product.clusterFile, "--json"])).stdout,
        );
        // Rolling back needs h2 too, so the rollback stops there, resumable; pause stops at once.
        assert.equal(first.status, onFailure === "rollback" ? "failed" : "paused");
        assert.deepEqual(product.state().h1, at("1.0.1"), "h1 had finished before the cut");
        assert.deepEqual(product.state().h3, at("1.0.0"), "h3 was touched after h2 failed");

        l.restore("h2");
        const resumed = await ferryAsync(["resume", "-c", product.clusterFile, "--yes"]);
        assert.equal(resumed.code, 0, resumed.stderr + resumed.stdout);
        assert.deepEqual(product.state(), all(l, onFailure === "rollback" ? "1.0.0" : "1.0.1"));
        assert.equal(product.maxOutOfService(), 1, "more hosts out of service at once than maxUnavailable");
      } finally {
        l.restore("h2");
        product.cleanup();
      }
    });
  }

  it("sshd killed on a host mid-run: the step fails naming the host, and resume finishes the rollback once it is back", async () => {
    const l = lab as Lab;
    const product = makeLabProduct(l);
    try {
      writeFileSync(join(l.host("h2").root, "slow-install"), "");
      const run = startFerry(["apply", "-c", product.clusterFile, "--to", "1.0.1", "--yes"]);
      await waitFor(join(l.host("h2").root, "at-install"));
      l.killSshd("h2");
      const r = await run.done;
      assert.equal(r.code, 1, r.stderr + r.stdout);
      assert.match(r.stdout, /connection to h2 \(10\.86\.0\.12:22\) lost while running .*not re-run/);
      assert.match(r.stdout, /cannot connect to h2 \(10\.86\.0\.12:22\): connection (refused|reset)/);
      await l.startSshd("h2");
      const resumed = await ferryAsync(["resume", "-c", product.clusterFile, "--yes"]);
      assert.equal(resumed.code, 0, resumed.stderr + resumed.stdout);
      assert.deepEqual(product.state(), all(l, "1.0.0"));
      assert.equal(product.maxOutOfService(), 1);
    } finally {
      await l.startSshd("h2").catch(() => {});
      product.cleanup();
    }
  });

  it("a release that never gets healthy on one host fails its health gate, and the run rolls back", async () => {
    const l = lab as Lab;
    const product = makeLabProduct(l, { maxUnavailable: 2 });
    try {
      writeFileSync(join(l.host("h3").root, "sick-1.0.1"), "");
      const r = await ferryAsync(["apply", "-c", product.clusterFile, "--to", "1.0.1", "--yes"]);
      assert.equal(r.code, 1, r.stderr + r.stdout);
      assert.match(r.stdout, /api on h3 is not healthy/);
      assert.match(r.stdout, /Rolled back/);
      assert.deepEqual(product.state(), all(l, "1.0.0"));
      assert.ok(product.maxOutOfService() <= 2);
    } finally {
      product.cleanup();
    }
  });

  it("the operator's actions run on the hosts they name, through the SSH driver", async () => {
    const l = lab as Lab;
    const event = (what: string) => `echo "$(date +%s%N) ${what}" >> {{vars.root}}/events`;
    const product = makeLabProduct(l, {
      extra: [
        `    actions: [{ name: dirs, at: after-activate, run: '${event("action dirs {{version}} {{direction}}")}', undo: "true" }]`,
        "actions:",
        `  - { name: schema, at: expand, on: { component: api, host: last }, run: '${event("action schema {{kind}}")}', check: "false" }`,
      ].join("\n"),
    });
    try {
      const r = await ferryAsync(["apply", "-c", product.clusterFile, "--to", "1.0.1", "--yes"]);
      assert.equal(r.code, 0, r.stderr + r.stdout);
      assert.deepEqual(product.state(), all(l, "1.0.1"));
      const seen = product.events();
      for (const h of l.hosts) {
        const what = (seen[h.name] ?? []).map(([, w]) => w).filter((w) => w !== "version");
        assert.deepEqual(
          what.slice(what.indexOf("stop")),
          ["stop", "install 1.0.1", "activate 1.0.1", "action dirs 1.0.1 upgrade", "start"],
          h.name,
        );
        assert.equal(what.includes("action schema patch"), h.name === "h3", `schema on ${h.name}`);
      }
    } finally {
      product.cleanup();
    }
  });

  it("ferry killed while commands run on remote hosts: resume ends them before it runs them again, reaches the same end, and no secret is written anywhere", async () => {
    const l = lab as Lab;
    const product = makeLabProduct(l, {
      maxUnavailable: 2,
      identityFile: l.clientKeyWithPassphrase,
      hostExtra: "identityPassphraseEnv: FL6_LAB_PASSPHRASE",
    });
    const env = { FL6_LAB_PASSPHRASE: l.passphrase };
    try {
      // Two hosts side by side, each in a 30 s install when ferry dies.
      writeFileSync(join(l.host("h1").root, "slow-install"), "30");
      writeFileSync(join(l.host("h2").root, "slow-install"), "30");
      const run = startFerry(["apply", "-c", product.clusterFile, "--to", "1.0.1", "--yes"], env);
      await waitFor(join(l.host("h1").root, "at-install"));
      await waitFor(join(l.host("h2").root, "at-install"));
      process.kill(run.pid, "SIGKILL");
      const killed = await run.done;
      assert.equal(killed.signal, "SIGKILL");
      // The hosts share this machine's pids: each install goes on there, its pid its process group.
      const left = Object.fromEntries(
        ["h1", "h2"].map((h) => [h, Number(readFileSync(join(l.host(h).root, "at-install"), "utf8"))]),
      );
      for (const [h, pid] of Object.entries(left)) assert.ok(processAlive(pid), `${h}'s install goes on`);

      const resumed = await ferryAsync(["resume", "-c", product.clusterFile, "--yes"], env);
      assert.equal(resumed.code, 0, resumed.stderr + resumed.stdout);
      for (const [h, pid] of Object.entries(left)) {
        assert.match(
          resumed.stdout,
          new RegExp(
            `roll/api/${h}/install: what its command left running on ${h} \\(process group ${pid}\\) ended on SIGTERM`,
          ),
        );
        assert.equal(processAlive(pid), false);
        // From the host's own log: the first install ended before the second began.
        const installs = product
          .events()
          [h]?.map(([, what]) => what)
          .filter((w) => w.startsWith("install"));
        assert.deepEqual(installs, ["install 1.0.1", "install ended by SIGTERM", "install 1.0.1"], h);
      }
      assert.deepEqual(product.state(), all(l, "1.0.1"));
      assert.ok(product.maxOutOfService() <= 2);
      const history = await ferryAsync(["history", "-c", product.clusterFile, "--json"]);
      assert.equal(JSON.parse(history.stdout)[0].status, "done");

      const keyBody = readFileSync(l.clientKeyWithPassphrase, "utf8").split("\n").slice(1, -2).join("");
      // The first 40 characters are a header every such key shares; the secret part is further in.
      const secretPart = keyBody.slice(keyBody.length / 2, keyBody.length / 2 + 40);
      const logs = join(dirname(product.stateFile), "logs");
      const runLogs = readdirSync(logs)
        .map((f) => readFileSync(join(logs, f), "utf8"))
        .join("");
      assert.ok(runLogs.length > 0, "the runs left their logs");
      const journal = readFileSync(product.stateFile).toString("latin1");
      const wal = existsSync(`${product.stateFile}-wal`)
        ? readFileSync(`${product.stateFile}-wal`).toString("latin1")
        : "";
      for (const [where, text] of [
        ["the journal", journal + wal],
        ["the output", killed.stdout + killed.stderr + resumed.stdout + resumed.stderr + history.stdout],
        ["the run logs", runLogs],
      ] as const) {
        assert.ok(!text.includes(l.passphrase), `the passphrase is in ${where}`);
        assert.ok(!text.includes(secretPart), `key material is in ${where}`);
      }
      assert.ok(
        (journal + wal).includes("FL6_LAB_PASSPHRASE"),
        "the journal should name the variable (proves the search looked)",
      );
    } finally {
      product.cleanup();
    }
  });
});
