/**
 * The starter `cluster.yaml` and `releases.yaml` that `ferry init` writes: every field explained
 * in a comment, the optional ones shown commented out with their defaults. Pure: it returns the
 * texts, checked by the same validation `ferry check` runs, and the CLI writes them.
 */
import { defineCatalog } from "../catalog/catalog.js";
import { UserError } from "../errors.js";
import { YamlFile } from "../yaml-file.js";
import { parseCluster } from "./cluster.js";
import { HOST_ADDRESS_RULE, isHostAddress } from "./host-address.js";

export interface StarterAnswers {
  /** The product's name; also the cluster's unless `cluster` is given. */
  readonly product: string;
  readonly cluster?: string;
  readonly scheme: "semver" | "calver";
  /** Oldest first; the first is the one the cluster runs now. */
  readonly releases: readonly string[];
  /** `name` or `name=address`. */
  readonly hosts: readonly string[];
  readonly components: readonly string[];
}

export const STARTER_DEFAULTS = {
  product: "myapp",
  scheme: "semver",
  releases: { semver: ["1.0.0"], calver: ["24.03.0"] },
  hosts: ["h1", "h2", "h3"],
  components: ["api", "worker"],
} as const;

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/**
 * Both files' text. Bad answers are a UserError naming the answer (`--hosts: …`), since there is
 * no file yet to point into.
 */
export function starterFiles(answers: StarterAnswers): { cluster: string; releases: string } {
  const problems: string[] = [];
  const named = (what: string, values: readonly string[]) => {
    if (values.length === 0) problems.push(`--${what}: give at least one`);
    for (const v of values) {
      if (!NAME.test(v))
        problems.push(
          `--${what}: ${JSON.stringify(v)} is not a name (letters, digits, "_", "." and "-", starting with a letter or digit)`,
        );
    }
    const twice = values.filter((v, i) => values.indexOf(v) !== i);
    if (twice.length > 0) problems.push(`--${what}: ${[...new Set(twice)].join(", ")} given twice`);
  };
  named("product", [answers.product]);
  if (answers.cluster !== undefined) named("cluster", [answers.cluster]);
  if (answers.scheme !== "semver" && answers.scheme !== "calver")
    problems.push(`--scheme: ${JSON.stringify(answers.scheme)} is neither semver nor calver`);
  const hosts = answers.hosts.map((spec) => {
    const [name = "", address = name] = spec.split("=", 2).map((s) => s.trim());
    return { name, address };
  });
  named(
    "hosts",
    hosts.map((h) => h.name),
  );
  for (const h of hosts) {
    if (!h.address) problems.push(`--hosts: ${h.name}= has no address`);
    else if (!isHostAddress(h.address))
      problems.push(
        `--hosts: ${h.name}=${h.address}: ${JSON.stringify(h.address)} is not an address; ${HOST_ADDRESS_RULE}`,
      );
  }
  named("component", answers.components);
  if (answers.releases.length === 0) problems.push("--releases: give at least one");
  if (problems.length > 0) throw new UserError(problems.join("\n  "));

  const releases = releasesText(answers);
  try {
    defineCatalog(new YamlFile("releases.yaml", releases).data(), {
      yaml: new YamlFile("releases.yaml", releases),
    });
  } catch (err) {
    // The only answers the catalog's own rules judge are the versions: say so.
    throw new UserError(`--releases: ${(err as Error).message.replace(/^releases\.yaml:\d+(:\d+)?: /, "")}`);
  }
  const cluster = clusterText(answers, hosts);
  // Cannot fail on answers checked above; if it does, the template is wrong, and that is a bug.
  parseCluster("cluster.yaml", cluster);
  return { cluster, releases };
}

function releasesText(a: StarterAnswers): string {
  const [first, ...rest] = a.releases;
  const next = a.scheme === "semver" ? "1.1.0" : "24.09.0";
  return `# The release catalog of ${a.product}: every release, and the rules an upgrade between them keeps.
# The vendor writes it once; every operator's upgrade follows it. Written by \`ferry init\`;
# \`ferry check\` validates it, \`ferry path --catalog releases.yaml --from A --to B\` shows a path,
# and \`ferry schema catalog\` prints its JSON Schema.

product: ${a.product}

# calver: versions are YY.MM.PATCH and a series is YY.MM.
# semver: versions are MAJOR.MINOR.PATCH and a series is MAJOR.MINOR.
scheme: ${a.scheme}

# The rules every hop (one upgrade from one release straight to another) must keep. Every field
# is optional; the values shown are the defaults, the strictest rules.
# policy:
#   stepwise: true          # within a series, pass through every release in order
#   leaveSeriesFrom: latest # latest | any: a hop into a newer series starts from the latest release of the older one
#   skipSeries: false       # may a hop jump over a whole series
#   crossMajor: true        # semver only: may a hop change MAJOR at all
#   downgrade: none         # none | previous-series: a hop back, to a release of precisely the previous series
#   rolling: within-series  # within-series | always | never: which hops run rolling; the others run offline

# Oldest first. A version in quotes, or an object with its database migrations:
releases:
${[first, ...rest].map((v) => `  - "${v}"`).join("\n")}
#  - version: "${next}"
#    migrations: migrations/${next}   # expand/, data/ and contract/ SQL files, relative to this file
#    notes: what changed
`;
}

function clusterText(a: StarterAnswers, hosts: readonly { name: string; address: string }[]): string {
  const hostNames = hosts.map((h) => h.name).join(", ");
  const component = (name: string, i: number) => `  - name: ${name}
    hosts: [${hostNames}]
    order: ${i + 1}                # lower orders roll first; equal orders roll side by side
    maxUnavailable: 1       # at most this many of its hosts out of service at once (a sliding window)
    # timeout: 5m           # the longest any one of its commands may run
    # mode: active-passive  # one host serves, the others stand by; needs role: and switchover:
    # role: my-ctl role     #   prints active or standby for the host
    # switchover: my-ctl make-active {{host}}
    # pidFile: /run/${name}.pid   # instead of commands.stop: SIGTERM, wait stopGrace, then SIGKILL
    # stopGrace: 10s
    # vars: { port: 8080 }  # override the cluster's vars for this component
    # Shell snippets, run with sh -c on each host through its driver. Templates: {{version}} (the
    # hop's target), {{from}}, {{kind}} (patch, series, major or downgrade), {{direction}} (upgrade or
    # downgrade), {{host}}, {{address}}, {{component}}, {{vars.NAME}}; the same values reach the
    # commands as FERRY_* environment variables. Replace these with your product's.
    commands:
      version: cat {{vars.root}}/{{component}}/current/VERSION   # prints the version running there
      install: test -d {{vars.root}}/{{component}}/{{version}}    # makes {{version}} present beside the others; idempotent
      stop: systemctl stop ${name}
      activate: ln -sfn {{vars.root}}/{{component}}/{{version}} {{vars.root}}/{{component}}/current
      start: systemctl start ${name}
    # How ferry knows a host's ${name} is up after its start: http (2xx), tcp or exec (exit 0).
    health: { exec: "systemctl is-active --quiet ${name}", healthyFor: 2s, deadline: 60s }
    # health: { http: "http://{{address}}:8080/health", timeout: 5s, healthyFor: 2s, deadline: 60s }
    # Take a host out of its load balancer before it stops, back in once healthy:
    # drain: { exec: "lb-ctl drain {{host}}", undrain: "lb-ctl undrain {{host}}" }
    # drain: { http: { url: "http://lb:9000/drain/{{host}}", undrainUrl: "http://lb:9000/undrain/{{host}}" } }
    # drain: { haproxy: { socket: /run/haproxy/admin.sock, backend: ${name}, server: "{{host}}" } }
    # Your own steps on each host, at a point of its roll: before-drain, after-stop, after-install,
    # after-activate, after-start, after-healthy or after-unpin. check: exits 0 when already done;
    # without undo, a rollback stops there and names it; when: upgrade (default), downgrade, always.
    # actions:
    #   - { name: reload, at: after-unpin, run: "systemctl reload ${name}", undo: "true" }`;

  return `# The cluster ferry upgrades: its hosts, the components on them, and how to handle each one.
# Written by \`ferry init\`. \`ferry check\` validates it, \`ferry plan --to VERSION\` shows every
# step of an upgrade without running any, \`ferry apply --to VERSION\` runs it, and
# \`ferry schema cluster\` prints its JSON Schema.

name: ${a.cluster ?? a.product}
catalog: ./releases.yaml    # the release catalog, relative to this file
state: .ferry/state.db      # the journal: a SQLite file relative to this file, or a postgres:// URL for a team
# version: "${a.releases.at(-1)}"      # the release \`ferry apply\` goes to when --to is not given
# onFailure: rollback       # a failed step before the point of no return: rollback, or pause for \`ferry resume\`
# database: postgres://${a.product}@db.internal/${a.product}   # the product's database, for migrations (or mysql://…, sqlite:PATH)
# migrations: { batch: 1000, lockTimeout: 500ms }

# Free values for templates ({{vars.root}}); a component's or a host's vars override them.
vars:
  root: /srv/${a.product}

hosts:
${hosts
  .map(
    (h) => `  - name: ${h.name}
    address: ${JSON.stringify(h.address)}   # for {{address}} and health probes
    # driver: local         # where its commands run: local (sh -c on this machine)
    # vars: { root: /opt/${a.product} }`,
  )
  .join("\n")}

components:
${a.components.map(component).join("\n")}

# Your own checks before each hop, run on this machine; exit 0 passes:
# preflight:
#   - { name: no-alarms, run: "alarms --count | grep -qx 0" }
# backup: pg_dump ${a.product} > /backups/${a.product}-{{from}}.sql   # before each hop's changes
# pin: ${a.product}-ctl pin {{from}}       # compatibility mode while versions are mixed
# unpin: ${a.product}-ctl unpin
# queue: { drain: ${a.product}-ctl queue drain, undrain: ${a.product}-ctl queue undrain, empty: ${a.product}-ctl queue empty, deadline: 5m }   # around offline hops
# hooks: { before: { roll: "notify start {{version}}" }, after: { verify: "notify done {{version}}" } }
# Your own steps, once per hop at the end of a phase: on this machine, or on a component's host
# (on: { component, host: active | first | last | all | a host's name }):
# actions:
#   - name: schema
#     at: expand
#     on: { component: ${a.components[0]}, host: first }
#     run: ${a.product}-migrate up {{version}}
#     check: ${a.product}-migrate is-at {{version}}   # exits 0 when already done: a resumed run skips it
#     undo: ${a.product}-migrate down {{from}}
#     when: upgrade           # upgrade | downgrade | always
#     timeout: 10m
# Where a hop stops being undoable; default after the roll (offline hops: just before start):
# pointOfNoReturn: { before: { action: schema } }   # or { before: { component: ${a.components[0]}, host: last } }
`;
}
