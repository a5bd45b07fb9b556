/**
 * The SSH driver: runs a command with `sh -c` on a host over SSH, the way an operator would, on one
 * connection per host that every command of the run shares.
 *
 * - The host key is checked against known_hosts before anything else (known-hosts.ts); a changed
 *   key is refused naming the host, both fingerprints and the file's line.
 * - Commands run through long-lived shells on the host, one command at a time each, up to 8 per
 *   connection (ssh-shell.ts): a command costs a line written, not a session of its own. A host
 *   without `setsid` gets one session channel per command instead.
 * - Each command runs in its own process group on the host (`setsid` in a shell; with a channel of
 *   its own, sshd makes the command's shell a session leader). The group's id comes back before
 *   the command ends, so a timeout, an abort or close() ends the whole group through a second
 *   channel, as the local driver does with a signal.
 * - A connection that dies under a command makes exec() reject saying so: the command may still be
 *   running there, and it is never run again by itself. The next command opens a new connection.
 * - Secrets (key material, the passphrase) go to ssh2 only; no message ferry writes contains them.
 */
import { createHash } from "node:crypto";
import { appendFileSync, mkdirSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { StringDecoder } from "node:string_decoder";
import type {
  AgentAuthMethod,
  Client,
  ClientChannel,
  ConnectConfig,
  NoAuthMethod,
  ParsedKey,
  PublicKeyAuthMethod,
  ServerHostKeyAlgorithm,
} from "ssh2";
import { RefusedError, UserError } from "../errors.js";
import { type Driver, type ExecOptions, type ExecResult, formatMs, type MarkedEnd } from "./driver.js";
import { endMarkedThrough } from "./end-marked.js";
import {
  fingerprint,
  knownHostsLine,
  parseKnownHosts,
  preferredHostKeyAlgorithms,
  verifyHostKey,
} from "./known-hosts.js";
import { OutputTail } from "./local-driver.js";
import type { SshSettings } from "./ssh-settings.js";
import { quote, ShellPool, ShellSession } from "./ssh-shell.js";

export interface SshDriverOptions {
  /** The host's name in the cluster file. */
  readonly host: string;
  readonly address: string;
  readonly settings: SshSettings;
  /** Where SSH_AUTH_SOCK and the passphrase are read; default process.env. */
  readonly env?: NodeJS.ProcessEnv;
  /**
   * Run commands through long-lived shells on the host (ssh-shell.ts), default true; false: one
   * session channel per command, as on a host without `setsid`.
   */
  readonly shells?: boolean;
}

type Ssh2 = typeof import("ssh2");

/**
 * ssh2 (and the native crypto it loads) on the first dial, not on import: a command that has no
 * SSH host to talk to (`ferry status` of a local cluster, `ferry plan`) does not pay for it.
 */
function loadSsh2(): Promise<Ssh2> {
  return import("ssh2").then((m) => (m.default ?? m) as Ssh2);
}
/** A host key the policy refuses: exit 3, before any command runs. */
export class HostKeyError extends RefusedError {
  constructor(message: string) {
    super(
      message,
      "host-key",
      "check the host; if its key changed on purpose, replace its line in known_hosts",
    );
    this.name = "HostKeyError";
  }
}

/** The host cannot be reached or will not let ferry in. */
export class SshConnectError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SshConnectError";
  }
}

const DEFAULT_KILL_GRACE_MS = 2000;
/** As the local driver: once the command has exited, how long a daemon may hold its output open. */
const STDIO_DRAIN_MS = 200;
/**
 * Commands at once on one connection. OpenSSH's sshd allows 10 sessions per connection
 * (MaxSessions); two stay free for the short channels that kill a timed-out command.
 */
const CHANNELS_PER_CONNECTION = 8;
const MAX_TIMER_MS = 2 ** 31 - 1;
const PGID_MARK = "ferry-pgid:";

interface Connection {
  readonly client: Client;
  /** Set once the connection has gone, with why. */
  lost?: string;
  /** Commands running on it, told when it goes. */
  readonly running: Set<(reason: string) => void>;
  /** For one channel per command, when the host cannot keep shells (no `setsid`). */
  readonly slots: Slots;
  /** The connection's shells, the first opened as it connects; undefined: one channel per command. */
  shells: Promise<ShellPool | undefined>;
  /** The pool once it is there, so that losing the connection tells its waiting commands at once. */
  pool?: ShellPool;
}

/** What a command runs through: a shell of the connection's pool, or a channel of its own. */
type Lease = { readonly shell: ShellSession; readonly pool: ShellPool } | { readonly release: () => void };

/**
 * Runs commands over SSH on one host.
 *
 * @example
 * const driver = new SshDriver({ host: "h2", address: "10.0.0.2", settings });
 * await driver.connect(); // checks the host key and logs in; exec() does it too when needed
 * const r = await driver.exec("cat /srv/notes/VERSION", { timeoutMs: 5000 });
 * await driver.close();
 */
export class SshDriver implements Driver {
  readonly host: string;
  readonly #address: string;
  readonly #s: SshSettings;
  readonly #env: NodeJS.ProcessEnv;
  #connection: Promise<Connection> | undefined;
  /** The client of a handshake under way: close() gives it up rather than wait for the host. */
  #dialing: { destroy(): unknown } | undefined;
  readonly #groups = new Set<{ kill: () => void; done: Promise<unknown> }>();
  #closed = false;
  readonly #shellMode: boolean;
  /** How many connections this driver has opened; one per run unless one was lost. */
  connections = 0;

  constructor(options: SshDriverOptions) {
    this.host = options.host;
    this.#address = options.address;
    this.#s = options.settings;
    this.#env = options.env ?? process.env;
    this.#shellMode = options.shells ?? true;
  }

  /** `h2 (10.0.0.2:22)`: how messages name the host. */
  get where(): string {
    return `${this.host} (${this.#address}:${this.#s.port})`;
  }

  /**
   * Connects unless connected: checks the host key, logs in, and has the first shell ready for
   * commands. Rejects with why it cannot.
   */
  async connect(): Promise<void> {
    await (await this.#open()).shells;
  }

  #open(): Promise<Connection> {
    if (this.#closed) return Promise.reject(new Error(`the SSH driver for ${this.host} is closed`));
    this.#connection ??= this.#dial().catch((err) => {
      this.#connection = undefined;
      throw err;
    });
    return this.#connection;
  }

  async #dial(): Promise<Connection> {
    const ssh2 = await loadSsh2();
    if (this.#closed) throw new Error(`the SSH driver for ${this.host} is closed`);
    const auth = this.#credentials(ssh2);
    const knownHosts = this.#s.knownHostsFile;
    let verdict: string | undefined;
    const client = new ssh2.Client();
    const known = preferredHostKeyAlgorithms(
      parseKnownHosts(readKnownHosts(knownHosts)),
      this.#address,
      this.#s.port,
    );
    const config: ConnectConfig = {
      host: this.#address,
      port: this.#s.port,
      username: this.#s.user,
      ...auth,
      ...(known.length > 0
        ? {
            // ssh2 skips a prepended algorithm already in its list: take them out, then put them first.
            algorithms: {
              serverHostKey: {
                remove: known as ServerHostKeyAlgorithm[],
                prepend: known as ServerHostKeyAlgorithm[],
                append: [],
              },
            },
          }
        : {}),
      readyTimeout: this.#s.connectTimeoutMs,
      keepaliveInterval: this.#s.keepaliveIntervalMs,
      keepaliveCountMax: this.#s.keepaliveCountMax,
      hostVerifier: (key: Buffer): boolean => {
        const text = readKnownHosts(knownHosts);
        const v = verifyHostKey(parseKnownHosts(text), this.#address, this.#s.port, key);
        const presented = fingerprint(key);
        if (v.status === "known") return true;
        if (v.status === "unknown" && this.#s.hostKeyPolicy === "accept-new") {
          try {
            mkdirSync(dirname(knownHosts), { recursive: true, mode: 0o700 });
            const sep = text === "" || text.endsWith("\n") ? "" : "\n";
            appendFileSync(knownHosts, sep + knownHostsLine(this.#address, this.#s.port, key), {
              mode: 0o600,
            });
            return true;
          } catch (err) {
            verdict = `${this.where}: cannot record its host key ${presented} in ${knownHosts} (${(err as Error).message})`;
            return false;
          }
        }
        verdict =
          v.status === "changed"
            ? `${this.where}: its host key has changed: it presented ${presented}, but ${knownHosts}:${v.line} expects ${v.expected}. Someone may be in the middle; nothing was run on any host`
            : v.status === "revoked"
              ? `${this.where}: its host key ${presented} is marked @revoked in ${knownHosts}:${v.line}`
              : `${this.where}: its host key ${presented} is not in ${knownHosts} (hostKeyPolicy: strict). Add it after checking it (ssh-keyscan -p ${this.#s.port} ${this.#address}), or set hostKeyPolicy: accept-new`;
        return false;
      },
    };
    const connection: Connection = {
      client,
      running: new Set(),
      slots: new Slots(CHANNELS_PER_CONNECTION),
      shells: Promise.resolve(undefined),
    };
    this.#dialing = client;
    await new Promise<void>((resolve, reject) => {
      let ready = false;
      let lastError: Error | undefined;
      client.on("error", (err: Error & { level?: string; code?: string }) => {
        lastError = err;
        if (ready) return;
        if (verdict) reject(new HostKeyError(verdict));
        else
          reject(
            new SshConnectError(`cannot connect to ${this.where}: ${this.#explain(err)}`, { cause: err }),
          );
      });
      client.on("ready", () => {
        ready = true;
        this.connections++;
        // The first shell opens now, so the first command finds it ready.
        connection.shells = this.#shellMode ? firstShell(connection) : Promise.resolve(undefined);
        resolve();
      });
      client.on("close", () => {
        const reason = lastError ? this.#explain(lastError) : "closed by the host";
        connection.lost ??= reason;
        if (!ready) reject(new SshConnectError(`cannot connect to ${this.where}: ${reason}`));
        // The next command opens a new connection; the commands on this one are told.
        if (ready) this.#connection = undefined;
        for (const tell of connection.running) tell(reason);
        connection.running.clear();
        connection.pool?.fail(new SshConnectError(reason));
      });
      client.connect(config);
      // Commands are many small writes each waiting for an answer: with Nagle's algorithm on, each
      // round trip waits out the host's delayed ACK (40 ms on Linux), ten times the command itself.
      client.setNoDelay(true);
    }).finally(() => {
      this.#dialing = undefined;
    });
    return connection;
  }

  /** The key, its passphrase and the agent; a key that cannot be read is the operator's to fix. */
  #credentials(ssh2: Ssh2): Pick<ConnectConfig, "privateKey" | "passphrase" | "agent" | "authHandler"> {
    const agent = this.#env.SSH_AUTH_SOCK || undefined;
    const out: Pick<ConnectConfig, "privateKey" | "passphrase" | "agent"> = agent ? { agent } : {};
    let file = this.#s.identityFile;
    if (file) {
      try {
        out.privateKey = readFileSync(file);
      } catch (err) {
        throw new UserError(
          `host ${this.host}: identityFile ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
        );
      }
    } else {
      for (const name of ["id_ed25519", "id_rsa"]) {
        const candidate = join(homedir(), ".ssh", name);
        try {
          out.privateKey = readFileSync(candidate);
          file = candidate;
          break;
        } catch {
          // the next default, then the agent
        }
      }
      if (!out.privateKey && !agent) {
        throw new UserError(
          `host ${this.host}: no key to log in with: set identityFile, create ~/.ssh/id_ed25519, or start an SSH agent (SSH_AUTH_SOCK)`,
        );
      }
    }
    const envName = this.#s.identityPassphraseEnv;
    if (envName) {
      const passphrase = this.#env[envName];
      if (passphrase === undefined)
        throw new UserError(
          `host ${this.host}: identityPassphraseEnv: the environment variable ${envName} is not set`,
        );
      out.passphrase = passphrase;
    }
    const key = out.privateKey && decryptedOnce(ssh2, out.privateKey as Buffer, out.passphrase);
    // A key that does not parse goes to ssh2 as it is, which says what is wrong with it.
    if (!key) return out;
    const username = this.#s.user;
    // ssh2's own order (none, the key, the agent), with the key given already decrypted.
    const methods: (NoAuthMethod | PublicKeyAuthMethod | AgentAuthMethod)[] = [
      { type: "none", username },
      { type: "publickey", username, key },
    ];
    if (agent) methods.push({ type: "agent", username, agent });
    return { ...(agent ? { agent } : {}), authHandler: methods };
  }

  /** An ssh2 or socket error in an operator's words; never with key material or a passphrase in it. */
  #explain(err: Error & { level?: string; code?: string }): string {
    if (err.level === "client-timeout")
      return `no answer within ${formatMs(this.#s.connectTimeoutMs)} (connectTimeout; is the host up and reachable?)`;
    if (err.level === "client-authentication")
      return `${this.#s.user} could not log in with the key${this.#s.identityFile ? ` ${this.#s.identityFile}` : "s"} given${this.#env.SSH_AUTH_SOCK ? " or the agent's" : ""}`;
    if (err.message === "Keepalive timeout")
      return `no answer to ${this.#s.keepaliveCountMax} keepalives ${formatMs(this.#s.keepaliveIntervalMs)} apart`;
    if (err.code === "ECONNREFUSED") return `connection refused (is sshd running on port ${this.#s.port}?)`;
    if (err.code === "ECONNRESET")
      return `connection reset by the host (is sshd running on port ${this.#s.port}?)`;
    if (err.code === "EHOSTUNREACH" || err.code === "ENETUNREACH") return "no route to the host";
    if (/passphrase|privateKey|private key/i.test(err.message))
      return `the private key ${this.#s.identityFile ?? ""} cannot be used: wrong or missing passphrase (identityPassphraseEnv), or not a key`;
    return err.message;
  }

  exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    if (this.#closed) return Promise.reject(new Error(`the SSH driver for ${this.host} is closed`));
    if (options.signal?.aborted) return Promise.resolve(notStarted());
    for (const name of Object.keys(options.env ?? {})) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
        return Promise.reject(
          new Error(`cannot pass ${JSON.stringify(name)} to ${this.host}: not a variable name`),
        );
    }
    const group = { kill: () => {}, done: Promise.resolve() as Promise<unknown> };
    const result = this.#run(command, options, group);
    group.done = result.catch(() => {});
    this.#groups.add(group);
    void group.done.then(() => this.#groups.delete(group));
    return result;
  }

  async #run(command: string, options: ExecOptions, group: { kill: () => void }): Promise<ExecResult> {
    const started = performance.now();
    let connection = await this.#open();
    let lease = await this.#lease(connection, command);
    if (lease === "lost" && !this.#closed) {
      // Lost while this command waited for a shell or a channel: it never started, so a new connection may run it.
      connection = await this.#open();
      lease = await this.#lease(connection, command);
    }
    if (lease !== "lost" && (options.signal?.aborted || this.#closed)) {
      if ("shell" in lease) lease.pool.release(lease.shell);
      else lease.release();
      return notStarted();
    }
    if (lease === "lost") {
      if (this.#closed || options.signal?.aborted) return notStarted();
      throw new SshConnectError(
        `connection to ${this.where} lost before \`${brief(command)}\` could start (${connection.lost}); it did not run`,
      );
    }
    const held = lease;
    return new Promise<ExecResult>((resolve, reject) => {
      const tail = new OutputTail();
      const out = new StringDecoder("utf8");
      const err = new StringDecoder("utf8");
      let pgid: number | undefined;
      let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
      let timedOut = false;
      let aborted = false;
      let terminating: "TERM" | "KILL" | undefined;
      let settled = false;
      let timeoutTimer: NodeJS.Timeout | undefined;
      let drainTimer: NodeJS.Timeout | undefined;
      const graceMs = options.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
      /** Lets go of the shell or the channel once the command is over; set when it starts. */
      let letGo: (() => void) | undefined;

      const sendKill = (how: "TERM" | "KILL"): void => {
        if (pgid === undefined || connection.lost) return;
        void openChannel(connection.client, killCommand(pgid, how, graceMs), (ch) => {
          ch.on("data", () => {});
          ch.stderr.on("data", () => {});
          ch.end();
        }).catch(() => {
          // The connection went: the command's end is reported through it.
        });
      };

      const terminate = (how: "TERM" | "KILL"): void => {
        if (exit !== undefined || terminating === "KILL" || terminating === how) return;
        terminating = how;
        sendKill(how);
      };

      // close() ends what is still running, at once.
      group.kill = () => terminate("KILL");

      const onAbort = (): void => {
        if (exit !== undefined || terminating) return;
        aborted = true;
        terminate("TERM");
      };

      const cleanup = (): void => {
        settled = true;
        clearTimeout(timeoutTimer);
        clearTimeout(drainTimer);
        options.signal?.removeEventListener("abort", onAbort);
        connection.running.delete(onLost);
      };

      const finish = (): void => {
        if (settled) return;
        cleanup();
        tail.push(out.end(), options.onOutput);
        tail.push(err.end(), options.onOutput);
        letGo?.();
        resolve({
          exitCode: exit?.code ?? null,
          signal: exit?.signal ?? null,
          timedOut,
          aborted,
          output: tail.text(),
          durationMs: performance.now() - started,
        });
      };

      function onLost(reason: string): void {
        if (settled) return;
        cleanup();
        letGo?.();
        const what = brief(command);
        const state = timedOut ? "; it had timed out and could not be killed" : "";
        reject(
          new SshConnectError(
            `connection to ${where} lost while running \`${what}\` (${reason})${state}; the command may still be running there; not re-run`,
          ),
        );
      }
      const where = this.where;
      if (connection.lost) {
        if ("shell" in held) held.pool.release(held.shell);
        else held.release();
        onLost(connection.lost);
        return;
      }
      connection.running.add(onLost);

      const gotPgid = (id: number): void => {
        pgid = id;
        if (terminating) sendKill(terminating);
      };
      const gotExit = (code: number | null, signal: NodeJS.Signals | null): void => {
        exit = { code, signal };
        clearTimeout(timeoutTimer);
      };

      // Timers and the abort go on once the command has started (a timeout runs from there).
      const begin = (): void => {
        if (options.timeoutMs !== undefined && Number.isFinite(options.timeoutMs)) {
          timeoutTimer = setTimeout(
            () => {
              if (exit !== undefined || terminating) return;
              timedOut = true;
              terminate("TERM");
            },
            Math.min(Math.max(options.timeoutMs, 0), MAX_TIMER_MS),
          );
        }
        options.signal?.addEventListener("abort", onAbort, { once: true });
        // Aborted while it was being handed over: the command has started, so it is stopped like any other.
        if (options.signal?.aborted) onAbort();
      };

      if ("shell" in held) {
        const { shell, pool } = held;
        let lingering = false;
        letGo = () => {
          letGo = undefined;
          pool.release(shell, lingering);
        };
        shell.run(command, options.env ?? {}, {
          pgid: gotPgid,
          output: (chunk) => tail.push(out.write(chunk), options.onOutput),
          ended: (how) => {
            gotExit(how.code, how.signal);
            lingering = how.lingering;
            // What it left running may still write for a moment, as with a channel of its own.
            if (how.lingering) drainTimer = setTimeout(finish, STDIO_DRAIN_MS);
            else finish();
          },
          gone: () => {
            if (connection.lost) return onLost(connection.lost);
            if (settled) return;
            cleanup();
            letGo?.();
            reject(
              new SshConnectError(
                `the shell on ${where} that ran \`${brief(command)}\` ended before it; the command may still be running there; not re-run`,
              ),
            );
          },
        });
        begin();
        return;
      }

      // One channel of its own: the wrapper prints the process group as the first line of stderr.
      const { release } = held;
      let channel: ClientChannel | undefined;
      /** stderr until its first line has been read; then null. */
      let head: string | null = "";
      letGo = () => {
        letGo = undefined;
        if (head) tail.push(head, options.onOutput);
        if (!connection.lost) channel?.close();
        // The session counts against sshd's MaxSessions until the channel has closed on both
        // sides; without a channel (never opened, or the connection gone) it is free now.
        if (!channel || connection.lost) release();
      };
      // Listeners go on in the same tick the channel opens: a quick command's exit can arrive with it.
      const attach = (ch: ClientChannel): void => {
        channel = ch;
        if (settled) {
          ch.close();
          return;
        }
        ch.on("data", (chunk: Buffer) => tail.push(out.write(chunk), options.onOutput));
        ch.stderr.on("data", (chunk: Buffer) => {
          if (head === null) {
            tail.push(err.write(chunk), options.onOutput);
            return;
          }
          head += chunk.toString("latin1");
          const nl = head.indexOf("\n");
          if (nl < 0 && head.length < 64) return;
          const line = nl < 0 ? "" : head.slice(0, nl);
          const id = line.startsWith(PGID_MARK) ? Number(line.slice(PGID_MARK.length)) : Number.NaN;
          const found = Number.isInteger(id) && id > 1;
          const rest = found ? head.slice(nl + 1) : head;
          head = null;
          tail.push(err.write(Buffer.from(rest, "latin1")), options.onOutput);
          if (found) gotPgid(id);
        });
        ch.on("exit", (code: number | null, signal?: string) => {
          gotExit(
            typeof code === "number" ? code : null,
            // ssh2 names the signal as Node does (SIGTERM); the protocol's own name is TERM.
            signal ? ((signal.startsWith("SIG") ? signal : `SIG${signal}`) as NodeJS.Signals) : null,
          );
          drainTimer = setTimeout(finish, STDIO_DRAIN_MS);
        });
        ch.on("close", () => {
          if (exit === undefined && connection.lost) onLost(connection.lost);
          else finish();
          release();
        });
        // No stdin: a command that reads it sees its end at once, as with the local driver.
        ch.end();
        begin();
      };
      openChannel(connection.client, remoteCommand(command, options.env ?? {}), attach).catch((e: Error) => {
        if (settled) return;
        cleanup();
        release();
        reject(
          new SshConnectError(`cannot run a command on ${where}: ${connection.lost ?? e.message}`, {
            cause: e,
          }),
        );
      });
    });
  }

  /**
   * A shell of the connection's pool, or a channel of its own when the host cannot keep shells;
   * "lost" when the connection went while the command waited, so it never started.
   */
  async #lease(connection: Connection, command: string): Promise<Lease | "lost"> {
    const pool = await connection.shells;
    if (pool) {
      try {
        const shell = await pool.acquire();
        if (!connection.lost) return { shell, pool };
        pool.release(shell, true);
        return "lost";
      } catch (e) {
        if (connection.lost) return "lost";
        throw new SshConnectError(
          `cannot run \`${brief(command)}\` on ${this.where}: no shell (${(e as Error).message}); it did not run`,
          { cause: e },
        );
      }
    }
    const release = await connection.slots.acquire();
    if (connection.lost) {
      release();
      return "lost";
    }
    return { release };
  }

  endMarked(markers: readonly string[], options: { readonly graceMs?: number } = {}): Promise<MarkedEnd> {
    return endMarkedThrough((command, o) => this.exec(command, o), markers, options.graceMs);
  }

  /** Kills every command still running (their whole groups, with SIGKILL), waits for them, and disconnects. */
  async close(): Promise<void> {
    if (this.#closed) return;
    // First: a command still waiting for a channel must not start once the running ones are killed.
    this.#closed = true;
    // A handshake under way is given up (nothing has run on the host): a host that does not
    // answer would otherwise hold the close until its connect timeout.
    this.#dialing?.destroy();
    const groups = [...this.#groups];
    for (const g of groups) g.kill();
    // A command whose kill cannot arrive (its connection is gone) ends with the connection.
    await Promise.race([Promise.all(groups.map((g) => g.done)), sleep(5000)]);
    const connection = await this.#connection?.catch(() => undefined);
    this.#connection = undefined;
    connection?.client.end();
  }
}

/**
 * What runs on the host: a POSIX shell (whatever the login shell is) that prints its pid, which is
 * the process group sshd gave the session, then execs the command with its env. sshd is not asked
 * to set the variables: most refuse (AcceptEnv), so they ride on `env`.
 */
export function remoteCommand(command: string, env: Readonly<Record<string, string>>): string {
  const vars = Object.entries(env).map(([k, v]) => `${k}=${quote(v)}`);
  const inner = `printf '${PGID_MARK}%s\\n' "$$" >&2; exec env ${vars.join(" ")} /bin/sh -c ${quote(command)}`;
  return `exec /bin/sh -c ${quote(inner)}`;
}

/**
 * The connection's shell pool, with its first shell open; undefined when the host cannot keep one
 * (no `setsid`, or the shell did not come up): then each command has a channel of its own.
 */
function firstShell(connection: Connection): Promise<ShellPool | undefined> {
  const open = () => openShell(connection.client);
  return open().then(
    (shell) => {
      connection.pool = new ShellPool(open, CHANNELS_PER_CONNECTION, shell);
      if (connection.lost) connection.pool.fail(new SshConnectError(connection.lost));
      return connection.pool;
    },
    () => undefined,
  );
}

async function openShell(client: Client): Promise<ShellSession> {
  let shell: ShellSession | undefined;
  await openChannel(client, "exec /bin/sh", (ch) => {
    shell = new ShellSession(ch);
  });
  if (!shell || !(await shell.ready)) throw new Error(shell?.noShellReason ?? "the host has no setsid");
  return shell;
}

/** Keys already read, by a digest of the key file's bytes and its passphrase. */
const parsedKeys = new Map<string, ParsedKey>();

/**
 * The private key, decrypted once per process. Given the key file, ssh2 decrypts an OpenSSH key
 * under a passphrase (bcrypt) for every connection, about a second of blocked event loop each: a
 * run that dials its hosts at once would spend that per host before the last dial begins, and
 * time the first ones out (connectTimeout runs from each dial). Undefined when it does not parse.
 */
function decryptedOnce(
  ssh2: Ssh2,
  key: Buffer,
  passphrase: string | Buffer | undefined,
): ParsedKey | undefined {
  const id = createHash("sha256")
    .update(key)
    .update("\0")
    .update(passphrase ?? "")
    .digest("hex");
  const known = parsedKeys.get(id);
  if (known) return known;
  const result: ParsedKey | ParsedKey[] | Error = ssh2.utils.parseKey(key, passphrase);
  const parsed = Array.isArray(result) ? result[0] : result;
  if (parsed === undefined || parsed instanceof Error) return undefined;
  parsedKeys.set(id, parsed);
  return parsed;
}

/**
 * Ends a command's process group from another channel, in the background on the host so that the
 * grace period runs there: SIGTERM, then SIGKILL once `graceMs` has passed if anything is left.
 */
function killCommand(pgid: number, how: "TERM" | "KILL", graceMs: number): string {
  const ticks = Math.max(1, Math.ceil(graceMs / 100));
  const body =
    how === "KILL"
      ? `kill -KILL -${pgid}`
      : `kill -TERM -${pgid}; i=0; while kill -0 -${pgid} && [ $i -lt ${ticks} ]; do sleep 0.1; i=$((i+1)); done; kill -KILL -${pgid}`;
  return `exec /bin/sh -c ${quote(`(${body}) </dev/null >/dev/null 2>&1 &`)}`;
}

/**
 * Opens a session channel running `command`; `attach` gets it in the same tick, before any of its
 * events. An open the server turns down (sshd's MaxSessions, while other channels are closing) is
 * tried again a few times: the command has not started, so nothing can run twice.
 */
async function openChannel(
  client: Client,
  command: string,
  attach: (ch: ClientChannel) => void,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await new Promise<void>((resolve, reject) => {
        client.exec(command, (err, channel) => {
          if (err) return reject(err);
          attach(channel);
          resolve();
        });
      });
      return;
    } catch (err) {
      const refused = /open failed|administratively prohibited/i.test((err as Error).message);
      if (!refused || attempt >= 20) throw err;
      await sleep(50 * Math.min(attempt, 4));
    }
  }
}

function readKnownHosts(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return "";
  }
}

function notStarted(): ExecResult {
  return { exitCode: null, signal: null, timedOut: false, aborted: true, output: "", durationMs: 0 };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** A counting semaphore: at most `n` holders; the rest wait their turn in order. */
class Slots {
  #free: number;
  readonly #waiting: (() => void)[] = [];

  constructor(n: number) {
    this.#free = n;
  }

  async acquire(): Promise<() => void> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    };
  }
}

/** A command as an error message quotes it: its first 80 characters. */
function brief(command: string): string {
  return command.length > 80 ? `${command.slice(0, 77)}…` : command;
}
