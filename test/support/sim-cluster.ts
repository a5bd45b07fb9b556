/**
 * A simulated product on the in-memory driver, for executor tests and benchmarks: every member
 * has installed versions, an active one and a running flag; its commands are one word and the
 * component name (`stop api`, `activate api 1.0.1`). Records what is down at once, and can fail
 * a chosen command.
 */
import { MemoryDriver, type MemoryReply } from "../../src/drivers/index.js";
import type { Driver } from "../../src/index.js";
import { type Plan, planSteps } from "../../src/plan/plan.js";
import type { StateStore } from "../../src/store/state-store.js";

export const SIM_COMMANDS = {
  version: "version {{component}}",
  install: "install {{component}} {{version}}",
  stop: "stop {{component}}",
  activate: "activate {{component}} {{version}}",
  start: "start {{component}}",
};

interface MemberState {
  installed: Set<string>;
  active: string;
  running: boolean;
}

/**
 * A cluster file of `hosts` simulated hosts for the benchmarks: db on every host first (order 1);
 * api and worker side by side after it (order 2), each `window` hosts at a time.
 */
export function simClusterYaml(hosts: number, window: number): string {
  const names = Array.from({ length: hosts }, (_, i) => `h${i + 1}`);
  const commands = JSON.stringify(SIM_COMMANDS);
  const component = (name: string, order: number) =>
    `  - { name: ${name}, hosts: [${names.join(", ")}], order: ${order}, maxUnavailable: ${window}, commands: ${commands}, health: { exec: "health ${name}", interval: 1ms, deadline: 10s } }`;
  return [
    "name: bench",
    "catalog: releases.yaml",
    "hosts:",
    ...names.map((h, i) => `  - { name: ${h}, address: 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255} }`),
    "components:",
    component("db", 1),
    component("api", 2),
    component("worker", 2),
  ].join("\n");
}

/** Journals a run of `plan` (1.0.0 → 1.0.1, every step pending) for a benchmark to walk. */
export async function createSimRun(store: StateStore, id: string, plan: Plan): Promise<void> {
  await store.createRun(
    {
      id,
      cluster: plan.cluster,
      from: plan.from,
      to: plan.to,
      path: plan.path,
      status: "running",
      startedAt: Date.now(),
      startedBy: "bench",
      plan,
      files: {},
    },
    [...planSteps(plan)].map(({ step }) => step.id),
  );
}

export interface SimEvent {
  readonly at: number;
  readonly host: string;
  readonly command: string;
}

export class SimCluster {
  readonly members = new Map<string, MemberState>();
  readonly events: SimEvent[] = [];
  /** Per component, the most members that were down (not running) at one moment. */
  readonly maxDown = new Map<string, number>();
  /** Per active-passive component, its active host; `switchover` moves it. */
  readonly active = new Map<string, string>();
  readonly activePassive: string[] = [];
  /** Jobs still in the queue; each `queue-empty` poll finishes one. */
  queueJobs = 0;
  /** The most members down at one moment over all components. */
  maxDownOverall = 0;
  /** Every set of members (`api@h1`) down at one moment, in the order they were. */
  readonly downSets: (readonly string[])[] = [];
  /** Returns a reply to make a command fail, or undefined to let it run. */
  fail: ((host: string, command: string) => MemoryReply | undefined) | undefined;
  readonly #drivers = new Map<string, MemoryDriver>();
  /** Members down now, per component and in all. */
  readonly #down = new Map<string, number>();
  readonly #downMembers = new Set<string>();
  #downOverall = 0;
  #start = performance.now();

  constructor(
    hosts: readonly string[],
    components: readonly string[],
    version: string,
    /** How long each command takes, in ms (a function of host and command, or a number). */
    readonly delayMs: number | ((host: string, command: string) => number) = 0,
  ) {
    for (const h of hosts) {
      for (const c of components)
        this.members.set(`${c}@${h}`, { installed: new Set([version]), active: version, running: true });
    }
  }

  driverFor = (host: string | undefined): Driver => {
    const name = host ?? "local";
    let d = this.#drivers.get(name);
    if (!d) {
      d = new MemoryDriver({
        host: name,
        handler: (command) => this.#handle(name, command),
        keepHistory: false,
      });
      this.#drivers.set(name, d);
    }
    return d;
  };

  member(host: string, component: string): MemberState {
    const m = this.members.get(`${component}@${host}`);
    if (!m) throw new Error(`no member ${component}@${host}`);
    return m;
  }

  /** host → component → "1.0.1" or "1.0.1 (stopped)". */
  snapshot(): Record<string, string> {
    return Object.fromEntries(
      [...this.members].map(([k, m]) => [k, `${m.active}${m.running ? "" : " (stopped)"}`]),
    );
  }

  #handle(host: string, command: string): MemoryReply | undefined {
    this.events.push({ at: performance.now() - this.#start, host, command });
    const failed = this.fail?.(host, command);
    if (failed) return failed;
    const [verb, component, version] = command.split(" ");
    const delayMs = typeof this.delayMs === "number" ? this.delayMs : this.delayMs(host, command);
    if (verb === "health") {
      const m = this.member(host, component ?? "");
      return { exitCode: m.running ? 0 : 1, delayMs };
    }
    // An active-passive component: `role C` says the host's role, `switchover H` makes H active.
    if (verb === "role")
      return { output: `${this.active.get(component ?? "") === host ? "active" : "standby"}\n` };
    if (verb === "switchover") {
      for (const c of this.activePassive) this.active.set(c, component ?? host);
      return { delayMs };
    }
    // A job queue that empties after `queueJobs` more polls.
    if (verb === "queue-empty")
      return { exitCode: this.queueJobs-- > 0 ? 1 : 0, output: `${Math.max(0, this.queueJobs + 1)} jobs\n` };
    // A load balancer's drain and undrain (`drain: { exec: "drain api", undrain: "ready api" }`).
    if (verb === "drain" || verb === "ready") return { delayMs };
    if (!["version", "install", "stop", "activate", "start"].includes(verb ?? "")) return undefined;
    const m = this.member(host, component ?? "");
    switch (verb) {
      case "version":
        return { output: `${m.active}\n` };
      case "install":
        m.installed.add(version ?? "");
        break;
      case "activate":
        if (!m.installed.has(version ?? "")) return { exitCode: 1, output: `${version} is not installed\n` };
        m.active = version ?? "";
        break;
      case "stop":
        if (m.running) this.#count(component ?? "", +1, host);
        m.running = false;
        break;
      case "start":
        if (!m.running) this.#count(component ?? "", -1, host);
        m.running = true;
        break;
    }
    return { delayMs };
  }

  #count(component: string, delta: number, host: string): void {
    if (delta > 0) this.#downMembers.add(`${component}@${host}`);
    else this.#downMembers.delete(`${component}@${host}`);
    this.downSets.push([...this.#downMembers]);
    const down = (this.#down.get(component) ?? 0) + delta;
    this.#down.set(component, down);
    this.#downOverall += delta;
    this.maxDown.set(component, Math.max(this.maxDown.get(component) ?? 0, down));
    this.maxDownOverall = Math.max(this.maxDownOverall, this.#downOverall);
  }
}
