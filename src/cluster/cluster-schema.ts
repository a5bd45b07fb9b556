/**
 * The schema of `cluster.yaml`, the operator's description of the cluster (DESIGN.md). The loader
 * validates with it and `ferry schema cluster` prints it as JSON Schema. Checks that need the
 * whole file (does every component's host exist, is every template placeholder known) live in
 * load-cluster.ts.
 *
 * Written with zod/mini (zod-mini.ts says why): each call is the one zod's full API makes for the
 * method it stands for (`.optional()` is z.optional, `.min(1)` a minLength check, `.describe()`
 * describe), so the checks, the messages and the JSON Schema are those the full API gave.
 */
import { describe, z } from "../zod-mini.js";
import { HOST_ADDRESS_RULE, isHostAddress } from "./host-address.js";

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
/** A name of a host, component, group, cluster or fleet: what `what` says it is names. */
export const name = (what: string) =>
  z
    .string()
    .check(
      z.regex(NAME, `a ${what} name is letters, digits, "_", "." and "-", starting with a letter or digit`),
    );

/** The characters any version of either scheme is made of; the catalog says which are releases. */
const VERSION = /^[A-Za-z0-9][A-Za-z0-9.+-]*$/;

/** "500ms", "5s", "2m", "1h", or a number of seconds; zero only where `zero` allows it. */
const duration = (zero: boolean) =>
  describe(
    z.union([
      z.string().check(
        z.regex(/^\d+(\.\d+)?(ms|s|m|h)$/, "a duration is like 500ms, 5s, 2m or 1h"),
        z.refine((d) => zero || !/^0+(\.0+)?[a-z]+$/.test(d), "must be more than zero"),
      ),
      zero ? z.number().check(z.nonnegative()) : z.number().check(z.positive()),
    ]),
    'A duration: "500ms", "5s", "2m", "1h", or a number of seconds.',
  );

export const DurationSchema = duration(false);
/** A duration that may be zero (a soak that is off). */
export const DurationOrZeroSchema = duration(true);

const VarsSchema = describe(
  z.record(
    z.string().check(z.regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "a var name is letters, digits and _")),
    z.union([z.string(), z.number(), z.boolean()]),
  ),
  "Free values for templates: {{vars.NAME}}.",
);

const Command = z.string().check(z.minLength(1, "a command must not be empty"));

export const HostSchema = z.strictObject({
  name: name("host"),
  address: describe(
    z.string().check(z.refine(isHostAddress, HOST_ADDRESS_RULE)),
    "The host's address, for {{address}}, probes and SSH: a host name, or an IPv4 or IPv6 address.",
  ),
  driver: describe(
    z._default(z.enum(["local", "ssh"]), "local"),
    "Where its commands run. local: sh -c on this machine; ssh: sh -c on the host, over SSH.",
  ),
  user: describe(
    z.optional(
      z
        .string()
        .check(z.regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, "a user name is letters, digits, _, . and -")),
    ),
    "ssh: the user to log in as; default: the user running ferry.",
  ),
  port: describe(
    z.optional(z.number().check(z.int(), z.gte(1), z.lte(65535))),
    "ssh: the port of the host's sshd; default 22.",
  ),
  identityFile: describe(
    z.optional(z.string().check(z.minLength(1))),
    "ssh: the private key (relative to this file, or ~/…); default ~/.ssh/id_ed25519, then ~/.ssh/id_rsa. The SSH agent is used too when SSH_AUTH_SOCK is set.",
  ),
  identityPassphraseEnv: describe(
    z.optional(z.string().check(z.regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "the name of an environment variable"))),
    "ssh: the environment variable that holds the private key's passphrase (never the passphrase itself).",
  ),
  knownHostsFile: describe(
    z.optional(z.string().check(z.minLength(1))),
    "ssh: the known_hosts file to check host keys against; default ~/.ssh/known_hosts.",
  ),
  hostKeyPolicy: describe(
    z.optional(z.enum(["strict", "accept-new"])),
    "ssh: strict (default): the host key must be in knownHostsFile; accept-new: a host not yet listed has its key recorded on first contact. A changed key is refused either way.",
  ),
  connectTimeout: describe(
    z.optional(DurationSchema),
    "ssh: how long connecting and logging in may take; default 10s.",
  ),
  keepaliveInterval: describe(
    z.optional(DurationSchema),
    "ssh: how often an idle connection is checked; default 5s.",
  ),
  keepaliveCountMax: describe(
    z.optional(z.number().check(z.int(), z.positive())),
    "ssh: unanswered keepalives after which the connection counts as lost; default 3.",
  ),
  offline: describe(
    z._default(z.boolean(), false),
    "Out of the cluster for now (Ganeti's offline nodes): left out of every hop, and reported.",
  ),
  vars: z.optional(VarsSchema),
});

const GateFields = {
  timeout: describe(z._default(DurationSchema, "5s"), "How long one probe may take."),
  healthyFor: describe(z._default(duration(true), "0s"), "How long the probe must pass without a break."),
  deadline: describe(
    z._default(DurationSchema, "60s"),
    "How long to wait for a healthy host before the step fails.",
  ),
  interval: describe(z._default(DurationSchema, "500ms"), "Time between probes."),
};

export const HealthSchema = describe(
  z.union(
    [
      z.strictObject({
        http: describe(z.string().check(z.minLength(1)), "URL; 2xx is healthy."),
        ...GateFields,
      }),
      z.strictObject({
        tcp: describe(z.string().check(z.minLength(1)), '"host:port" that accepts a connection.'),
        ...GateFields,
      }),
      z.strictObject({ exec: describe(Command, "Command on the host; exit 0 is healthy."), ...GateFields }),
    ],
    {
      error: () =>
        "a health check is exactly one of http (a URL), tcp (host:port) or exec (a command), with optional timeout, healthyFor, deadline and interval",
    },
  ),
  "How ferry knows a member is up: http, tcp or exec, passing for healthyFor within deadline.",
);

export const DrainSchema = describe(
  z.union(
    [
      z.strictObject({
        exec: describe(Command, "Takes the host out of traffic, on the host."),
        undrain: describe(Command, "Puts it back."),
      }),
      z.strictObject({
        http: z.strictObject({
          url: describe(
            z.string().check(z.minLength(1)),
            "Answers 2xx once nothing is in flight to the host any more.",
          ),
          undrainUrl: describe(z.string().check(z.minLength(1)), "Puts the host back."),
          method: z._default(z.enum(["POST", "PUT", "GET"]), "POST"),
          timeout: describe(z._default(DurationSchema, "30s"), "How long the drain request may take."),
        }),
      }),
      z.strictObject({
        haproxy: z.strictObject({
          socket: describe(
            z.string().check(z.minLength(1)),
            "HAProxy's stats socket at admin level: a path, or host:port.",
          ),
          backend: z.string().check(z.minLength(1)),
          server: describe(
            z.string().check(z.minLength(1)),
            "The server's name in the backend, e.g. {{host}}.",
          ),
          timeout: describe(
            z._default(DurationSchema, "60s"),
            "How long to wait for its sessions to reach zero.",
          ),
        }),
      }),
    ],
    {
      error: () =>
        "a drain is exactly one of exec (with undrain), http (url, undrainUrl) or haproxy (socket, backend, server)",
    },
  ),
  "Traffic drain around a host's restart: exec, http (a load balancer's admin API) or haproxy.",
);

export const CommandsSchema = z.strictObject({
  version: describe(Command, "Prints the version running on the host."),
  install: describe(Command, "Makes {{version}} present beside the others; must be idempotent."),
  stop: describe(
    z.optional(Command),
    "Stops it; leave it out to let ferry stop the process in `pidFile` gracefully.",
  ),
  activate: describe(Command, "Switches the host to {{version}}, e.g. a symlink."),
  start: Command,
  check: describe(
    z.optional(Command),
    "Preflight, on every online host at once: exits 0 when {{version}} can be installed there (Ganeti's check).",
  ),
});

/** The points of a host's roll where a component's own actions run (DESIGN.md "Your own steps"). */
export const HOST_POINTS = [
  "before-drain",
  "after-stop",
  "after-install",
  "after-activate",
  "after-start",
  "after-healthy",
  "after-unpin",
] as const;

/** What every action has, wherever it runs. */
const ActionFields = {
  name: name("action"),
  run: describe(Command, "The action: a shell command, with the same templates as the component's commands."),
  check: describe(
    z.optional(Command),
    "Exits 0 when the action's effect is already there: a resumed run skips the action, a rollback that cannot undo it asks it whether there is anything to undo.",
  ),
  undo: describe(
    z.optional(Command),
    "Reverses it, with the way back's values ({{version}} is the hop's from). Without undo the action cannot be undone: a rollback that needs it stops and names it. `undo: \"true\"` says there is nothing to reverse.",
  ),
  when: describe(
    z._default(z.enum(["upgrade", "downgrade", "always"]), "upgrade"),
    "Which hops plan it: upgrade (every hop to a newer release), downgrade, or always.",
  ),
  timeout: describe(
    z.optional(DurationSchema),
    "How long it may run; default the component's timeout, or 10m on this machine.",
  ),
};

export const HostActionSchema = describe(
  z.strictObject({
    ...ActionFields,
    at: describe(
      z.enum(HOST_POINTS),
      "The point of each host's roll: before-drain, after-stop, after-install, after-activate, after-start (before the health gate), after-healthy (before undrain), after-unpin (once the hop is unpinned).",
    ),
  }),
  "An action of your own on every host of the component, at a point of its roll.",
);

/** A batch size as Ansible's `serial` reads it: a number of hosts, or a percentage of the component's. */
export const BatchSizeSchema = z.union([
  z.number().check(z.int(), z.positive()),
  z.string().check(
    z.regex(/^\d+(\.\d+)?%$/, 'a batch size is a number of hosts or a percentage like "25%"'),
    z.refine((p) => {
      const n = Number.parseFloat(p);
      return n > 0 && n <= 100;
    }, "a percentage is more than 0% and at most 100%"),
  ),
]);

export const GATE_INCONCLUSIVE = ["pause", "fail", "pass"] as const;

export const GateSchema = describe(
  z.strictObject({
    name: name("gate"),
    prometheus: describe(
      z.strictObject({
        url: describe(z.string().check(z.url()), "The Prometheus server, e.g. http://127.0.0.1:9090."),
        query: describe(
          z.string().check(z.minLength(1, "a query must not be empty")),
          "A PromQL instant query giving one value; {{version}}, {{from}} and {{vars.NAME}} are filled in.",
        ),
        below: describe(z.optional(z.number()), "The measurement passes when the value is below this."),
        above: describe(z.optional(z.number()), "The measurement passes when the value is above this."),
      }),
      "A Prometheus instant query and the bound its value must keep: exactly one of below or above.",
    ),
    interval: describe(z._default(DurationSchema, "10s"), "Time between measurements."),
    count: describe(
      z._default(z.number().check(z.int(), z.positive()), 3),
      "How many measurements are taken.",
    ),
    failureLimit: describe(
      z._default(z.number().check(z.int(), z.nonnegative()), 0),
      "How many failed measurements are allowed; one more fails the gate.",
    ),
    inconclusive: describe(
      z._default(z.enum(GATE_INCONCLUSIVE), "pause"),
      "A measurement with no data or NaN: pause (the run stops as `ferry pause` stops it: exit 130, resumable), fail (counts as a failed measurement) or pass (counts as a passed one).",
    ),
  }),
  "A metric gate, checked after each batch of the component once it is healthy and has soaked.",
);
/** Where a component's roll waits for an approval (DESIGN.md "Gates"). */
export const APPROVE_POINTS = ["before", "after-first-batch", "between-batches"] as const;

export const ComponentSchema = z.strictObject({
  name: name("component"),
  hosts: z.array(z.string()).check(z.minLength(1, "a component runs on at least one host")),
  order: describe(
    z._default(z.number().check(z.int()), 1),
    "Lower orders roll first; equal orders roll side by side.",
  ),
  maxUnavailable: describe(
    z._default(z.number().check(z.int(), z.positive()), 1),
    "At most this many of its hosts out of service at once.",
  ),
  timeout: describe(z._default(DurationSchema, "5m"), "The longest any one of its commands may run."),
  mode: describe(
    z._default(z.enum(["rolling", "active-passive"]), "rolling"),
    "active-passive: one host serves, the others stand by; the standbys go first, then a switchover, then the former active one.",
  ),
  role: describe(z.optional(Command), "active-passive: prints `active` or `standby` for the host."),
  switchover: describe(z.optional(Command), "active-passive: makes {{host}} the active one."),
  pidFile: describe(
    z.optional(z.string().check(z.minLength(1))),
    "Where its process id is: ferry then stops it gracefully, SIGTERM, up to stopGrace, then SIGKILL.",
  ),
  stopGrace: describe(
    z._default(DurationSchema, "10s"),
    "How long a process may take to exit after SIGTERM.",
  ),
  groups: describe(
    z.optional(
      z.record(
        name("group"),
        z.array(z.string()).check(z.minLength(2, "a group names at least two of the component's hosts")),
      ),
    ),
    "Redundancy groups (storage replicas): a label's hosts are never out of service at once, also across components that use the same label.",
  ),
  batches: describe(
    z.optional(z.array(BatchSizeSchema).check(z.minLength(1, "give at least one batch size"))),
    'Instead of maxUnavailable: batch sizes as Ansible\'s serial list, e.g. [1, "25%", "100%"]; the last repeats until every host is done; a percentage is of the component\'s hosts, rounded up, at least 1. A batch\'s hosts roll side by side.',
  ),
  soak: describe(
    z._default(duration(true), "0s"),
    "After each batch is healthy, wait this long before its gates and the next batch.",
  ),
  gates: describe(
    z.optional(z.array(GateSchema)),
    "Metric gates checked after each batch's soak (no batches: the component is one batch).",
  ),
  commands: CommandsSchema,
  health: z.optional(HealthSchema),
  drain: z.optional(DrainSchema),
  vars: z.optional(VarsSchema),
  actions: describe(
    z.optional(z.array(HostActionSchema)),
    "Your own steps, on every host of it, at points of its roll.",
  ),
  approve: describe(
    z.optional(z.enum(APPROVE_POINTS)),
    "The run waits for `ferry approve` (or the API, or the dashboard): before its roll, after its first batch, or between its batches. Without batches the component is one batch: after-first-batch and between-batches wait once, when its roll is done.",
  ),
});

/** The events a run sends to its `notify` receivers (DESIGN.md "Gates"). */
export const NOTIFY_EVENTS = [
  "started",
  "awaiting-approval",
  "paused",
  "failed",
  "rolled-back",
  "done",
] as const;

export const NotifySchema = describe(
  z.strictObject({
    webhook: describe(
      z.string().check(z.minLength(1)),
      `The http(s) URL each event is POSTed to as JSON. \${env:NAME} takes all or part of it from ferry's environment when sending: a URL that is itself a secret (Slack's incoming webhooks) belongs there.`,
    ),
    events: describe(
      z.optional(
        z
          .array(z.enum(NOTIFY_EVENTS))
          .check(z.minLength(1, "name at least one event, or leave events out for all of them")),
      ),
      `The events this receiver gets; default all: ${NOTIFY_EVENTS.join(", ")}.`,
    ),
    headers: describe(
      z.optional(z.record(z.string(), z.string())),
      `Extra HTTP headers. A secret (Authorization, a token, a key) must come from the environment: "Bearer \${env:HOOK_TOKEN}"; it is read when sending, never kept.`,
    ),
  }),
  "A webhook that gets the run's events: a JSON body, Slack-compatible text, an Idempotency-Key.",
);

export const PHASES = [
  "preflight",
  "backup",
  "expand",
  "pin",
  "roll",
  "activate",
  "contract",
  "data",
  "verify",
  "drain",
  "stop",
  "install",
  "start",
  "undrain",
] as const;
const HookMap = z.partialRecord(z.enum(PHASES), Command);

/** `first`, `last` and `active` are words, not host names: they are resolved in each hop's roll order. */
export const ACTION_HOSTS = ["active", "first", "last", "all"] as const;

export const ClusterActionSchema = describe(
  z.strictObject({
    ...ActionFields,
    run: z.optional(ActionFields.run),
    approve: describe(
      z.optional(z.string().check(z.minLength(1, "say what the approver is asked"))),
      "Instead of run: the hop waits here for `ferry approve`, showing this text (an approval point at the end of the phase); `ferry reject` rolls it back.",
    ),
    at: describe(
      z.enum(PHASES),
      "The phase of the hop at whose end it runs; a phase the hop does not have maps to its counterpart (README).",
    ),
    on: describe(
      z.optional(
        z.strictObject({
          component: name("component"),
          host: describe(
            z._default(z.string().check(z.minLength(1)), "first"),
            "active | first | last (in the hop's roll order) | all (every host, in the component's window) | a host's name; default first.",
          ),
        }),
      ),
      "Where it runs: a host of a component, through that host's driver; absent, this machine.",
    ),
  }),
  "An action of your own, once per hop, at the end of a phase.",
);

export const AlarmsSchema = describe(
  z.strictObject({
    alertmanager: describe(
      z.string().check(z.regex(/^https?:\/\/[^\s]+$/, "an http:// or https:// URL of Alertmanager")),
      "Alertmanager's URL; ferry asks its v2 API for the alerts that fire.",
    ),
    ignore: describe(
      z._default(z.array(z.string().check(z.minLength(1))), []),
      "Alert names (alertname) that never hold the run, such as Watchdog.",
    ),
    deadline: describe(
      z._default(DurationSchema, "30m"),
      "How long an alert may hold the run before it fails (before the point of no return: rolls back).",
    ),
    interval: describe(
      z._default(DurationSchema, "10s"),
      "How often Alertmanager is asked while an alert holds the run.",
    ),
  }),
  "No firing alert (unsilenced, not inhibited, not ignored) at the preflight of every hop and before every component's roll: one that fires holds the run until it clears.",
);

/** Days of a maintenance window, as `days:` names them. */
export const WINDOW_DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] as const;

const TIME_OF_DAY = /^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$/;

export const WindowSchema = describe(
  z.strictObject({
    days: describe(
      z.optional(
        z
          .array(z.enum(WINDOW_DAYS))
          .check(z.minLength(1, "name at least one day, or leave days out for every day")),
      ),
      "The days a window opens on (a window that ends the next day belongs to the day it opens); default every day.",
    ),
    start: describe(
      z.string().check(z.regex(TIME_OF_DAY, 'a time of day is "HH:MM" or "HH:MM:SS", 00:00 to 23:59:59')),
      "When it opens, local time.",
    ),
    end: describe(
      z.string().check(z.regex(TIME_OF_DAY, 'a time of day is "HH:MM" or "HH:MM:SS", 00:00 to 23:59:59')),
      "When it closes, local time; at or before start: the next day.",
    ),
    timezone: describe(
      z._default(
        z
          .string()
          .check(
            z.refine(
              isTimeZone,
              "not a time zone this platform knows (an IANA name such as Europe/Berlin, or UTC)",
            ),
          ),
        "UTC",
      ),
      "The IANA time zone start and end are in (Europe/Berlin); default UTC. Daylight-saving changes are followed.",
    ),
  }),
  "A maintenance window: no step starts outside it; a run that reaches its end waits at the next step until it opens again.",
);

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

export const PointOfNoReturnSchema = describe(
  z.strictObject({
    before: z.union(
      [
        z.strictObject({
          action: describe(
            z.union([
              name("action"),
              z.array(name("action")).check(z.minLength(1, "name at least one action")),
            ]),
            "A cluster action (top-level actions:), or a list of them: before the first of them the hop plans (Ganeti: cfgupgrade, or cfgupgrade --downgrade in a downgrade hop).",
          ),
        }),
        z.strictObject({
          component: name("component"),
          host: describe(
            z.string().check(z.minLength(1)),
            "first | last (in the hop's roll order) | a host's name: before that host's roll.",
          ),
        }),
      ],
      {
        error: () =>
          "before is exactly one of { action: NAME }, { action: [NAME, …] } or { component: NAME, host: first | last | HOST }",
      },
    ),
  }),
  "Where a hop stops being undoable; default after the roll (rolling hops), just before start (offline hops).",
);

export const ClusterSchema = describe(
  z.strictObject({
    name: name("cluster"),
    catalog: describe(z.string().check(z.minLength(1)), "The release catalog, relative to this file."),
    state: describe(
      z._default(z.string(), ".ferry/state.db"),
      "The journal: a SQLite file relative to this file, or a postgres:// URL.",
    ),
    database: describe(
      z.optional(
        z
          .string()
          .check(
            z.regex(
              /^(postgres(ql)?|mysql|mariadb):\/\/|^sqlite:/i,
              "a postgres://, mysql:// or sqlite: URL",
            ),
          ),
      ),
      "The product's own database, for migrations: postgres://…, mysql://… or sqlite:PATH (relative to this file).",
    ),
    migrations: describe(
      z.prefault(
        z.strictObject({
          batch: describe(
            z._default(z.number().check(z.int(), z.positive()), 1000),
            "Rows a data migration changes at once ({{batch}}).",
          ),
          lockTimeout: describe(
            z._default(DurationSchema, "500ms"),
            "How long a migration statement may wait for a lock before it gives up and tries again later.",
          ),
        }),
        {},
      ),
      "How migrations run.",
    ),
    version: describe(
      z.optional(
        z
          .string()
          .check(z.regex(VERSION, "a version is letters, digits, '.', '-' and '+', like 1.2.0 or 24.03.1")),
      ),
      "The desired version, a release in the catalog: `ferry apply` and `ferry plan` without --to go to it.",
    ),
    onFailure: describe(
      z._default(z.enum(["rollback", "pause"]), "rollback"),
      "A failed step before the point of no return: undo what was done, or stop for `ferry resume`.",
    ),
    vars: z.optional(VarsSchema),
    hosts: z.array(HostSchema).check(z.minLength(1, "a cluster has at least one host")),
    components: z.array(ComponentSchema).check(z.minLength(1, "a cluster has at least one component")),
    preflight: describe(
      z.optional(z.array(z.strictObject({ name: name("check"), run: Command }))),
      "Your own checks before each hop (alarms, licence); exit 0 passes. Run on this machine.",
    ),
    backup: describe(z.optional(Command), "Backs up what the product needs, before each hop's changes."),
    pin: describe(
      z.optional(Command),
      "Compatibility mode on: keep speaking {{from}}'s protocol while versions are mixed.",
    ),
    unpin: describe(z.optional(Command), "Compatibility mode off, once every member runs {{version}}."),
    queue: describe(
      z.optional(
        z.strictObject({
          drain: describe(Command, "Stops the job queue taking new work."),
          undrain: Command,
          empty: describe(
            z.optional(Command),
            "Exits 0 once no job is left running (Ganeti waits for its queue).",
          ),
          deadline: describe(z._default(DurationSchema, "5m"), "How long to wait for the queue to empty."),
        }),
      ),
      "Job queue drain and undrain around an offline hop.",
    ),
    hooks: describe(
      z.optional(z.strictObject({ before: z.optional(HookMap), after: z.optional(HookMap) })),
      "Commands before and after a phase, by phase name; run on this machine.",
    ),
    actions: describe(
      z.optional(z.array(ClusterActionSchema)),
      "Your own steps, once per hop, at the end of a phase, on this machine or on a host you choose.",
    ),
    pointOfNoReturn: z.optional(PointOfNoReturnSchema),
    notify: describe(
      z.optional(z.array(NotifySchema)),
      "Webhooks told of each run's events, through an outbox in the journal: at least once each, retried with backoff, never holding up the run.",
    ),
    alarms: z.optional(AlarmsSchema),
    window: z.optional(WindowSchema),
  }),
  "ferry cluster file (cluster.yaml): the hosts, the components on them, and how to upgrade them.",
);

export type ClusterInput = z.input<typeof ClusterSchema>;
export type ClusterData = z.output<typeof ClusterSchema>;
export type ComponentData = ClusterData["components"][number];
export type HostData = ClusterData["hosts"][number];
export type HealthData = z.output<typeof HealthSchema>;
export type PhaseName = (typeof PHASES)[number];
export type HostPoint = (typeof HOST_POINTS)[number];
export type NotifyEvent = (typeof NOTIFY_EVENTS)[number];
export type BatchSize = z.output<typeof BatchSizeSchema>;
export type GateData = z.output<typeof GateSchema>;
