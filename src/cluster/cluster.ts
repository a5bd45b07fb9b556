/**
 * The cluster as ferry works with it: `cluster.yaml` validated, paths resolved, durations in
 * milliseconds, every template checked against the values it will get.
 */
import { homedir, userInfo } from "node:os";
import { dirname, join, resolve } from "node:path";
import { type Catalog, lookupRelease } from "../catalog/index.js";
import { SSH_DEFAULTS, type SshSettings } from "../drivers/ssh-settings.js";
import { type SourceProblem, UserError } from "../errors.js";
import type { Window } from "../gates/window.js";
import { maskPassword } from "../mask-password.js";
import { parseDuration } from "../probes/health-probe.js";
import type { DrainSpec } from "../probes/traffic-drain.js";
import { type FieldPath, problemAt, readYamlFile, validateWith, YamlFile } from "../yaml-file.js";
import {
  type ClusterAction,
  checkActions,
  clusterActions,
  type HostAction,
  hostActions,
  type PointOfNoReturnPlace,
  pointOfNoReturnPlace,
} from "./cluster-actions.js";
import {
  type APPROVE_POINTS,
  type BatchSize,
  type ClusterData,
  ClusterSchema,
  type GateData,
  type HealthData,
  NOTIFY_EVENTS,
  type NotifyEvent,
  type PhaseName,
  WINDOW_DAYS,
} from "./cluster-schema.js";
import { envReferenceProblem, envReferences } from "./env-references.js";
import { HOP_NAMES, placeholders, VALUE_NAMES } from "./template.js";

export type { ActionSpec, ClusterAction, HostAction, PointOfNoReturnPlace } from "./cluster-actions.js";

export type HealthCheck = { readonly http: string } | { readonly tcp: string } | { readonly exec: string };

export interface HealthGate {
  readonly timeoutMs: number;
  readonly healthyForMs: number;
  readonly deadlineMs: number;
  readonly intervalMs: number;
}

export interface Host {
  readonly name: string;
  readonly address: string;
  readonly driver: "local" | "ssh";
  /** How to reach it, when `driver` is `ssh`. */
  readonly ssh?: SshSettings;
  /** Left out of every hop (Ganeti's offline nodes). */
  readonly offline: boolean;
  readonly vars: Readonly<Record<string, string>>;
}

export interface Component {
  readonly name: string;
  readonly hosts: readonly string[];
  readonly order: number;
  readonly maxUnavailable: number;
  readonly timeoutMs: number;
  /** `stop` is the operator's command, or ferry's own graceful stop of the process in `pidFile`. */
  readonly commands: Readonly<Record<"version" | "install" | "stop" | "activate" | "start", string>> & {
    /** Preflight: the target release can be installed on the host. */
    readonly check?: string;
  };
  /** Redundancy groups: label → hosts of this component never out of service together. */
  readonly groups: Readonly<Record<string, readonly string[]>>;
  readonly health?: { readonly check: HealthCheck; readonly gate: HealthGate };
  readonly drain?: DrainSpec;
  readonly vars: Readonly<Record<string, string>>;
  /** active-passive (StarlingX controllers, Cinder's volume service): its role probe and switchover. */
  readonly activePassive?: { readonly role: string; readonly switchover: string };
  /** The operator's own steps on each of its hosts, at points of the host's roll. */
  readonly actions: readonly HostAction[];
  /** Batch sizes as Ansible's serial list; absent: the sliding window of maxUnavailable. */
  readonly batches?: readonly BatchSize[];
  /** How long to wait after each batch is healthy, before its gates and the next batch; 0: none. */
  readonly soakMs: number;
  /** Metric gates checked after each batch's soak. */
  readonly gates: readonly MetricGate[];
  /** Where its roll waits for `ferry approve`. */
  readonly approve?: ApprovePoint;
}

/** A metric gate (DESIGN.md "Gates"), durations in milliseconds; its query is a template. */
export interface MetricGate {
  readonly name: string;
  readonly prometheus: {
    readonly url: string;
    readonly query: string;
    /** A measurement passes when its value is `below` or `above` the threshold. */
    readonly bound: "below" | "above";
    readonly threshold: number;
  };
  readonly intervalMs: number;
  readonly count: number;
  readonly failureLimit: number;
  readonly inconclusive: "pause" | "fail" | "pass";
}

export type ApprovePoint = (typeof APPROVE_POINTS)[number];

/** Alertmanager asked before each hop and each component's roll (DESIGN.md "Gates"). */
export interface Alarms {
  readonly alertmanager: string;
  /** Alert names that never hold the run. */
  readonly ignore: readonly string[];
  readonly deadlineMs: number;
  readonly intervalMs: number;
}

export type { NotifyEvent };

/**
 * A webhook told of the run's events. `webhook` and header values are kept as written: their
 * `${env:NAME}` references are expanded only when a notification is sent.
 */
export interface NotifyReceiver {
  readonly webhook: string;
  readonly events: readonly NotifyEvent[];
  readonly headers: Readonly<Record<string, string>>;
}

export interface Cluster {
  readonly name: string;
  /** The file as given, and its text, kept with every run. */
  readonly file: string;
  readonly text: string;
  /** Absolute path of the catalog. */
  readonly catalog: string;
  /** As written: a postgres:// URL, `memory:`, or a SQLite path relative to `dir`. */
  readonly state: string;
  /** The folder of the cluster file, which relative paths in it start from. */
  readonly dir: string;
  readonly database?: string;
  readonly migrations: { readonly batch: number; readonly lockTimeoutMs: number };
  readonly version?: string;
  readonly onFailure: "rollback" | "pause";
  readonly vars: Readonly<Record<string, string>>;
  readonly hosts: readonly Host[];
  readonly components: readonly Component[];
  readonly preflight: readonly { readonly name: string; readonly run: string }[];
  readonly backup?: string;
  readonly pin?: string;
  readonly unpin?: string;
  readonly queue?: {
    readonly drain: string;
    readonly undrain: string;
    readonly empty?: string;
    readonly deadlineMs: number;
  };
  readonly hooks: {
    readonly before: Partial<Record<PhaseName, string>>;
    readonly after: Partial<Record<PhaseName, string>>;
  };
  /** The operator's own steps, once per hop, at the end of a phase. */
  readonly actions: readonly ClusterAction[];
  /** Absent: the default place (after the roll; just before start in an offline hop). */
  readonly pointOfNoReturn?: PointOfNoReturnPlace;
  readonly notify: readonly NotifyReceiver[];
  readonly alarms?: Alarms;
  /** The maintenance window steps start in; absent: any time. */
  readonly window?: Window;
}

/**
 * The folder ferry keeps its files in (backups, logs): beside a SQLite journal, else `.ferry/`
 * beside the cluster file.
 */
export function stateFolder(cluster: Cluster): string {
  const file = /^(postgres(ql)?:\/\/|memory:$|:memory:$)/i.test(cluster.state) ? undefined : cluster.state;
  return file ? dirname(resolve(cluster.dir, file)) : resolve(cluster.dir, ".ferry");
}

/** The hosts ferry reaches: all but those marked offline. */
export function onlineHosts(cluster: Cluster): Host[] {
  return cluster.hosts.filter((h) => !h.offline);
}

/** The names of the hosts marked offline: left out of every hop and observation, and reported. */
export function offlineHosts(cluster: Cluster): string[] {
  return cluster.hosts.filter((h) => h.offline).map((h) => h.name);
}

/** Reads and validates `cluster.yaml`; any problem is a UserError naming file, line and field. */
export function loadCluster(file: string): Cluster {
  return clusterFrom(readYamlFile(file, " (name another with -c)"));
}

/** Validates cluster-file text; `file` names it in errors and anchors its relative paths. */
export function parseCluster(file: string, text: string): Cluster {
  return clusterFrom(new YamlFile(file, text));
}

/**
 * The file's `version:` must be one of its catalog's releases: checked wherever both are read
 * (check, plan, apply, serve, db), and reported on the file's own line, since no flag gave it.
 */
export function checkVersionInCatalog(cluster: Cluster, catalog: Catalog): void {
  if (cluster.version === undefined) return;
  const found = lookupRelease(catalog, cluster.version);
  if ("problem" in found) {
    const yaml = new YamlFile(cluster.file, cluster.text);
    throw UserError.fromProblems([problemAt(yaml, ["version"], found.problem)]);
  }
}

function clusterFrom(yaml: YamlFile): Cluster {
  const { file, text } = yaml;
  const raw = yaml.data();
  const data = validateWith(yaml, ClusterSchema, raw);
  const problems = crossCheck(data, raw, yaml);
  if (problems.length > 0) throw UserError.fromProblems(problems);
  const dir = dirname(resolve(file));
  const stringVars = (vars: ClusterData["vars"]) =>
    Object.fromEntries(Object.entries(vars ?? {}).map(([k, v]) => [k, String(v)]));
  const ponr = pointOfNoReturnPlace(data);

  return {
    name: data.name,
    file,
    text,
    catalog: resolve(dir, data.catalog),
    state: data.state,
    dir,
    ...(data.database ? { database: data.database } : {}),
    migrations: { batch: data.migrations.batch, lockTimeoutMs: parseDuration(data.migrations.lockTimeout) },
    ...(data.version ? { version: data.version } : {}),
    onFailure: data.onFailure,
    vars: stringVars(data.vars),
    hosts: data.hosts.map((h) => ({
      name: h.name,
      address: h.address,
      driver: h.driver,
      offline: h.offline,
      ...(h.driver === "ssh" ? { ssh: sshSettings(h, dir) } : {}),
      vars: stringVars(h.vars),
    })),
    components: data.components.map((c) => ({
      name: c.name,
      hosts: c.hosts,
      order: c.order,
      maxUnavailable: c.maxUnavailable,
      groups: c.groups ?? {},
      timeoutMs: parseDuration(c.timeout),
      commands: {
        ...c.commands,
        stop: c.commands.stop ?? gracefulStop(c.pidFile as string, parseDuration(c.stopGrace)),
      },
      ...(c.health ? { health: health(c.health) } : {}),
      ...(c.drain ? { drain: drainSpec(c.drain) } : {}),
      ...(c.mode === "active-passive"
        ? { activePassive: { role: c.role as string, switchover: c.switchover as string } }
        : {}),
      vars: stringVars(c.vars),
      actions: hostActions(c.actions),
      ...(c.batches ? { batches: c.batches } : {}),
      soakMs: parseDuration(c.soak),
      gates: (c.gates ?? []).map(metricGate),
      ...(c.approve ? { approve: c.approve } : {}),
    })),
    preflight: data.preflight ?? [],
    ...(data.backup ? { backup: data.backup } : {}),
    ...(data.pin ? { pin: data.pin } : {}),
    ...(data.unpin ? { unpin: data.unpin } : {}),
    ...(data.queue
      ? {
          queue: {
            drain: data.queue.drain,
            undrain: data.queue.undrain,
            ...(data.queue.empty ? { empty: data.queue.empty } : {}),
            deadlineMs: parseDuration(data.queue.deadline),
          },
        }
      : {}),
    hooks: { before: data.hooks?.before ?? {}, after: data.hooks?.after ?? {} },
    actions: clusterActions(data.actions),
    ...(ponr ? { pointOfNoReturn: ponr } : {}),
    notify: (data.notify ?? []).map((n) => ({
      webhook: n.webhook,
      events: n.events ?? NOTIFY_EVENTS,
      headers: n.headers ?? {},
    })),
    ...(data.alarms
      ? {
          alarms: {
            alertmanager: data.alarms.alertmanager.replace(/\/+$/, ""),
            ignore: data.alarms.ignore,
            deadlineMs: parseDuration(data.alarms.deadline),
            intervalMs: parseDuration(data.alarms.interval),
          },
        }
      : {}),
    ...(data.window
      ? {
          window: {
            days: data.window.days ?? WINDOW_DAYS,
            start: data.window.start,
            end: data.window.end,
            timezone: data.window.timezone,
          },
        }
      : {}),
  };
}

function metricGate(g: GateData): MetricGate {
  const { url, query, below, above } = g.prometheus;
  return {
    name: g.name,
    prometheus: {
      url,
      query,
      ...(below !== undefined
        ? { bound: "below", threshold: below }
        : { bound: "above", threshold: above as number }),
    },
    intervalMs: parseDuration(g.interval),
    count: g.count,
    failureLimit: g.failureLimit,
    inconclusive: g.inconclusive,
  };
}

/** A host's SSH fields with their defaults; paths absolute (`~/` is the home folder of the user running ferry). */
function sshSettings(h: ClusterData["hosts"][number], dir: string): SshSettings {
  const path = (p: string) =>
    p === "~" || p.startsWith("~/") ? join(homedir(), p.slice(1)) : resolve(dir, p);
  return {
    user: h.user ?? userInfo().username,
    port: h.port ?? SSH_DEFAULTS.port,
    ...(h.identityFile ? { identityFile: path(h.identityFile) } : {}),
    ...(h.identityPassphraseEnv ? { identityPassphraseEnv: h.identityPassphraseEnv } : {}),
    knownHostsFile: path(h.knownHostsFile ?? "~/.ssh/known_hosts"),
    hostKeyPolicy: h.hostKeyPolicy ?? SSH_DEFAULTS.hostKeyPolicy,
    connectTimeoutMs: h.connectTimeout ? parseDuration(h.connectTimeout) : SSH_DEFAULTS.connectTimeoutMs,
    keepaliveIntervalMs: h.keepaliveInterval
      ? parseDuration(h.keepaliveInterval)
      : SSH_DEFAULTS.keepaliveIntervalMs,
    keepaliveCountMax: h.keepaliveCountMax ?? SSH_DEFAULTS.keepaliveCountMax,
  };
}

/**
 * Stops the process in `pidFile` the way Cinder's services expect: SIGTERM, so it finishes what it
 * has in hand; SIGKILL only once `graceMs` has passed. Each is said in the step's output. A shell
 * snippet, so that it runs wherever the host's driver runs commands.
 *
 * `kill -0` alone would count a zombie as running: a process that has exited but whose parent has
 * not reaped it yet (an init that reaps only now and then, a supervisor that never does). So a
 * process whose state in /proc (or `ps`, where there is no /proc) is Z counts as stopped.
 */
export function gracefulStop(pidFile: string, graceMs: number): string {
  const ticks = Math.max(1, Math.ceil(graceMs / 100));
  return [
    "alive() {",
    '  kill -0 "$1" 2>/dev/null || return 1',
    // The state letter follows the last ") " of /proc/PID/stat (the process name may hold one too).
    `  s=; if [ -r "/proc/$1/stat" ]; then { read -r s < "/proc/$1/stat"; } 2>/dev/null; s=\${s##*) }`,
    '  else s=$(ps -o stat= -p "$1" 2>/dev/null); fi',
    '  case "$s" in Z*) return 1 ;; esac',
    "}",
    `p=$(cat ${pidFile} 2>/dev/null) || { echo "no ${pidFile}: not running"; exit 0; }`,
    `alive "$p" || { echo "pid $p: not running"; exit 0; }`,
    `kill -TERM "$p"; echo "SIGTERM to pid $p"`,
    "i=0",
    `while alive "$p"; do`,
    `  if [ $i -ge ${ticks} ]; then kill -KILL "$p"; echo "pid $p still running after ${graceMs} ms: SIGKILL"; break; fi`,
    "  sleep 0.1; i=$((i+1))",
    "done",
    // After SIGKILL, wait for the process to be gone too (at most 2 s more), so the next step finds it so.
    `j=0; while alive "$p" && [ $j -lt 20 ]; do sleep 0.1; j=$((j+1)); done`,
    `[ $i -ge ${ticks} ] || echo "pid $p exited after $((i/10)).$((i%10)) s"`,
  ].join("\n");
}

function drainSpec(d: NonNullable<ClusterData["components"][number]["drain"]>): DrainSpec {
  if ("exec" in d) return { exec: d.exec, undrain: d.undrain };
  if ("http" in d)
    return {
      http: {
        url: d.http.url,
        undrainUrl: d.http.undrainUrl,
        method: d.http.method,
        timeoutMs: parseDuration(d.http.timeout),
      },
    };
  const { timeout, ...where } = d.haproxy;
  return { haproxy: { ...where, timeoutMs: parseDuration(timeout) } };
}

function health(h: HealthData): { check: HealthCheck; gate: HealthGate } {
  const check: HealthCheck = "http" in h ? { http: h.http } : "tcp" in h ? { tcp: h.tcp } : { exec: h.exec };
  return {
    check,
    gate: {
      timeoutMs: parseDuration(h.timeout),
      healthyForMs: parseDuration(h.healthyFor),
      deadlineMs: parseDuration(h.deadline),
      intervalMs: parseDuration(h.interval),
    },
  };
}

/** What the schema alone cannot see: names that must exist, be unique, and templates that must resolve. */
function crossCheck(data: ClusterData, raw: unknown, yaml: YamlFile): SourceProblem[] {
  const problems: SourceProblem[] = [];
  const at = (path: FieldPath, message: string) => problems.push(problemAt(yaml, path, message));

  const hosts = new Map<string, ClusterData["hosts"][number]>();
  data.hosts.forEach((h, i) => {
    if (hosts.has(h.name)) at(["hosts", i, "name"], `host ${h.name} is defined twice`);
    hosts.set(h.name, h);
    if (h.driver !== "ssh") {
      for (const field of SSH_FIELDS) {
        if (h[field] !== undefined)
          at(["hosts", i, field], `only for driver: ssh (host ${h.name} is ${h.driver})`);
      }
    }
  });
  const components = new Set<string>();
  data.components.forEach((c, i) => {
    if (components.has(c.name)) at(["components", i, "name"], `component ${c.name} is defined twice`);
    components.add(c.name);
    const listed = new Set<string>();
    c.hosts.forEach((h, k) => {
      if (!hosts.has(h))
        at(["components", i, "hosts", k], `no host named ${h} (hosts: ${sample([...hosts.keys()])})`);
      if (listed.has(h)) at(["components", i, "hosts", k], `host ${h} is listed twice`);
      listed.add(h);
    });
    for (const [label, members] of Object.entries(c.groups ?? {})) {
      members.forEach((h, k) => {
        if (!listed.has(h))
          at(["components", i, "groups", label, k], `${h} is not one of this component's hosts`);
      });
    }
  });
  // What the file itself says, before the schema's defaults: whether maxUnavailable was given.
  const given = raw as { components?: { maxUnavailable?: unknown }[] };
  data.components.forEach((c, i) => {
    gateProblems(c, i, given.components?.[i]?.maxUnavailable !== undefined, at);
  });
  data.components.forEach((c, i) => {
    if (c.health && parseDuration(c.health.healthyFor) >= parseDuration(c.health.deadline)) {
      at(
        ["components", i, "health", "healthyFor"],
        "must be shorter than the deadline, or no host could ever pass",
      );
    }
  });
  data.components.forEach((c, i) => {
    if (c.mode === "active-passive") {
      if (!c.role) at(["components", i, "role"], "missing; an active-passive component needs a role command");
      if (!c.switchover)
        at(
          ["components", i, "switchover"],
          "missing; an active-passive component needs a switchover command",
        );
      if (c.hosts.length < 2)
        at(["components", i, "hosts"], "an active-passive component needs a standby: at least two hosts");
    }
    if (!c.commands.stop && !c.pidFile)
      at(
        ["components", i, "commands", "stop"],
        "missing; give a stop command, or pidFile for ferry's graceful stop",
      );
  });
  const checks = new Set<string>();
  data.preflight?.forEach((p, i) => {
    if (checks.has(p.name)) at(["preflight", i, "name"], `check ${p.name} is defined twice`);
    checks.add(p.name);
  });

  data.notify?.forEach((n, i) => {
    notifyProblems(n, ["notify", i], at);
  });

  // Cluster-level commands run on this machine, once: they know the versions and the cluster's vars.
  const clusterVars = new Set(Object.keys(data.vars ?? {}));
  const clusterLevel: [FieldPath, string | undefined][] = [
    [["backup"], data.backup],
    [["pin"], data.pin],
    [["unpin"], data.unpin],
    [["queue", "drain"], data.queue?.drain],
    [["queue", "undrain"], data.queue?.undrain],
    [["queue", "empty"], data.queue?.empty],
    ...(data.preflight ?? []).map((p, i): [FieldPath, string] => [["preflight", i, "run"], p.run]),
    ...(["before", "after"] as const).flatMap((when) =>
      Object.entries(data.hooks?.[when] ?? {}).map(([phase, cmd]): [FieldPath, string] => [
        ["hooks", when, phase],
        cmd,
      ]),
    ),
  ];
  data.components.forEach((c, i) => {
    c.gates?.forEach((g, k) => {
      clusterLevel.push([["components", i, "gates", k, "prometheus", "query"], g.prometheus.query]);
    });
  });
  for (const [path, template] of clusterLevel) {
    if (template) checkTemplate(template, HOP_NAMES, [clusterVars], path, at);
  }

  // Component templates run per host: every var must resolve for every one of its hosts.
  data.components.forEach((c, i) => {
    const scopes = c.hosts
      .map((h) => hosts.get(h))
      .filter((h) => h !== undefined)
      .map((h) => new Set([...clusterVars, ...Object.keys(c.vars ?? {}), ...Object.keys(h.vars ?? {})]));
    const fields: [FieldPath, string][] = Object.entries(c.commands)
      .filter((e): e is [string, string] => e[1] !== undefined)
      .map(([k, v]) => [["components", i, "commands", k], v]);
    if (c.pidFile) fields.push([["components", i, "pidFile"], c.pidFile]);
    if (c.role) fields.push([["components", i, "role"], c.role]);
    if (c.switchover) fields.push([["components", i, "switchover"], c.switchover]);
    if (c.drain) {
      const [kind, values] =
        "exec" in c.drain
          ? ["", { exec: c.drain.exec, undrain: c.drain.undrain }]
          : "http" in c.drain
            ? ["http", { url: c.drain.http.url, undrainUrl: c.drain.http.undrainUrl }]
            : [
                "haproxy",
                {
                  socket: c.drain.haproxy.socket,
                  backend: c.drain.haproxy.backend,
                  server: c.drain.haproxy.server,
                },
              ];
      for (const [k, v] of Object.entries(values)) {
        fields.push([["components", i, "drain", ...(kind ? [kind] : []), k], v]);
      }
    }
    if (c.health) {
      const [kind, probe] =
        "http" in c.health
          ? ["http", c.health.http]
          : "tcp" in c.health
            ? ["tcp", c.health.tcp]
            : ["exec", c.health.exec];
      fields.push([["components", i, "health", kind], probe]);
    }
    for (const [path, template] of fields) {
      // Probes describe a member whatever the hop, so they cannot use the hop's versions.
      const probe =
        path[2] === "health" || path[2] === "drain" || path[2] === "role" || path[3] === "version";
      checkTemplate(template, probe ? MEMBER_NAMES : VALUE_NAMES, scopes, path, at);
    }
  });
  checkActions(data, at, checkTemplate);
  return problems;
}

/** Headers ferry sets itself on every notification. */
const OWN_HEADERS = [
  "content-type",
  "content-length",
  "host",
  "idempotency-key",
  "transfer-encoding",
  "connection",
];
/** Header names whose value is a secret: it must come from the environment, never the file. */
const SECRET_HEADER = /auth|token|secret|key|pass|signature|cookie|session|credential/i;

/**
 * A receiver's webhook and headers: every secret must be an `${env:NAME}` reference, since the file
 * is copied into the journal with each run (only URL passwords are masked there).
 */
function notifyProblems(
  n: NonNullable<ClusterData["notify"]>[number],
  path: FieldPath,
  at: (path: FieldPath, message: string) => void,
): void {
  const webhook = n.webhook;
  const referenceProblem = envReferenceProblem(webhook);
  if (referenceProblem) at([...path, "webhook"], referenceProblem);
  else if (envReferences(webhook).length === 0) {
    let url: URL | undefined;
    try {
      url = new URL(webhook);
    } catch {
      at([...path, "webhook"], `"${maskPassword(webhook)}" is not a URL; write http://… or https://…`);
    }
    if (url && url.protocol !== "http:" && url.protocol !== "https:")
      at([...path, "webhook"], `a webhook is an http:// or https:// URL, not ${url.protocol}`);
    else if (url && maskPassword(webhook) !== webhook)
      at(
        [...path, "webhook"],
        `holds a password or a token, which would be kept in the journal's copy of this file: take that part from the environment, e.g. https://hooks.example/ferry?token=\${env:HOOK_TOKEN}`,
      );
  } else if (!webhook.startsWith(`\${env:`) && !/^https?:\/\//i.test(webhook)) {
    at([...path, "webhook"], `a webhook is an http:// or https:// URL (or \${env:NAME} for all of it)`);
  }
  const seen = new Set<string>();
  n.events?.forEach((e, k) => {
    if (seen.has(e)) at([...path, "events", k], `${e} is listed twice`);
    seen.add(e);
  });
  for (const [name, value] of Object.entries(n.headers ?? {})) {
    const where = [...path, "headers", name];
    // RFC 9110's token: what node and every server take as a header's name.
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
      at(where, "a header name is letters, digits and -");
      continue;
    }
    if (OWN_HEADERS.includes(name.toLowerCase())) {
      at(where, `ferry sets ${name} itself`);
      continue;
    }
    if (/[\r\n\0]/.test(value)) {
      at(where, "a header value is one line");
      continue;
    }
    const problem = envReferenceProblem(value);
    if (problem) at(where, problem);
    else if (SECRET_HEADER.test(name) && envReferences(value).length === 0)
      at(
        where,
        `a secret must not be written in the file (it would be kept in the journal's copy of it): take it from the environment, e.g. "Bearer \${env:HOOK_TOKEN}"`,
      );
  }
}

const SSH_FIELDS = [
  "user",
  "port",
  "identityFile",
  "identityPassphraseEnv",
  "knownHostsFile",
  "hostKeyPolicy",
  "connectTimeout",
  "keepaliveInterval",
  "keepaliveCountMax",
] as const;

/** "a, b, c, … (10,000 in all)": a list short enough for a message. */
/** Batches, soak and gates of component `i`: what the schema alone cannot say. */
function gateProblems(
  c: ClusterData["components"][number],
  i: number,
  maxUnavailableGiven: boolean,
  at: (path: FieldPath, message: string) => void,
): void {
  if (c.batches && maxUnavailableGiven)
    at(
      ["components", i, "batches"],
      "give either batches or maxUnavailable, not both: batches roll each batch's hosts side by side, maxUnavailable is a sliding window",
    );
  if (c.batches && c.mode === "active-passive")
    at(
      ["components", i, "batches"],
      "an active-passive component rolls one host at a time around its switchover, so it takes no batches (soak and gates apply to it as one batch)",
    );
  const names = new Set<string>();
  c.gates?.forEach((g, k) => {
    if (names.has(g.name)) at(["components", i, "gates", k, "name"], `gate ${g.name} is defined twice`);
    names.add(g.name);
    const { below, above } = g.prometheus;
    if ((below === undefined) === (above === undefined))
      at(["components", i, "gates", k, "prometheus"], "give exactly one of below or above");
    if (g.failureLimit >= g.count)
      at(
        ["components", i, "gates", k, "failureLimit"],
        `must be less than count (${g.count}), or the gate could never fail`,
      );
  });
}

function sample(names: readonly string[]): string {
  return names.length <= 8 ? names.join(", ") : `${names.slice(0, 8).join(", ")}, … (${names.length} in all)`;
}

const MEMBER_NAMES = VALUE_NAMES.filter((n) => !(HOP_NAMES as readonly string[]).includes(n));

function checkTemplate(
  template: string,
  names: readonly string[],
  varScopes: readonly ReadonlySet<string>[],
  path: FieldPath,
  at: (path: FieldPath, message: string) => void,
): void {
  for (const p of placeholders(template)) {
    if (p.startsWith("vars.")) {
      const v = p.slice(5);
      if (varScopes.some((scope) => !scope.has(v))) {
        at(
          path,
          `{{${p}}} is not defined (define ${v} under vars, or in every host's or the component's vars)`,
        );
      }
    } else if (!names.includes(p)) {
      const known = [...names.map((n) => `{{${n}}}`), "{{vars.NAME}}"].join(", ");
      at(path, `unknown placeholder {{${p}}} here; known: ${known}`);
    }
  }
  if (/\{\{(?![^}]*\}\})/.test(template.replace(/\{\{\s*[A-Za-z_][A-Za-z0-9_.]*\s*\}\}/g, ""))) {
    at(path, "an unclosed or malformed {{ placeholder }}");
  }
}
