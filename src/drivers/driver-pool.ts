/**
 * The drivers of one run: one per host, made on first use and reused for every command of the
 * run, plus one for this machine (hooks, preflight checks and other cluster-level commands).
 * An SSH host's driver keeps one connection for the whole run.
 */
import { RefusedError, UserError } from "../errors.js";
import type { Driver } from "./driver.js";
import { LocalDriver } from "./local-driver.js";
import { HostKeyError, SshDriver } from "./ssh-driver.js";
import type { HostRef } from "./ssh-settings.js";

export type { HostRef };

export const THIS_MACHINE = "(this machine)";

export class DriverPool {
  readonly #hosts: ReadonlyMap<string, HostRef>;
  readonly #drivers = new Map<string, Driver>();
  #connected: Promise<void> | undefined;

  constructor(hosts: readonly HostRef[]) {
    this.#hosts = new Map(hosts.map((h) => [h.name, h]));
  }

  /** The driver for `host`; undefined means this machine. */
  driverFor = (host: string | undefined): Driver => {
    const key = host ?? THIS_MACHINE;
    let driver = this.#drivers.get(key);
    if (!driver) {
      const ref = host === undefined ? undefined : this.#hosts.get(host);
      if (host !== undefined && !ref) throw new Error(`no host named ${host} in this plan`);
      driver =
        ref?.driver === "ssh" && ref.ssh
          ? new SshDriver({ host: ref.name, address: ref.address, settings: ref.ssh })
          : new LocalDriver({ host: key });
      this.#drivers.set(key, driver);
    }
    return driver;
  };

  /**
   * Connects to every SSH host at once, before any command runs anywhere: a host key that does
   * not match, a key file that cannot be read, or a host that cannot be reached stops here, with
   * every such host named, and nothing has changed. Asked again, it answers from the same round
   * of handshakes: `ferry apply` starts it before it opens the journal, and the run awaits it.
   */
  connectAll(): Promise<void> {
    this.#connected ??= this.#connectAll();
    return this.#connected;
  }

  async #connectAll(): Promise<void> {
    const ssh = [...this.#hosts.values()].filter((h) => h.driver === "ssh");
    const results = await Promise.allSettled(ssh.map((h) => (this.driverFor(h.name) as SshDriver).connect()));
    const failed = results.flatMap((r) => (r.status === "rejected" ? [{ error: r.reason as Error }] : []));
    if (failed.length === 0) return;
    const input = failed.find((f) => f.error instanceof UserError);
    if (input) throw input.error;
    const lines = failed.map((f) => f.error.message);
    const keys = failed.filter((f) => f.error instanceof HostKeyError).length;
    const head =
      keys > 0
        ? `${keys} host key${keys === 1 ? "" : "s"} refused; nothing was run on any host`
        : `${failed.length} of ${ssh.length} SSH host${ssh.length === 1 ? "" : "s"} cannot be reached; nothing was run on any host`;
    throw new RefusedError(
      `${head}:\n  ${lines.join("\n  ")}`,
      keys > 0 ? "host-key" : "hosts-reachable",
      keys > 0
        ? "check those hosts; if a key changed on purpose, replace its line in known_hosts"
        : "bring the hosts back (or fix their address, user, key), then try again",
    );
  }

  async close(): Promise<void> {
    await Promise.all([...this.#drivers.values()].map((d) => d.close()));
    this.#drivers.clear();
  }
}
