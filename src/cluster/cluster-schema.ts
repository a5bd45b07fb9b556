/**
 * The schema of `cluster.yaml`, the operator's description of the cluster (DESIGN.md). The loader
 * validates with it and `ferry schema cluster` prints it as JSON Schema. Checks that need the
 * whole file (does every component's host exist, is every template placeholder known) live in
 * load-cluster.ts.
 */
import { z } from "zod";
import { HOST_ADDRESS_RULE, isHostAddress } from "./host-address.js";

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const name = (what: string) =>
  z
    .string()
    .regex(NAME, `a ${what} name is letters, digits, "_", "." and "-", starting with a letter or digit`);

/** The characters any version of either scheme is made of; the catalog says which are releases. */
const VERSION = /^[A-Za-z0-9][A-Za-z0-9.+-]*$/;

/** "500ms", "5s", "2m", "1h", or a number of seconds; zero only where `zero` allows it. */
const duration = (zero: boolean) =>
  z
    .union([
      z
        .string()
        .regex(/^\d+(\.\d+)?(ms|s|m|h)$/, "a duration is like 500ms, 5s, 2m or 1h")
        .refine((d) => zero || !/^0+(\.0+)?[a-z]+$/.test(d), "must be more than zero"),
      zero ? z.number().nonnegative() : z.number().positive(),
    ])
    .describe('A duration: "500ms", "5s", "2m", "1h", or a number of seconds.');

export const DurationSchema = duration(false);
/** A duration that may be zero (a soak that is off). */
export const DurationOrZeroSchema = duration(true);

const VarsSchema = z
  .record(
    z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "a var name is letters, digits and _"),
    z.union([z.string(), z.number(), z.boolean()]),
  )
  .describe("Free values for templates: {{vars.NAME}}.");

const Command = z.string().min(1, "a command must not be empty");

export const HostSchema = z.strictObject({
  name: name("host"),
  address: z
    .string()
    .refine(isHostAddress, HOST_ADDRESS_RULE)
    .describe(
      "The host's address, for {{address}}, probes and SSH: a host name, or an IPv4 or IPv6 address.",
    ),
  driver: z
    .enum(["local", "ssh"])
    .default("local")
    .describe("Where its commands run. local: sh -c on this machine; ssh: sh -c on the host, over SSH."),
  user: z
    .string()
    .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, "a user name is letters, digits, _, . and -")
    .optional()
    .describe("ssh: the user to log in as; default: the user running ferry."),
  port: z
    .number()
    .int()
    .min(1)
    .max(65535)
    .optional()
    .describe("ssh: the port of the host's sshd; default 22."),
  identityFile: z
    .string()
    .min(1)
    .optional()
    .describe(
      "ssh: the private key (relative to this file, or ~/…); default ~/.ssh/id_ed25519, then ~/.ssh/id_rsa. The SSH agent is used too when SSH_AUTH_SOCK is set.",
    ),
  identityPassphraseEnv: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "the name of an environment variable")
    .optional()
    .describe(
      "ssh: the environment variable that holds the private key's passphrase (never the passphrase itself).",
    ),
  knownHostsFile: z
    .string()
    .min(1)
    .optional()
    .describe("ssh: the known_hosts file to check host keys against; default ~/.ssh/known_hosts."),
  hostKeyPolicy: z
    .enum(["strict", "accept-new"])
    .optional()
    .describe(
      "ssh: strict (default): the host key must be in knownHostsFile; accept-new: a host not yet listed has its key recorded on first contact. A changed key is refused either way.",
    ),
  connectTimeout: DurationSchema.optional().describe(
    "ssh: how long connecting and logging in may take; default 10s.",
  ),
  keepaliveInterval: DurationSchema.optional().describe(
    "ssh: how often an idle connection is checked; default 5s.",
  ),
  keepaliveCountMax: z
    .number()
    .int()
    .positive()
    .optional()
    .describe("ssh: unanswered keepalives after which the connection counts as lost; default 3."),
  offline: z
    .boolean()
    .default(false)
    .describe("Out of the cluster for now (Ganeti's offline nodes): left out of every hop, and reported."),
  vars: VarsSchema.optional(),
});

const GateFields = {
  timeout: DurationSchema.default("5s").describe("How long one probe may take."),
  healthyFor: duration(true).default("0s").describe("How long the probe must pass without a break."),
  deadline: DurationSchema.default("60s").describe(
    "How long to wait for a healthy host before the step fails.",
  ),
  interval: DurationSchema.default("500ms").describe("Time between probes."),
};

export const HealthSchema = z
  .union(
    [
      z.strictObject({ http: z.string().min(1).describe("URL; 2xx is healthy."), ...GateFields }),
      z.strictObject({
        tcp: z.string().min(1).describe('"host:port" that accepts a connection.'),
        ...GateFields,
      }),
      z.strictObject({ exec: Command.describe("Command on the host; exit 0 is healthy."), ...GateFields }),
    ],
    {
      error: () =>
        "a health check is exactly one of http (a URL), tcp (host:port) or exec (a command), with optional timeout, healthyFor, deadline and interval",
    },
  )
  .describe("How ferry knows a member is up: http, tcp or exec, passing for healthyFor within deadline.");

export const DrainSchema = z
  .union(
    [
      z.strictObject({
        exec: Command.describe("Takes the host out of traffic, on the host."),
        undrain: Command.describe("Puts it back."),
      }),
      z.strictObject({
        http: z.strictObject({
          url: z.string().min(1).describe("Answers 2xx once nothing is in flight to the host any more."),
          undrainUrl: z.string().min(1).describe("Puts the host back."),
          method: z.enum(["POST", "PUT", "GET"]).default("POST"),
          timeout: DurationSchema.default("30s").describe("How long the drain request may take."),
        }),
      }),
      z.strictObject({
        haproxy: z.strictObject({
          socket: z.string().min(1).describe("HAProxy's stats socket at admin level: a path, or host:port."),
          backend: z.string().min(1),
          server: z.string().min(1).describe("The server's name in the backend, e.g. {{host}}."),
          timeout: DurationSchema.default("60s").describe("How long to wait for its sessions to reach zero."),
        }),
      }),
    ],
    {
      error: () =>
        "a drain is exactly one of exec (with undrain), http (url, undrainUrl) or haproxy (socket, backend, server)",
    },
  )
  .describe("Traffic drain around a host's restart: exec, http (a load balancer's admin API) or haproxy.");

export const CommandsSchema = z.strictObject({
  version: Command.describe("Prints the version running on the host."),
  install: Command.describe("Makes {{version}} present beside the others; must be idempotent."),
  stop: Command.optional().describe(
    "Stops it; leave it out to let ferry stop the process in `pidFile` gracefully.",
  ),
  activate: Command.describe("Switches the host to {{version}}, e.g. a symlink."),
  start: Command,
  check: Command.optional().describe(
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
  run: Command.describe("The action: a shell command, with the same templates as the component's commands."),
  check: Command.optional().describe(
    "Exits 0 when the action's effect is already there: a resumed run skips the action, a rollback that cannot undo it asks it whether there is anything to undo.",
  ),
  undo: Command.optional().describe(
    "Reverses it, with the way back's values ({{version}} is the hop's from). Without undo the action cannot be undone: a rollback that needs it stops and names it. `undo: \"true\"` says there is nothing to reverse.",
  ),
  when: z
    .enum(["upgrade", "downgrade", "always"])
    .default("upgrade")
    .describe("Which hops plan it: upgrade (every hop to a newer release), downgrade, or always."),
  timeout: DurationSchema.optional().describe(
    "How long it may run; default the component's timeout, or 10m on this machine.",
  ),
};

export const HostActionSchema = z
  .strictObject({
    ...ActionFields,
    at: z
      .enum(HOST_POINTS)
      .describe(
        "The point of each host's roll: before-drain, after-stop, after-install, after-activate, after-start (before the health gate), after-healthy (before undrain), after-unpin (once the hop is unpinned).",
      ),
  })
  .describe("An action of your own on every host of the component, at a point of its roll.");

/** A batch size as Ansible's `serial` reads it: a number of hosts, or a percentage of the component's. */
export const BatchSizeSchema = z.union([
  z.number().int().positive(),
  z
    .string()
    .regex(/^\d+(\.\d+)?%$/, 'a batch size is a number of hosts or a percentage like "25%"')
    .refine((p) => {
      const n = Number.parseFloat(p);
      return n > 0 && n <= 100;
    }, "a percentage is more than 0% and at most 100%"),
]);

export const GATE_INCONCLUSIVE = ["pause", "fail", "pass"] as const;

export const GateSchema = z
  .strictObject({
    name: name("gate"),
    prometheus: z
      .strictObject({
        url: z.string().url().describe("The Prometheus server, e.g. http://127.0.0.1:9090."),
        query: z
          .string()
          .min(1, "a query must not be empty")
          .describe(
            "A PromQL instant query giving one value; {{version}}, {{from}} and {{vars.NAME}} are filled in.",
          ),
        below: z.number().optional().describe("The measurement passes when the value is below this."),
        above: z.number().optional().describe("The measurement passes when the value is above this."),
      })
      .describe(
        "A Prometheus instant query and the bound its value must keep: exactly one of below or above.",
      ),
    interval: DurationSchema.default("10s").describe("Time between measurements."),
    count: z.number().int().positive().default(3).describe("How many measurements are taken."),
    failureLimit: z
      .number()
      .int()
      .nonnegative()
      .default(0)
      .describe("How many failed measurements are allowed; one more fails the gate."),
    inconclusive: z
      .enum(GATE_INCONCLUSIVE)
      .default("pause")
      .describe(
        "A measurement with no data or NaN: pause (the run stops as `ferry pause` stops it: exit 130, resumable), fail (counts as a failed measurement) or pass (counts as a passed one).",
      ),
  })
  .describe("A metric gate, checked after each batch of the component once it is healthy and has soaked.");
/** Where a component's roll waits for an approval (DESIGN.md "Gates"). */
export const APPROVE_POINTS = ["before", "after-first-batch", "between-batches"] as const;

export const ComponentSchema = z.strictObject({
  name: name("component"),
  hosts: z.array(z.string()).min(1, "a component runs on at least one host"),
  order: z.number().int().default(1).describe("Lower orders roll first; equal orders roll side by side."),
  maxUnavailable: z
    .number()
    .int()
    .positive()
    .default(1)
    .describe("At most this many of its hosts out of service at once."),
  timeout: DurationSchema.default("5m").describe("The longest any one of its commands may run."),
  mode: z
    .enum(["rolling", "active-passive"])
    .default("rolling")
    .describe(
      "active-passive: one host serves, the others stand by; the standbys go first, then a switchover, then the former active one.",
    ),
  role: Command.optional().describe("active-passive: prints `active` or `standby` for the host."),
  switchover: Command.optional().describe("active-passive: makes {{host}} the active one."),
  pidFile: z
    .string()
    .min(1)
    .optional()
    .describe(
      "Where its process id is: ferry then stops it gracefully, SIGTERM, up to stopGrace, then SIGKILL.",
    ),
  stopGrace: DurationSchema.default("10s").describe("How long a process may take to exit after SIGTERM."),
  groups: z
    .record(name("group"), z.array(z.string()).min(2, "a group names at least two of the component's hosts"))
    .optional()
    .describe(
      "Redundancy groups (storage replicas): a label's hosts are never out of service at once, also across components that use the same label.",
    ),
  batches: z
    .array(BatchSizeSchema)
    .min(1, "give at least one batch size")
    .optional()
    .describe(
      'Instead of maxUnavailable: batch sizes as Ansible\'s serial list, e.g. [1, "25%", "100%"]; the last repeats until every host is done; a percentage is of the component\'s hosts, rounded up, at least 1. A batch\'s hosts roll side by side.',
    ),
  soak: duration(true)
    .default("0s")
    .describe("After each batch is healthy, wait this long before its gates and the next batch."),
  gates: z
    .array(GateSchema)
    .optional()
    .describe("Metric gates checked after each batch's soak (no batches: the component is one batch)."),
  commands: CommandsSchema,
  health: HealthSchema.optional(),
  drain: DrainSchema.optional(),
  vars: VarsSchema.optional(),
  actions: z
    .array(HostActionSchema)
    .optional()
    .describe("Your own steps, on every host of it, at points of its roll."),
  approve: z
    .enum(APPROVE_POINTS)
    .optional()
    .describe(
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

export const NotifySchema = z
  .strictObject({
    webhook: z
      .string()
      .min(1)
      .describe(
        `The http(s) URL each event is POSTed to as JSON. \${env:NAME} takes all or part of it from ferry's environment when sending: a URL that is itself a secret (Slack's incoming webhooks) belongs there.`,
      ),
    events: z
      .array(z.enum(NOTIFY_EVENTS))
      .min(1, "name at least one event, or leave events out for all of them")
      .optional()
      .describe(`The events this receiver gets; default all: ${NOTIFY_EVENTS.join(", ")}.`),
    headers: z
      .record(z.string(), z.string())
      .optional()
      .describe(
        `Extra HTTP headers. A secret (Authorization, a token, a key) must come from the environment: "Bearer \${env:HOOK_TOKEN}"; it is read when sending, never kept.`,
      ),
  })
  .describe("A webhook that gets the run's events: a JSON body, Slack-compatible text, an Idempotency-Key.");

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

export const ClusterActionSchema = z
  .strictObject({
    ...ActionFields,
    run: ActionFields.run.optional(),
    approve: z
      .string()
      .min(1, "say what the approver is asked")
      .optional()
      .describe(
        "Instead of run: the hop waits here for `ferry approve`, showing this text (an approval point at the end of the phase); `ferry reject` rolls it back.",
      ),
    at: z
      .enum(PHASES)
      .describe(
        "The phase of the hop at whose end it runs; a phase the hop does not have maps to its counterpart (README).",
      ),
    on: z
      .strictObject({
        component: name("component"),
        host: z
          .string()
          .min(1)
          .default("first")
          .describe(
            "active | first | last (in the hop's roll order) | all (every host, in the component's window) | a host's name; default first.",
          ),
      })
      .optional()
      .describe("Where it runs: a host of a component, through that host's driver; absent, this machine."),
  })
  .describe("An action of your own, once per hop, at the end of a phase.");

export const AlarmsSchema = z
  .strictObject({
    alertmanager: z
      .string()
      .regex(/^https?:\/\/[^\s]+$/, "an http:// or https:// URL of Alertmanager")
      .describe("Alertmanager's URL; ferry asks its v2 API for the alerts that fire."),
    ignore: z
      .array(z.string().min(1))
      .default([])
      .describe("Alert names (alertname) that never hold the run, such as Watchdog."),
    deadline: DurationSchema.default("30m").describe(
      "How long an alert may hold the run before it fails (before the point of no return: rolls back).",
    ),
    interval: DurationSchema.default("10s").describe(
      "How often Alertmanager is asked while an alert holds the run.",
    ),
  })
  .describe(
    "No firing alert (unsilenced, not inhibited, not ignored) at the preflight of every hop and before every component's roll: one that fires holds the run until it clears.",
  );

/** Days of a maintenance window, as `days:` names them. */
export const WINDOW_DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] as const;

const TIME_OF_DAY = /^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$/;

export const WindowSchema = z
  .strictObject({
    days: z
      .array(z.enum(WINDOW_DAYS))
      .min(1, "name at least one day, or leave days out for every day")
      .optional()
      .describe(
        "The days a window opens on (a window that ends the next day belongs to the day it opens); default every day.",
      ),
    start: z
      .string()
      .regex(TIME_OF_DAY, 'a time of day is "HH:MM" or "HH:MM:SS", 00:00 to 23:59:59')
      .describe("When it opens, local time."),
    end: z
      .string()
      .regex(TIME_OF_DAY, 'a time of day is "HH:MM" or "HH:MM:SS", 00:00 to 23:59:59')
      .describe("When it closes, local time; at or before start: the next day."),
    timezone: z
      .string()
      .refine(isTimeZone, "not a time zone this platform knows (an IANA name such as Europe/Berlin, or UTC)")
      .default("UTC")
      .describe(
        "The IANA time zone start and end are in (Europe/Berlin); default UTC. Daylight-saving changes are followed.",
      ),
  })
  .describe(
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

export const PointOfNoReturnSchema = z
  .strictObject({
    before: z.union(
      [
        z.strictObject({
          action: z
            .union([name("action"), z.array(name("action")).min(1, "name at least one action")])
            .describe(
              "A cluster action (top-level actions:), or a list of them: before the first of them the hop plans (Ganeti: cfgupgrade, or cfgupgrade --downgrade in a downgrade hop).",
            ),
        }),
        z.strictObject({
          component: name("component"),
          host: z
            .string()
            .min(1)
            .describe("first | last (in the hop's roll order) | a host's name: before that host's roll."),
        }),
      ],
      {
        error: () =>
          "before is exactly one of { action: NAME }, { action: [NAME, …] } or { component: NAME, host: first | last | HOST }",
      },
    ),
  })
  .describe(
    "Where a hop stops being undoable; default after the roll (rolling hops), just before start (offline hops).",
  );

export const ClusterSchema = z
  .strictObject({
    name: name("cluster"),
    catalog: z.string().min(1).describe("The release catalog, relative to this file."),
    state: z
      .string()
      .default(".ferry/state.db")
      .describe("The journal: a SQLite file relative to this file, or a postgres:// URL."),
    database: z
      .string()
      .regex(/^(postgres(ql)?|mysql|mariadb):\/\/|^sqlite:/i, "a postgres://, mysql:// or sqlite: URL")
      .optional()
      .describe(
        "The product's own database, for migrations: postgres://…, mysql://… or sqlite:PATH (relative to this file).",
      ),
    migrations: z
      .strictObject({
        batch: z
          .number()
          .int()
          .positive()
          .default(1000)
          .describe("Rows a data migration changes at once ({{batch}})."),
        lockTimeout: DurationSchema.default("500ms").describe(
          "How long a migration statement may wait for a lock before it gives up and tries again later.",
        ),
      })
      .prefault({})
      .describe("How migrations run."),
    version: z
      .string()
      .regex(VERSION, "a version is letters, digits, '.', '-' and '+', like 1.2.0 or 24.03.1")
      .optional()
      .describe(
        "The desired version, a release in the catalog: `ferry apply` and `ferry plan` without --to go to it.",
      ),
    onFailure: z
      .enum(["rollback", "pause"])
      .default("rollback")
      .describe(
        "A failed step before the point of no return: undo what was done, or stop for `ferry resume`.",
      ),
    vars: VarsSchema.optional(),
    hosts: z.array(HostSchema).min(1, "a cluster has at least one host"),
    components: z.array(ComponentSchema).min(1, "a cluster has at least one component"),
    preflight: z
      .array(z.strictObject({ name: name("check"), run: Command }))
      .optional()
      .describe("Your own checks before each hop (alarms, licence); exit 0 passes. Run on this machine."),
    backup: Command.optional().describe("Backs up what the product needs, before each hop's changes."),
    pin: Command.optional().describe(
      "Compatibility mode on: keep speaking {{from}}'s protocol while versions are mixed.",
    ),
    unpin: Command.optional().describe("Compatibility mode off, once every member runs {{version}}."),
    queue: z
      .strictObject({
        drain: Command.describe("Stops the job queue taking new work."),
        undrain: Command,
        empty: Command.optional().describe(
          "Exits 0 once no job is left running (Ganeti waits for its queue).",
        ),
        deadline: DurationSchema.default("5m").describe("How long to wait for the queue to empty."),
      })
      .optional()
      .describe("Job queue drain and undrain around an offline hop."),
    hooks: z
      .strictObject({ before: HookMap.optional(), after: HookMap.optional() })
      .optional()
      .describe("Commands before and after a phase, by phase name; run on this machine."),
    actions: z
      .array(ClusterActionSchema)
      .optional()
      .describe(
        "Your own steps, once per hop, at the end of a phase, on this machine or on a host you choose.",
      ),
    pointOfNoReturn: PointOfNoReturnSchema.optional(),
    notify: z
      .array(NotifySchema)
      .optional()
      .describe(
        "Webhooks told of each run's events, through an outbox in the journal: at least once each, retried with backoff, never holding up the run.",
      ),
    alarms: AlarmsSchema.optional(),
    window: WindowSchema.optional(),
  })
  .describe("ferry cluster file (cluster.yaml): the hosts, the components on them, and how to upgrade them.");

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
