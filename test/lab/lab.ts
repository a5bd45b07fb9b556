/**
 * The test lab (DESIGN.md "Test lab"): N hosts as network namespaces on a private bridge, each
 * with its own address (10.86.0.11, .12, …), its own sshd (Debian's openssh-server, no systemd)
 * with its own host key, and its own directory tree. Tests reach the hosts over SSH exactly as
 * ferry reaches real ones, cut a host's link, or kill its sshd.
 *
 * Everything it makes is named with the `fl6` prefix (netns fl6-h1…, bridge fl6br0, veths
 * fl6-h1-br…, folders /tmp/fl6-lab-*). One lab exists at a time on a machine: makeLab() takes a
 * lock (a folder holding its pid), waits for a live holder, and clears what a dead one left.
 * close() tears everything down (processes by pid, namespaces, links, folders); it also runs when
 * the process exits, so a failed test leaves nothing behind.
 */
import { execFileSync, spawn } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createConnection } from "node:net";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";

const PREFIX = "fl6";
const BRIDGE = `${PREFIX}br0`;
const SUBNET = "10.86.0";
const LOCK = `/tmp/${PREFIX}-lab.lock`;
const SSHD = "/usr/sbin/sshd";

export interface LabHost {
  /** h1, h2, …: the name in the cluster file too. */
  readonly name: string;
  readonly address: string;
  readonly netns: string;
  /** Its own folder: sshd's files, and `root/` for whatever the tests install there. */
  readonly dir: string;
  readonly root: string;
  /** The host key's fingerprint, as `ssh-keygen -lf` prints it. */
  readonly fingerprint: string;
}

export interface Lab {
  readonly dir: string;
  readonly hosts: readonly LabHost[];
  /** A client key every host accepts for root, without a passphrase. */
  readonly clientKey: string;
  /** The same client, with its key under `passphrase`. */
  readonly clientKeyWithPassphrase: string;
  readonly passphrase: string;
  /** Lists every host's key. */
  readonly knownHostsFile: string;
  host(name: string): LabHost;
  /** Takes the host's link down: its packets are dropped, nothing is refused. */
  cut(name: string): void;
  restore(name: string): void;
  /** Kills every sshd process of the host: the listener and each connection's. */
  killSshd(name: string): void;
  startSshd(name: string): Promise<void>;
  /**
   * Gives the host a new host key (a reinstalled machine, or someone in the middle), restarts its
   * sshd, and lists the new key in knownHostsFile (other known_hosts files keep the old one).
   */
  rekey(name: string): Promise<void>;
  close(): void;
}

/** Why the lab cannot run here, or undefined when it can. */
export function labUnavailable(): string | undefined {
  if (process.platform !== "linux") return "the lab needs Linux network namespaces";
  if (process.getuid?.() !== 0) return "the lab needs root (network namespaces, a bridge, sshd)";
  if (!existsSync(SSHD)) return `the lab needs ${SSHD} (apt-get install openssh-server)`;
  for (const tool of ["ip", "ssh-keygen"]) {
    try {
      execFileSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" });
    } catch {
      return `the lab needs ${tool}`;
    }
  }
  return undefined;
}

/**
 * `describe` options for a lab suite: skipped with the reason when the lab cannot run here, but
 * under CI (CI=true) a missing lab is a failure, never a silent skip.
 */
export function labSkip(): { skip?: string } {
  const why = labUnavailable();
  if (!why) return {};
  if (process.env.CI === "true") throw new Error(`CI=true and ${why}`);
  process.stdout.write(`# skipping the lab tests: ${why}\n`);
  return { skip: why };
}

function sh(args: readonly string[], options: { quiet?: boolean } = {}): string {
  try {
    return execFileSync(args[0] as string, args.slice(1), {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
  } catch (err) {
    if (options.quiet) return "";
    const e = err as { stderr?: string; message: string };
    throw new Error(`${args.join(" ")}: ${e.stderr?.trim() || e.message}`);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function holder(): number {
  try {
    return Number(readFileSync(join(LOCK, "pid"), "utf8")) || 0;
  } catch {
    return 0;
  }
}

/** Waits for the lab lock; a holder that has died loses it. */
async function lock(): Promise<void> {
  const until = Date.now() + 10 * 60_000;
  for (;;) {
    try {
      mkdirSync(LOCK);
      writeFileSync(join(LOCK, "pid"), String(process.pid));
      return;
    } catch {
      let pid = holder();
      if (!pid) {
        // Made but not yet written, or by a process that died in between: give it a moment.
        await delay(200);
        pid = holder();
      }
      if (!pid || !alive(pid)) rmSync(LOCK, { recursive: true, force: true });
      else if (Date.now() > until) throw new Error(`the lab is held by pid ${pid} for 10 minutes`);
      else await delay(250);
    }
  }
}

/** Every process in a namespace, by pid. */
function pidsIn(netns: string): number[] {
  return sh(["ip", "netns", "pids", netns], { quiet: true })
    .split("\n")
    .map(Number)
    .filter((p) => p > 1);
}

function killAll(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone already
    }
  }
}

/** Removes whatever a lab with this prefix left behind; only called while holding the lock. */
function clearLeftovers(): void {
  for (const ns of sh(["ip", "netns", "list"], { quiet: true }).split("\n")) {
    const name = ns.split(" ")[0] ?? "";
    if (!name.startsWith(`${PREFIX}-h`)) continue;
    killAll(pidsIn(name));
    sh(["ip", "netns", "del", name], { quiet: true });
  }
  for (const line of sh(["ip", "-o", "link", "show"], { quiet: true }).split("\n")) {
    const link = /^\d+: ([^:@]+)/.exec(line)?.[1];
    if (link === BRIDGE || link?.startsWith(`${PREFIX}-h`)) sh(["ip", "link", "del", link], { quiet: true });
  }
  for (const entry of readdirSync("/tmp")) {
    if (entry.startsWith(`${PREFIX}-lab-`)) rmSync(join("/tmp", entry), { recursive: true, force: true });
  }
}

async function waitForPort(address: string, port: number, ms: number): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ host: address, port, timeout: 500 });
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
      socket.once("timeout", () => {
        socket.destroy();
        resolve(false);
      });
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`sshd on ${address}:${port} did not come up within ${ms}ms`);
    await delay(50);
  }
}

/** Makes a lab of `hosts` hosts; close() it when done (it also closes itself when the process exits). */
export async function makeLab(options: { hosts: number }): Promise<Lab> {
  await lock();
  let closed = false;
  const teardown = () => {
    if (closed) return;
    closed = true;
    try {
      clearLeftovers();
    } finally {
      rmSync(LOCK, { recursive: true, force: true });
    }
  };
  process.once("exit", teardown);
  try {
    clearLeftovers();
    mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
    const dir = mkdtempSync(`/tmp/${PREFIX}-lab-`);
    // Passable, not readable, by other users: a host's service may run as its own user (PostgreSQL
    // refuses root) from its host's tree. The keys inside keep their own 0600.
    chmodSync(dir, 0o711);
    const clientKey = join(dir, "client_ed25519");
    const clientKeyWithPassphrase = join(dir, "client_pass_ed25519");
    const passphrase = `fl6-secret-${Math.random().toString(36).slice(2)}`;
    sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "ferry-lab", "-f", clientKey]);
    sh([
      "ssh-keygen",
      "-q",
      "-t",
      "ed25519",
      "-N",
      passphrase,
      "-C",
      "ferry-lab-pass",
      "-f",
      clientKeyWithPassphrase,
    ]);
    writeFileSync(
      join(dir, "authorized_keys"),
      readFileSync(`${clientKey}.pub`, "utf8") + readFileSync(`${clientKeyWithPassphrase}.pub`, "utf8"),
    );

    sh(["ip", "link", "add", BRIDGE, "type", "bridge"]);
    sh(["ip", "addr", "add", `${SUBNET}.1/24`, "dev", BRIDGE]);
    sh(["ip", "link", "set", BRIDGE, "up"]);

    const hosts: LabHost[] = [];
    for (let i = 1; i <= options.hosts; i++) {
      const name = `h${i}`;
      const netns = `${PREFIX}-${name}`;
      const address = `${SUBNET}.${10 + i}`;
      const hostDir = join(dir, name);
      const root = join(hostDir, "root");
      mkdirSync(root, { recursive: true });
      mkdirSync(join(hostDir, "home"), { recursive: true });
      sh(["ip", "netns", "add", netns]);
      sh(["ip", "link", "add", `${netns}-br`, "type", "veth", "peer", "name", "eth0", "netns", netns]);
      sh(["ip", "link", "set", `${netns}-br`, "master", BRIDGE, "up"]);
      sh(["ip", "-n", netns, "addr", "add", `${address}/24`, "dev", "eth0"]);
      sh(["ip", "-n", netns, "link", "set", "eth0", "up"]);
      sh(["ip", "-n", netns, "link", "set", "lo", "up"]);
      const fingerprint = makeHostKey(hostDir);
      // A second host key, of another type: a known_hosts that lists only it must still be met.
      sh(["ssh-keygen", "-q", "-t", "ecdsa", "-N", "", "-C", "", "-f", join(hostDir, "host_ecdsa")]);
      writeFileSync(
        join(hostDir, "sshd_config"),
        [
          `ListenAddress ${address}`,
          `HostKey ${join(hostDir, "host_ed25519")}`,
          `HostKey ${join(hostDir, "host_ecdsa")}`,
          `PidFile ${join(hostDir, "sshd.pid")}`,
          `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
          "PermitRootLogin prohibit-password",
          "PasswordAuthentication no",
          "KbdInteractiveAuthentication no",
          "UsePAM no",
          // The lab's folders live under /tmp, which sshd's ownership checks would refuse.
          "StrictModes no",
          "MaxStartups 100",
          // Each host has its own home in its own tree; and a clean one: this machine's root may
          // have a .bashrc that takes 200 ms, which a lab host should not charge every command.
          `SetEnv HOME=${join(hostDir, "home")}`,
          "LogLevel ERROR",
          "",
        ].join("\n"),
      );
      hosts.push({ name, address, netns, dir: hostDir, root, fingerprint });
    }

    const knownHostsFile = join(dir, "known_hosts");
    const writeKnownHosts = () =>
      writeFileSync(
        knownHostsFile,
        hosts
          .map(
            (h) =>
              `${h.address} ${readFileSync(join(h.dir, "host_ed25519.pub"), "utf8").split(" ").slice(0, 2).join(" ")}\n`,
          )
          .join(""),
      );
    writeKnownHosts();

    const find = (name: string): LabHost => {
      const h = hosts.find((x) => x.name === name);
      if (!h) throw new Error(`no lab host ${name}`);
      return h;
    };
    const startSshd = async (name: string): Promise<void> => {
      const h = find(name);
      const log = join(h.dir, "sshd.log");
      const child = spawn(
        "ip",
        ["netns", "exec", h.netns, SSHD, "-D", "-e", "-f", join(h.dir, "sshd_config")],
        { detached: true, stdio: ["ignore", "ignore", "ignore"] },
      );
      child.unref();
      writeFileSync(log, `sshd pid ${child.pid}\n`, { flag: "a" });
      await waitForPort(h.address, 22, 5000);
    };
    const killSshd = (name: string): void => {
      const h = find(name);
      const sshds = pidsIn(h.netns).filter((pid) => {
        try {
          return readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "sshd";
        } catch {
          return false;
        }
      });
      killAll(sshds);
    };
    await Promise.all(hosts.map((h) => startSshd(h.name)));

    return {
      dir,
      hosts,
      clientKey,
      clientKeyWithPassphrase,
      passphrase,
      knownHostsFile,
      host: find,
      cut: (name) => sh(["ip", "link", "set", `${find(name).netns}-br`, "down"]),
      restore: (name) => sh(["ip", "link", "set", `${find(name).netns}-br`, "up"]),
      killSshd,
      startSshd,
      rekey: async (name) => {
        const h = find(name);
        killSshd(name);
        rmSync(join(h.dir, "host_ed25519"), { force: true });
        rmSync(join(h.dir, "host_ed25519.pub"), { force: true });
        (h as { fingerprint: string }).fingerprint = makeHostKey(h.dir);
        writeKnownHosts();
        await startSshd(name);
      },
      close: () => {
        process.off("exit", teardown);
        teardown();
      },
    };
  } catch (err) {
    process.off("exit", teardown);
    teardown();
    throw err;
  }
}

function makeHostKey(hostDir: string): string {
  const key = join(hostDir, "host_ed25519");
  sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "", "-f", key]);
  return sh(["ssh-keygen", "-lf", `${key}.pub`]).split(" ")[1] as string;
}
