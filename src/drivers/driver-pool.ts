/**
 * The drivers of one run: one per host, made on first use and reused for every command of the
 * run, plus one for this machine (hooks, preflight checks and other cluster-level commands).
 */
import type { Driver } from "./driver.js";
import { LocalDriver } from "./local-driver.js";

export interface HostRef {
  readonly name: string;
  readonly address: string;
  readonly driver: "local";
}

export const THIS_MACHINE = "(this machine)";

export class DriverPool {
  readonly #hosts: ReadonlyMap<string, HostRef>;
  readonly #drivers = new Map<string, Driver>();

  constructor(hosts: readonly HostRef[]) {
    this.#hosts = new Map(hosts.map((h) => [h.name, h]));
  }

  /** The driver for `host`; undefined means this machine. */
  driverFor = (host: string | undefined): Driver => {
    const key = host ?? THIS_MACHINE;
    let driver = this.#drivers.get(key);
    if (!driver) {
      if (host !== undefined && !this.#hosts.has(host)) throw new Error(`no host named ${host} in this plan`);
      driver = new LocalDriver({ host: key });
      this.#drivers.set(key, driver);
    }
    return driver;
  };

  async close(): Promise<void> {
    await Promise.all([...this.#drivers.values()].map((d) => d.close()));
    this.#drivers.clear();
  }
}
