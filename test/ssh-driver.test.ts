/**
 * The SSH driver on real sshd hosts of the lab: the shared driver contract, then what only SSH
 * has — host keys and their policy, one connection per host, the remote process group, a
 * connection that dies under a command, keys, passphrases and the secrecy of both.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { SshDriver } from "../src/drivers/ssh-driver.js";
import type { SshSettings } from "../src/drivers/ssh-settings.js";
import { describeDriver } from "./contract/driver.contract.js";
import { type Lab, labSkip, makeLab } from "./lab/lab.js";
import { withSilentHost } from "./support/silent-host.js";

const skip = labSkip();
const lab: Lab | undefined = skip.skip ? undefined : await makeLab({ hosts: 2 });
after(() => lab?.close());

function settings(overrides: Partial<SshSettings> = {}): SshSettings {
  return {
    user: "root",
    port: 22,
    identityFile: lab?.clientKey as string,
    knownHostsFile: lab?.knownHostsFile as string,
    hostKeyPolicy: "strict",
    connectTimeoutMs: 3000,
    keepaliveIntervalMs: 500,
    keepaliveCountMax: 2,
    ...overrides,
  };
}

function driverTo(name: string, overrides: Partial<SshSettings> = {}, env?: NodeJS.ProcessEnv): SshDriver {
  const h = (lab as Lab).host(name);
  return new SshDriver({
    host: name,
    address: h.address,
    settings: settings(overrides),
    ...(env ? { env } : {}),
  });
}

/** Whether a process runs on the lab's kernel (the hosts share this machine's pid namespace). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

async function goneWithin(pid: number, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (!running(pid)) return true;
    await delay(25);
  }
  return !running(pid);
}

if (lab) {
  describeDriver({
    name: "SshDriver",
    make: async () => {
      // Connected first: the contract is about commands; connecting is SSH's own, tested below.
      const driver = driverTo("h1", {}, {});
      await driver.connect();
      return { driver, cleanup: () => driver.close() };
    },
  });
}

describe("SshDriver", skip, () => {
  it("runs every command of a driver on one connection", async () => {
    const driver = driverTo("h1", {}, {});
    try {
      const seen = await Promise.all([1, 2, 3, 4, 5].map(() => driver.exec('echo "$SSH_CONNECTION"')));
      const origins = new Set(seen.map((r) => r.output.trim().split(" ").slice(0, 2).join(" ")));
      assert.equal(origins.size, 1, [...origins].join(" | "));
      assert.equal(driver.connections, 1);
    } finally {
      await driver.close();
    }
  });

  it("runs one command after another in the same shell on the host, each in a process group of its own", async () => {
    const driver = driverTo("h1", {}, {});
    try {
      // The command's shell is the group leader (setsid); its parent is the long-lived shell.
      const ask = "echo $PPID $(ps -o pgid= -p $$) $$";
      const seen = [];
      for (let i = 0; i < 3; i++) seen.push((await driver.exec(ask)).output.trim().split(/\s+/).map(Number));
      assert.equal(new Set(seen.map(([parent]) => parent)).size, 1, JSON.stringify(seen));
      for (const [, pgid, pid] of seen) assert.equal(pgid, pid, JSON.stringify(seen));
      assert.equal(new Set(seen.map(([, pgid]) => pgid)).size, 3);
    } finally {
      await driver.close();
    }
  });

  it("a shell stays usable after a command that reads stdin, prints binary, ends without a newline, or is killed", async () => {
    const driver = driverTo("h1", {}, {});
    try {
      const parent = async () => (await driver.exec("echo $PPID")).output;
      const first = await parent();
      assert.equal((await driver.exec("ps -o comm= -p $PPID")).output.trim(), "sh");
      const read = await driver.exec("cat; echo read-done");
      assert.deepEqual([read.exitCode, read.output], [0, "read-done\n"]);
      const binary = await driver.exec("printf 'a\\000b\\377\\001'; printf ferry-e; exit 4");
      assert.equal(binary.exitCode, 4);
      assert.equal(binary.output, "a\u0000b\ufffd\u0001ferry-e");
      // Exiting 143 on its own is not being killed by SIGTERM.
      const own = await driver.exec("exit 143");
      assert.deepEqual([own.exitCode, own.signal], [143, null]);
      assert.equal(await parent(), first, "the shell was replaced");
      // A killed group may linger a moment as zombies (on a loaded machine, longer than the shell
      // looks): then the shell is replaced, which costs time but nothing else. What must hold:
      // the kill is reported, and the next command runs as before.
      const killed = await driver.exec("sleep 30", { timeoutMs: 200 });
      assert.deepEqual([killed.timedOut, killed.signal], [true, "SIGTERM"]);
      assert.equal((await driver.exec("echo after")).output, "after\n");
    } finally {
      await driver.close();
    }
  });

  it("a command that leaves a process holding its output gets that output for a moment, and the next command none of it", async () => {
    const driver = driverTo("h1", {}, {});
    const pidFile = join((lab as Lab).host("h1").root, "left.pid");
    try {
      const left = await driver.exec(
        `(sleep 0.05; echo late; sleep 0.6; echo later) & echo $! > ${pidFile}; echo now`,
      );
      assert.equal(left.exitCode, 0);
      assert.equal(left.output, "now\nlate\n");
      const next = await driver.exec("sleep 1; echo next");
      assert.equal(next.output, "next\n");
    } finally {
      await driver.close();
    }
  });

  it("falls back to one channel per command when asked to (a host without setsid)", async () => {
    const h = (lab as Lab).host("h1");
    const driver = new SshDriver({ host: "h1", address: h.address, settings: settings(), shells: false });
    try {
      // Each command is a session of sshd's own, not a child of a shell ferry keeps there.
      assert.equal((await driver.exec("ps -o comm= -p $PPID")).output.trim(), "sshd");
      const r = await driver.exec("sleep 30", { timeoutMs: 200 });
      assert.deepEqual([r.timedOut, r.signal], [true, "SIGTERM"]);
    } finally {
      await driver.close();
    }
  });

  it("runs more commands at once than sshd allows sessions, by queueing them", async () => {
    const driver = driverTo("h1", {}, {});
    try {
      const results = await Promise.all(
        Array.from({ length: 14 }, (_, i) => driver.exec(`sleep 0.2; echo ${i}`)),
      );
      assert.deepEqual(
        results.map((r) => r.output),
        Array.from({ length: 14 }, (_, i) => `${i}\n`),
      );
    } finally {
      await driver.close();
    }
  });

  it("close() kills what runs, and a command still waiting for a channel never starts", async () => {
    const driver = driverTo("h1", {}, {});
    const dir = (lab as Lab).host("h1").root;
    // More than the 8 channels at once: two wait, and must not start when the running ones end.
    const pending = Array.from({ length: 10 }, (_, i) =>
      driver.exec(`echo $$ > ${dir}/close-${i}.pid; exec sleep 30`).catch((err: Error) => err),
    );
    const pidOf = (i: number) => Number(readFileSync(join(dir, `close-${i}.pid`), "utf8"));
    const started = () =>
      Array.from({ length: 10 }, (_, i) => i).filter((i) => existsSync(join(dir, `close-${i}.pid`)));
    for (let i = 0; i < 200 && started().length < 8; i++) await delay(25);
    assert.equal(started().length, 8);
    await driver.close();
    const results = await Promise.all(pending);
    assert.equal(started().length, 8, "the two that waited did not start");
    for (const i of started()) assert.ok(await goneWithin(pidOf(i), 3000), `command ${i} survived close()`);
    // What each caller was told: the eight that ran were killed; the two that waited never ran.
    const outcome = (r: (typeof results)[number]) =>
      r instanceof Error
        ? `error: ${r.message}`
        : `exit ${r.exitCode}, signal ${r.signal}, aborted ${r.aborted}, output ${JSON.stringify(r.output)}`;
    assert.deepEqual(
      results.map(outcome),
      Array.from({ length: 10 }, (_, i) =>
        started().includes(i)
          ? 'exit null, signal SIGKILL, aborted false, output ""'
          : 'exit null, signal null, aborted true, output ""',
      ),
    );
  });

  it("kills the whole remote process group on timeout, background children included", async () => {
    const driver = driverTo("h1", {}, {});
    const pidFile = join((lab as Lab).host("h1").root, "bg.pid");
    try {
      const r = await driver.exec(`sleep 30 & echo $! > ${pidFile}; wait`, { timeoutMs: 300 });
      assert.equal(r.timedOut, true);
      assert.equal(r.signal, "SIGTERM");
      const pid = Number(readFileSync(pidFile, "utf8"));
      assert.ok(pid > 0);
      assert.ok(await goneWithin(pid, 3000), `the remote background sleep ${pid} survived the timeout`);
    } finally {
      await driver.close();
    }
  });

  it("SIGKILLs a remote command that ignores SIGTERM once killGraceMs has passed", async () => {
    const driver = driverTo("h1", {}, {});
    try {
      const r = await driver.exec(`trap "" TERM; sleep 30`, { timeoutMs: 200, killGraceMs: 400 });
      assert.equal(r.timedOut, true);
      assert.equal(r.signal, "SIGKILL");
      assert.ok(r.durationMs >= 550, `SIGKILL came after ${r.durationMs}ms`);
    } finally {
      await driver.close();
    }
  });

  it("passes env values with quotes, spaces and $ unchanged", async () => {
    const driver = driverTo("h1", {}, {});
    try {
      const value = `it's "quoted" $HOME \`x\` \\ end`;
      const r = await driver.exec("printenv FERRY_ODD", { env: { FERRY_ODD: value } });
      assert.equal(r.output, `${value}\n`);
    } finally {
      await driver.close();
    }
  });

  it("refuses a changed host key before running anything, naming the host, both fingerprints and the line", async () => {
    const l = lab as Lab;
    const file = join(l.dir, "known_hosts.wrong");
    // h2 listed with h1's key: what a machine in the middle would look like.
    const h1Key = readFileSync(join(l.host("h1").dir, "host_ed25519.pub"), "utf8")
      .split(" ")
      .slice(0, 2)
      .join(" ");
    writeFileSync(file, `# fleet\n${l.host("h2").address} ${h1Key}\n`);
    const marker = join(l.host("h2").root, "ran");
    const driver = driverTo("h2", { knownHostsFile: file }, {});
    try {
      await assert.rejects(driver.exec(`touch ${marker}`), (err: Error) => {
        assert.equal(err.name, "HostKeyError");
        assert.match(err.message, /h2 \(10\.86\.0\.12:22\)/);
        assert.ok(err.message.includes(l.host("h2").fingerprint), err.message);
        assert.ok(err.message.includes(l.host("h1").fingerprint), err.message);
        assert.ok(err.message.includes(`${file}:2`), err.message);
        return true;
      });
      assert.throws(() => readFileSync(marker), /ENOENT/, "the command ran on a host whose key was refused");
    } finally {
      await driver.close();
    }
  });

  it("asks first for the key type known_hosts lists, so a host listed by its ECDSA key is known", async () => {
    const h1 = (lab as Lab).host("h1");
    const ecdsa = readFileSync(join(h1.dir, "host_ecdsa.pub"), "utf8").split(" ").slice(0, 2).join(" ");
    const file = join(h1.root, "known_hosts_ecdsa_only");
    writeFileSync(file, `${h1.address} ${ecdsa}\n`);
    const driver = driverTo("h1", { knownHostsFile: file }, {});
    try {
      assert.equal((await driver.exec("echo known")).output, "known\n");
    } finally {
      await driver.close();
    }
  });

  it("strict refuses a host it does not know; accept-new records it, then refuses it once changed", async () => {
    const l = lab as Lab;
    const file = join(l.dir, "known_hosts.new");
    writeFileSync(file, "");
    const strict = driverTo("h2", { knownHostsFile: file }, {});
    await assert.rejects(strict.connect(), /its host key SHA256:\S+ is not in .*hostKeyPolicy: strict/);
    await strict.close();
    assert.equal(readFileSync(file, "utf8"), "", "strict wrote to known_hosts");

    const first = driverTo("h2", { knownHostsFile: file, hostKeyPolicy: "accept-new" }, {});
    assert.equal((await first.exec("echo first")).output, "first\n");
    await first.close();
    const recorded = readFileSync(file, "utf8");
    assert.match(recorded, /^10\.86\.0\.12 ssh-ed25519 \S+\n$/);

    const old = l.host("h2").fingerprint;
    await l.rekey("h2");
    const again = driverTo("h2", { knownHostsFile: file, hostKeyPolicy: "accept-new" }, {});
    try {
      await assert.rejects(again.connect(), (err: Error) => {
        assert.match(err.message, /its host key has changed/);
        assert.ok(err.message.includes(old) && err.message.includes(l.host("h2").fingerprint), err.message);
        return true;
      });
      assert.equal(readFileSync(file, "utf8"), recorded, "accept-new replaced a known key");
    } finally {
      await again.close();
    }
  });

  it("a connection lost under a command rejects it saying so, and the next command reconnects", async () => {
    const l = lab as Lab;
    const driver = driverTo("h2", {}, {});
    try {
      assert.equal((await driver.exec("true")).exitCode, 0);
      const pending = driver.exec("sleep 5");
      await delay(300);
      l.killSshd("h2");
      await assert.rejects(
        pending,
        /connection to h2 \(10\.86\.0\.12:22\) lost while running `sleep 5` .*may still be running there; not re-run/,
      );
      await assert.rejects(
        driver.exec("true"),
        /cannot connect to h2 \(10\.86\.0\.12:22\): connection (refused|reset)/,
      );
      await l.startSshd("h2");
      assert.equal((await driver.exec("echo back")).output, "back\n");
      assert.equal(driver.connections, 2);
    } finally {
      await driver.close();
    }
  });

  it("a command queued behind a lost connection is never reported as possibly running: it did not start", async () => {
    const l = lab as Lab;
    const driver = driverTo("h2", {}, {});
    const marker = join(l.host("h2").root, "queued-ran");
    try {
      assert.equal((await driver.exec("true")).exitCode, 0);
      // The 8 channels busy, a ninth waits for one; then sshd dies under them.
      const running = Array.from({ length: 8 }, () => driver.exec("sleep 5").catch((err: Error) => err));
      const queued = driver.exec(`touch ${marker}`).catch((err: Error) => err);
      await delay(300);
      l.killSshd("h2");
      for (const r of await Promise.all(running)) assert.match(String(r), /lost while running `sleep 5`/);
      const r = await queued;
      assert.ok(r instanceof Error);
      assert.match(r.message, /cannot connect to h2 /);
      assert.doesNotMatch(r.message, /may still be running/);
      assert.equal(existsSync(marker), false);
    } finally {
      await l.startSshd("h2");
      await driver.close();
    }
  });

  it("a cut link fails the command in flight once keepalives go unanswered, not after the command's own time", async () => {
    const l = lab as Lab;
    const driver = driverTo("h2", {}, {});
    try {
      assert.equal((await driver.exec("true")).exitCode, 0);
      const started = Date.now();
      const pending = driver.exec("sleep 20", { timeoutMs: 500 });
      await delay(100);
      l.cut("h2");
      await assert.rejects(pending, /lost while running `sleep 20` .*timed out and could not be killed/);
      assert.ok(Date.now() - started < 8000, `took ${Date.now() - started}ms`);
      await assert.rejects(driver.exec("true"), /cannot connect to h2 .*no answer within 3s/);
    } finally {
      l.restore("h2");
      await driver.close();
    }
  });

  it("says which host and field when the key file cannot be read", async () => {
    const driver = driverTo("h1", { identityFile: "/nonexistent/fl6-key" }, {});
    await assert.rejects(
      driver.exec("true"),
      /host h1: identityFile \/nonexistent\/fl6-key: cannot read it \(ENOENT\)/,
    );
    await driver.close();
  });

  it("uses a key under a passphrase named by identityPassphraseEnv, and never says the passphrase", async () => {
    const l = lab as Lab;
    const key = { identityFile: l.clientKeyWithPassphrase, identityPassphraseEnv: "FL6_PASS" };
    const good = driverTo("h1", key, { FL6_PASS: l.passphrase });
    assert.equal((await good.exec("echo unlocked")).output, "unlocked\n");
    await good.close();

    const keyText = readFileSync(l.clientKeyWithPassphrase, "utf8");
    // Past the header every such key shares: a slice of its secret part.
    const lines = keyText.split("\n").slice(1, -2).join("");
    const body = lines.slice(lines.length / 2, lines.length / 2 + 40);
    for (const env of [{ FL6_PASS: `${l.passphrase}-wrong` }, {}]) {
      const bad = driverTo("h1", key, env);
      await assert.rejects(bad.exec("true"), (err: Error) => {
        assert.ok(!err.message.includes(l.passphrase), err.message);
        assert.ok(!err.message.includes(body), err.message);
        assert.match(err.message, /FL6_PASS|passphrase/);
        return true;
      });
      await bad.close();
    }
  });

  it("decrypts a key under a passphrase once, not per connection: many hosts at once each log in within connectTimeout", async () => {
    const l = lab as Lab;
    // Decrypting an OpenSSH key takes about a second of blocked event loop (bcrypt); done per
    // connection, ten hosts dialled at once (as a run connects its fleet) would outlast 3 s.
    const drivers = Array.from({ length: 10 }, (_, i) =>
      driverTo(
        i % 2 === 0 ? "h1" : "h2",
        {
          identityFile: l.clientKeyWithPassphrase,
          identityPassphraseEnv: "FL6_PASS",
          connectTimeoutMs: 3000,
        },
        { FL6_PASS: l.passphrase },
      ),
    );
    try {
      const results = await Promise.allSettled(drivers.map((d) => d.exec("echo in")));
      assert.deepEqual(
        results.map((r) => (r.status === "fulfilled" ? r.value.output : String(r.reason))),
        drivers.map(() => "in\n"),
      );
    } finally {
      await Promise.all(drivers.map((d) => d.close()));
    }
  });
});

describe("SshDriver, a host that does not answer", () => {
  it("close() gives up a handshake under way: it does not wait for the connect timeout", async () => {
    await withSilentHost(async (host) => {
      const driver = new SshDriver({
        host: "h1",
        address: "127.0.0.1",
        settings: {
          user: "root",
          port: host.port,
          identityFile: host.identityFile,
          knownHostsFile: host.knownHostsFile,
          hostKeyPolicy: "strict",
          connectTimeoutMs: 120_000,
          keepaliveIntervalMs: 500,
          keepaliveCountMax: 2,
        },
      });
      const connecting = driver.connect();
      while (host.sockets.length === 0) await delay(10);
      const closing = driver.close().then(() => "closed");
      assert.equal(await Promise.race([closing, delay(30_000).then(() => "still waiting")]), "closed");
      await assert.rejects(connecting, /cannot connect to h1/);
    });
  });
});
