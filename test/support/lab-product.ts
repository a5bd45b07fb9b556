/**
 * A tiny product on the lab's hosts, upgraded by the real CLI over SSH: each host's own tree holds
 * the releases side by side and a `current` symlink (Ganeti's layout); "running" is a file start
 * writes and stop removes. Every command first writes a line to the host's own `events` log with
 * the host's clock, so tests judge what happened from the hosts, not from ferry's word.
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Lab } from "../lab/lab.js";

export interface LabProductOptions {
  readonly releases?: readonly string[];
  readonly maxUnavailable?: number;
  /** The longest one command may run. */
  readonly timeout?: string;
  /** Extra top-level YAML (onFailure, …). */
  readonly extra?: string;
  /** Extra fields for every host line (identityPassphraseEnv, …), as YAML flow entries. */
  readonly hostExtra?: string;
  readonly identityFile?: string;
  readonly knownHostsFile?: string;
}

export interface LabProduct {
  readonly dir: string;
  readonly clusterFile: string;
  readonly stateFile: string;
  /** host → its active and running release. */
  state(): Record<string, { active: string | null; running: string | null }>;
  /** host → its events, in order: [nanoseconds, what]. */
  events(): Record<string, [bigint, string][]>;
  /**
   * The most hosts out of service at once, from the hosts' own logs: a host is out from its
   * `stop` to its next `start`.
   */
  maxOutOfService(): number;
  cleanup(): void;
}

export function makeLabProduct(lab: Lab, options: LabProductOptions = {}): LabProduct {
  const dir = mkdtempSync(join(tmpdir(), "fl6-product-"));
  const releases = options.releases ?? ["1.0.0", "1.0.1"];
  const start = releases[0] as string;
  for (const h of lab.hosts) {
    rmSync(h.root, { recursive: true, force: true });
    const home = join(h.root, "api");
    mkdirSync(join(home, "versions", start), { recursive: true });
    writeFileSync(join(home, "versions", start, "VERSION"), `${start}\n`);
    symlinkSync(join("versions", start), join(home, "current"));
    writeFileSync(join(home, "running"), `${start}\n`);
  }
  writeFileSync(
    join(dir, "releases.yaml"),
    `product: lab\nscheme: semver\nreleases:\n${releases.map((r) => `  - "${r}"`).join("\n")}\n`,
  );
  const home = "{{vars.root}}/api";
  const log = (what: string) => `echo "$(date +%s%N) ${what}" >> {{vars.root}}/events;`;
  // A test makes an install slow on one host (to cut it mid-step) by leaving a `slow-install` file
  // there; the install says it has begun with `at-install` (holding its pid, which is its process
  // group), then takes 3 s (or as many seconds as the file says), once. Ended by SIGTERM meanwhile,
  // it says so in the host's events (SIGPIPE ignored: once ferry has died, the shell's "Terminated"
  // goes to a closed channel, and would kill it before it could).
  const slow = `s=$(cat {{vars.root}}/slow-install); rm -f {{vars.root}}/slow-install; trap '' PIPE; trap '${log("install ended by SIGTERM").replace(/;$/, "")}; exit 143' TERM; echo $$ > {{vars.root}}/at-install.tmp && mv {{vars.root}}/at-install.tmp {{vars.root}}/at-install; sleep \${s:-3}; trap - TERM`;
  const install = `${log("install {{version}}")} if [ -e {{vars.root}}/slow-install ]; then ${slow}; fi; mkdir -p ${home}/versions/{{version}} && echo {{version}} > ${home}/versions/{{version}}/VERSION`;
  const commands = {
    version: `${log("version")} cat ${home}/current/VERSION`,
    install,
    stop: `${log("stop")} rm -f ${home}/running`,
    activate: `${log("activate {{version}}")} ln -sfn versions/{{version}} ${home}/current`,
    start: `${log("start")} cat ${home}/current/VERSION > ${home}/running`,
  };
  const hostFields = (h: Lab["hosts"][number]) =>
    [
      `name: ${h.name}`,
      `address: ${h.address}`,
      "driver: ssh",
      "user: root",
      `identityFile: ${options.identityFile ?? lab.clientKey}`,
      `knownHostsFile: ${options.knownHostsFile ?? lab.knownHostsFile}`,
      "connectTimeout: 2s",
      "keepaliveInterval: 500ms",
      "keepaliveCountMax: 2",
      ...(options.hostExtra ? [options.hostExtra] : []),
      `vars: { root: "${h.root}" }`,
    ].join(", ");
  const yaml = [
    "name: lab",
    "catalog: releases.yaml",
    "state: state/ferry.db",
    "hosts:",
    ...lab.hosts.map((h) => `  - { ${hostFields(h)} }`),
    "components:",
    "  - name: api",
    `    hosts: [${lab.hosts.map((h) => h.name).join(", ")}]`,
    `    maxUnavailable: ${options.maxUnavailable ?? 1}`,
    `    timeout: ${options.timeout ?? "3s"}`,
    "    commands:",
    ...Object.entries(commands).map(([k, v]) => `      ${k}: ${JSON.stringify(v)}`),
    // A release is sick on a host when the host has a `sick-VERSION` file: it starts, never healthy.
    `    health: { exec: "test -f ${home}/running && test ! -e {{vars.root}}/sick-$(cat ${home}/running)", healthyFor: 0s, deadline: 2s, interval: 100ms }`,
    ...(options.extra ? [options.extra] : []),
  ].join("\n");
  const clusterFile = join(dir, "cluster.yaml");
  writeFileSync(clusterFile, `${yaml}\n`);

  const events = (): Record<string, [bigint, string][]> =>
    Object.fromEntries(
      lab.hosts.map((h) => {
        const file = join(h.root, "events");
        const lines = existsSync(file) ? readFileSync(file, "utf8").trim().split("\n") : [];
        return [
          h.name,
          lines.filter(Boolean).map((l): [bigint, string] => {
            const [ns, ...what] = l.split(" ");
            return [BigInt(ns as string), what.join(" ")];
          }),
        ];
      }),
    );

  return {
    dir,
    clusterFile,
    stateFile: join(dir, "state", "ferry.db"),
    state: () =>
      Object.fromEntries(
        lab.hosts.map((h) => {
          const home = join(h.root, "api");
          const active = existsSync(join(home, "current"))
            ? readFileSync(join(home, "current", "VERSION"), "utf8").trim()
            : null;
          const running = existsSync(join(home, "running"))
            ? readFileSync(join(home, "running"), "utf8").trim()
            : null;
          return [h.name, { active, running }];
        }),
      ),
    events,
    maxOutOfService: () => {
      const changes: [bigint, number][] = [];
      for (const list of Object.values(events())) {
        let out = false;
        for (const [ns, what] of list) {
          if (what === "stop" && !out) {
            out = true;
            changes.push([ns, 1]);
          } else if (what === "start" && out) {
            out = false;
            changes.push([ns, -1]);
          }
        }
      }
      changes.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1]));
      let now = 0;
      let most = 0;
      for (const [, d] of changes) {
        now += d;
        most = Math.max(most, now);
      }
      return most;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
