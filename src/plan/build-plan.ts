/**
 * The plan builder: a pure function from the cluster, the version path and (for ids) nothing else
 * to the full plan. Each phase of a hop is a named builder; the two lists below are the whole
 * procedure, in the order it runs (DESIGN.md "How an upgrade runs"). The operator's own actions
 * are inserted into them where they run (plan-actions.ts: a host's lane at its points, a phase's
 * end), and the point of no return moves where the cluster file puts it (point-of-no-return.ts).
 */
import type { VersionPath } from "../catalog/index.js";
import {
  type Cluster,
  type Component,
  type MetricGate,
  offlineHosts,
  onlineHosts,
} from "../cluster/cluster.js";
import type { PhaseName } from "../cluster/cluster-schema.js";
import { namesHost, render, type TemplateValues } from "../cluster/template.js";
import { RefusedError } from "../errors.js";
import { fileKey, type MigrationFile, type MigrationPhase } from "../migrate/migration-files.js";
import type { DrainSpec } from "../probes/traffic-drain.js";
import { orderActivePassive } from "./active-passive.js";
import { splitBatches } from "./batches.js";
import {
  afterRollStages,
  alarmStep,
  batchGateSteps,
  beforeRollStages,
  offlineApprovalStages,
} from "./gate-steps.js";
import {
  byOrder,
  exec,
  HEALTH,
  type HopContext,
  hostStep,
  localStep,
  memberKey,
  memberOf,
  membersByComponent,
  nextActive,
  onlineHostsOf,
  perHost,
  phase,
  renderHere,
  SharedActions,
  type StepIds,
  single,
  switchoverOf,
} from "./hop-context.js";
import {
  type Action,
  type Lane,
  type Member,
  type Phase,
  type Plan,
  type PlannedHop,
  type PlanStep,
  POINT_OF_NO_RETURN,
  type Pool,
  type Stage,
} from "./plan.js";
import { afterUnpinStages, clusterActionStages, hostActionSteps } from "./plan-actions.js";
import { placePointOfNoReturn, pointOfNoReturn } from "./point-of-no-return.js";

export { memberKey };

/** The database side of a plan: the catalog's release order and its migrations for this database. */
export interface PlanMigrations {
  readonly releases: readonly string[];
  readonly files: readonly MigrationFile[];
}

/** A phase with no stages is left out of the plan, unless the operator hooked a command to it. */
type PhaseBuilder = (ctx: HopContext) => Phase;

/** A rolling hop keeps the service up: one host of a component out at a time, versions mixed behind the pin. */
const ROLLING: readonly PhaseBuilder[] = [
  preflight,
  backup,
  expand,
  pin,
  roll,
  pointOfNoReturn,
  activate,
  data,
  contract,
  verify,
];

/** An offline hop stops everything first (Ganeti's procedure; Backend.AI's major upgrades). */
const OFFLINE: readonly PhaseBuilder[] = [
  preflight,
  drainQueue,
  stopAll,
  backup,
  installAll,
  expand,
  data,
  contract,
  pointOfNoReturn,
  startAll,
  verify,
  undrainQueue,
];

/**
 * Every step of every hop of `path`, nothing run.
 *
 * @example buildPlan(cluster, planPath(catalog, "1.0.0", "1.0.1")).hops[0].phases.map((p) => p.name)
 */
export function buildPlan(
  cluster: Cluster,
  path: VersionPath,
  migrations: PlanMigrations = { releases: [], files: [] },
  /** Per active-passive component, its active host now (observed); default: its first host. */
  actives: ReadonlyMap<string, string> = new Map(),
): Plan {
  const members = clusterMembers(cluster);
  const byComponent = membersByComponent(members);
  const rank = new Map(migrations.releases.map((r, i) => [r, i]));
  const between = (from: string, to: string) =>
    migrations.files.filter((f) => {
      const r = rank.get(f.release) ?? -1;
      return r > (rank.get(from) ?? Number.POSITIVE_INFINITY) && r <= (rank.get(to) ?? -1);
    });
  const hasDatabase = cluster.database !== undefined;
  const active = new Map(actives);
  const hops = path.hops.map((h): PlannedHop => {
    const hop = { id: h.to, ...h };
    // Migrations only go forward: a downgrade leaves the schema as it is.
    const files = hasDatabase && h.kind !== "downgrade" ? between(h.from, h.to) : [];
    refuseDataInPassing(h.from, h.to, files, rank);
    const ctx: HopContext = {
      cluster,
      hop,
      members: byComponent,
      values: new Map(),
      shared: new SharedActions(hop.to),
      files,
      hasDatabase,
      actives: new Map(active),
    };
    const builders = h.mode === "rolling" ? ROLLING : OFFLINE;
    const built = builders.map((build) => withHooks(ctx, withActions(ctx, build(ctx))));
    const phases = placePointOfNoReturn(ctx, built).filter((p) => p.stages.length > 0);
    // A rolling hop switches each active-passive component over to its first standby.
    if (h.mode === "rolling") {
      for (const c of cluster.components) {
        const online = onlineHostsOf(c, byComponent);
        if (c.activePassive && online.length >= 2) active.set(c.name, nextActive(active.get(c.name), online));
      }
    }
    return { ...hop, phases };
  });
  return {
    cluster: cluster.name,
    onFailure: cluster.onFailure,
    ...(cluster.window ? { window: cluster.window } : {}),
    from: path.from,
    to: path.to,
    path: path.path,
    hosts: onlineHosts(cluster).map((h) => ({
      name: h.name,
      address: h.address,
      driver: h.driver,
      ...(h.ssh ? { ssh: h.ssh } : {}),
    })),
    offline: offlineHosts(cluster),
    members,
    vars: cluster.vars,
    database: hasDatabase ? { releases: migrations.releases, files: migrations.files } : null,
    hops,
  };
}

/**
 * A hop runs its releases' migrations by phase: every expand file, later every data file, then
 * every contract file. That is right for the hop's own release, but not for one it passes: a data
 * migration of 1.1.0 must finish, with 1.1.0 running, before 1.1.1's migrations may start (Cinder).
 * Such a hop is refused, and the way out is to stop at that release.
 */
function refuseDataInPassing(
  from: string,
  to: string,
  files: readonly MigrationFile[],
  rank: ReadonlyMap<string, number>,
): void {
  const at = (release: string) => rank.get(release) ?? -1;
  const passed = files.find(
    (f) => f.phase === "data" && f.release !== to && files.some((g) => at(g.release) > at(f.release)),
  );
  if (!passed) return;
  throw new RefusedError(
    `the hop ${from} → ${to} passes ${passed.release}, whose data migration ${fileKey(passed)} must finish while ${passed.release} runs, before the migrations of the releases after it`,
    "data-migrations",
    `upgrade to ${passed.release} first (\`ferry apply --to ${passed.release}\`), then on`,
  );
}

function renderDrain(d: DrainSpec, values: TemplateValues): DrainSpec {
  if ("exec" in d) return { exec: render(d.exec, values), undrain: render(d.undrain, values) };
  if ("http" in d)
    return {
      http: { ...d.http, url: render(d.http.url, values), undrainUrl: render(d.http.undrainUrl, values) },
    };
  const h = d.haproxy;
  return {
    haproxy: {
      ...h,
      socket: render(h.socket, values),
      backend: render(h.backend, values),
      server: render(h.server, values),
    },
  };
}

/** Every component on every online host of the cluster, with its probes rendered. */
export function clusterMembers(cluster: Cluster): Member[] {
  const hosts = new Map(cluster.hosts.map((h) => [h.name, h]));
  return cluster.components.flatMap((c) => {
    const componentVars = { ...cluster.vars, ...c.vars };
    // Probes that name nothing of a host's own are the same on each of its hosts: made once, shared.
    const perHost = namesHostIn([c.commands.version, c.health?.check, c.drain, c.activePassive?.role]);
    let shared: Probes | undefined;
    return c.hosts.flatMap((hostName): Member[] => {
      const host = hosts.get(hostName);
      if (!host) throw new Error(`component ${c.name}: unknown host ${hostName} passed validation`);
      if (host.offline) return [];
      const vars = Object.keys(host.vars).length > 0 ? { ...componentVars, ...host.vars } : componentVars;
      const probes =
        shared ?? probesOf(c, { host: host.name, address: host.address, component: c.name, vars });
      if (!perHost) shared = probes;
      return [
        {
          host: host.name,
          component: c.name,
          address: host.address,
          ...probes,
          vars,
          timeoutMs: c.timeoutMs,
        },
      ];
    });
  });
}

type Probes = Pick<Member, "versionCommand" | "health" | "drain" | "roleCommand">;

/** How a member of `c` is asked its version, health and role, and taken out of traffic: rendered. */
function probesOf(c: Component, values: TemplateValues): Probes {
  const health = c.health && {
    check:
      "http" in c.health.check
        ? { http: render(c.health.check.http, values) }
        : "tcp" in c.health.check
          ? { tcp: render(c.health.check.tcp, values) }
          : { exec: render(c.health.check.exec, values) },
    gate: c.health.gate,
  };
  const drain = c.drain && renderDrain(c.drain, values);
  return {
    versionCommand: render(c.commands.version, values),
    ...(health ? { health } : {}),
    ...(drain ? { drain } : {}),
    ...(c.activePassive ? { roleCommand: render(c.activePassive.role, values) } : {}),
  };
}

/** Whether any text in `x` (a template, or settings holding some) names a value of one host's own. */
function namesHostIn(x: unknown): boolean {
  if (typeof x === "string") return namesHost(x);
  return typeof x === "object" && x !== null && Object.values(x).some(namesHostIn);
}

/** The host steps of taking a member down, switching it to the hop's version, and bringing it back. */
function stopStep(ctx: HopContext, c: Component, m: Member, id: StepIds): PlanStep {
  return hostStep(ctx, id, "stop", m, [exec(ctx, c.commands.stop, m)], {
    undo: [exec(ctx, c.commands.start, m, true), ...(m.health ? [HEALTH] : [])],
  });
}

/** Stop, with the component's own actions before and after it (in a rolling hop, before-drain comes before the drain). */
function stopSteps(ctx: HopContext, c: Component, m: Member, id: StepIds): PlanStep[] {
  return [stopStep(ctx, c, m, id), ...hostActionSteps(ctx, c, m, "after-stop", id)];
}

function switchSteps(ctx: HopContext, c: Component, m: Member, id: StepIds): PlanStep[] {
  return [
    hostStep(ctx, id, "install", m, [exec(ctx, c.commands.install, m)]),
    ...hostActionSteps(ctx, c, m, "after-install", id),
    hostStep(ctx, id, "activate", m, [exec(ctx, c.commands.activate, m)], {
      check: ctx.shared.versionIs,
      undo: [exec(ctx, c.commands.activate, m, true)],
    }),
    ...hostActionSteps(ctx, c, m, "after-activate", id),
  ];
}

function startSteps(ctx: HopContext, c: Component, m: Member, id: StepIds): PlanStep[] {
  return [
    hostStep(ctx, id, "start", m, [exec(ctx, c.commands.start, m)], {
      undo: [exec(ctx, c.commands.stop, m)],
    }),
    ...hostActionSteps(ctx, c, m, "after-start", id),
    ...(m.health ? [hostStep(ctx, id, "health", m, [HEALTH])] : []),
    ...hostActionSteps(ctx, c, m, "after-healthy", id),
  ];
}

/** The operator's cluster actions at the end of the phase (before its after-hook). */
function withActions(ctx: HopContext, p: Phase): Phase {
  if (p.name === POINT_OF_NO_RETURN) return p;
  return { ...p, stages: [...p.stages, ...clusterActionStages(ctx, p.name as PhaseName)] };
}

function withHooks(ctx: HopContext, p: Phase): Phase {
  if (p.name === POINT_OF_NO_RETURN) return p;
  const name = p.name as PhaseName;
  const before = ctx.cluster.hooks.before[name];
  const after = ctx.cluster.hooks.after[name];
  return {
    ...p,
    stages: [
      ...(before ? [single(localStep(ctx, `${name}/before-hook`, [exec(ctx, before)]))] : []),
      ...p.stages,
      ...(after ? [single(localStep(ctx, `${name}/after-hook`, [exec(ctx, after)]))] : []),
    ],
  };
}

// ---- the phases ------------------------------------------------------------------------------

/** The cluster is where the hop starts and healthy (offline members fail it), and the operator's checks pass. */
function preflight(ctx: HopContext): Phase {
  const alarms = alarmStep(ctx, "preflight/alarms");
  return phase(ctx, "preflight", [
    ...(alarms ? [single(alarms)] : []),
    single(
      localStep(ctx, "preflight/cluster", [{ type: "cluster-is", version: ctx.hop.from, healthy: true }]),
    ),
    ...(ctx.hasDatabase
      ? [
          single(
            localStep(ctx, "preflight/migrations", [{ type: "migrations-ready", release: ctx.hop.from }]),
          ),
        ]
      : []),
    ...installable(ctx, "preflight"),
    ...gatesAnswer(ctx),
    ...ctx.cluster.preflight.map((check) =>
      single(localStep(ctx, `preflight/check/${check.name}`, [exec(ctx, check.run)])),
    ),
  ]);
}

/** A gate with its query rendered for the hop ({{version}}, {{from}}, {{vars.NAME}}). */
function renderedGate(ctx: HopContext, g: MetricGate): MetricGate {
  return { ...g, prometheus: { ...g.prometheus, query: renderHere(ctx, g.prometheus.query) } };
}

/** Every metric gate of the hop's roll can be asked, before any host changes (rolling hops only). */
function gatesAnswer(ctx: HopContext): Stage[] {
  if (ctx.hop.mode !== "rolling") return [];
  const gates = ctx.cluster.components.flatMap((c) => c.gates.map((g) => renderedGate(ctx, g)));
  return gates.length > 0
    ? [single(localStep(ctx, "preflight/gates", [{ type: "gates-answer", gates }]))]
    : [];
}

/**
 * The target release can be installed on every online host: each component's `check`, on all its
 * hosts at once (Ganeti verifies "installed on all online nodes" before it changes anything).
 */
function installable(ctx: HopContext, phaseName: string): Stage[] {
  const checked = ctx.cluster.components.filter((c) => c.commands.check !== undefined);
  if (checked.length === 0) return [];
  return perHost(
    ctx,
    phaseName,
    [checked],
    (c) => c.hosts.length,
    (c, m, id) => [hostStep(ctx, id, "installable", m, [exec(ctx, c.commands.check as string, m)])],
  );
}

/**
 * The operator's backup command, and before the hop's first schema change a backup of the product's
 * database with its own tool. An offline hop undoes its migrations by restoring it; a rolling hop
 * cannot (the live service has written since), so its expand migrations are additive and stay.
 */
function backup(ctx: HopContext): Phase {
  const command = ctx.cluster.backup;
  const schema = ctx.files.some((f) => f.phase !== "data");
  const name = `hop-${ctx.hop.to}`;
  return phase(ctx, "backup", [
    ...(command ? [single(localStep(ctx, "backup/command", [exec(ctx, command)]))] : []),
    ...(schema
      ? [
          single(
            localStep(
              ctx,
              "backup/database",
              [{ type: "db-backup", name }],
              ctx.hop.mode === "offline" ? [{ type: "db-restore", name }] : undefined,
            ),
          ),
        ]
      : []),
  ]);
}

/** One step per migration file of the releases the hop passes into, in version then name order. */
function migrationSteps(ctx: HopContext, phaseName: MigrationPhase): Stage[] {
  return ctx.files
    .filter((f) => f.phase === phaseName)
    .map((f) => {
      const key = fileKey(f);
      return single(
        localStep(ctx, `${phaseName}/${f.release}/${f.name}`, [{ type: "migrate", file: key }], undefined, {
          type: "migrated",
          file: key,
        }),
      );
    });
}

/**
 * Additive schema migrations, before any host runs the new release (Cinder's `db sync`). They do
 * not make the new release the one that runs: a rolling hop that rolls back keeps them, and the
 * new release's back-fills must not run under the old one (`data` records the release, after activate).
 */
function expand(ctx: HopContext): Phase {
  return phase(ctx, "expand", migrationSteps(ctx, "expand"));
}

/** Compatibility mode on while versions are mixed (Cinder's RPC pin, StarlingX's compatibility mode). */
function pin(ctx: HopContext): Phase {
  const { pin: on, unpin: off } = ctx.cluster;
  if (!on) return phase(ctx, "pin", []);
  return phase(ctx, "pin", [
    single(localStep(ctx, "pin/command", [exec(ctx, on)], off ? [exec(ctx, off)] : undefined)),
  ]);
}

const DRAIN: Action = { type: "traffic", op: "drain" };
const UNDRAIN: Action = { type: "traffic", op: "undrain" };

/** Component by component in `order`; each component's hosts in a sliding window of maxUnavailable. */
function roll(ctx: HopContext): Phase {
  const stages = perHost(
    ctx,
    "roll",
    byOrder(ctx.cluster.components),
    (c) => c.maxUnavailable,
    (c, m, id) => [
      ...hostActionSteps(ctx, c, m, "before-drain", id),
      ...(m.drain ? [hostStep(ctx, id, "drain", m, [DRAIN], { undo: [UNDRAIN] })] : []),
      ...stopSteps(ctx, c, m, id),
      ...switchSteps(ctx, c, m, id),
      ...startSteps(ctx, c, m, id),
      ...(m.drain ? [hostStep(ctx, id, "undrain", m, [UNDRAIN], { undo: [DRAIN] })] : []),
    ],
    true,
  );
  const components = new Map(ctx.cluster.components.map((c) => [c.name, c]));
  return phase(
    ctx,
    "roll",
    stages.flatMap((stage) => {
      const pools = stage.pools.map((pool) => inBatches(ctx, activePassive(ctx, pool)));
      const rolling = pools.flatMap((p) => optional(components.get(p.component ?? "")));
      // Each active-passive component's roles are asked (from this machine) just before its hosts roll.
      const asked = pools.flatMap((pool) => (pool.activePassive ? [rolesPool(ctx, pool)] : []));
      return [
        ...beforeRollStages(ctx, rolling),
        ...(asked.length > 0 ? [{ pools: asked }] : []),
        { pools },
        ...afterRollStages(ctx, rolling),
      ];
    }),
  );
}

/**
 * A component with batches, a soak or gates: its lanes split into batches (Ansible's serial list;
 * without `batches` the component is one batch), each closed by a hostless lane that soaks and
 * checks the gates: `V/roll/api/batch-1/soak`, `V/roll/api/batch-1/gate/error-rate`. A batch's
 * hosts roll side by side; redundancy groups still hold within it.
 */
function inBatches(ctx: HopContext, pool: Pool): Pool {
  const c = ctx.cluster.components.find((x) => x.name === pool.component);
  if (!c || (!c.batches && c.soakMs === 0 && c.gates.length === 0)) return pool;
  const sizes = c.batches ? splitBatches(c.batches, pool.lanes.length) : [pool.lanes.length];
  const lanes: Lane[] = [];
  let next = 0;
  sizes.forEach((size, i) => {
    const batch = i + 1;
    for (const lane of pool.lanes.slice(next, next + size)) lanes.push({ ...lane, batch });
    next += size;
    const id = (what: string) => `roll/${c.name}/batch-${batch}/${what}`;
    const steps = [
      ...(c.soakMs > 0 ? [localStep(ctx, id("soak"), [{ type: "soak", ms: c.soakMs }])] : []),
      ...c.gates.map((g): PlanStep => {
        const gate = renderedGate(ctx, g);
        // Its measurements may take (count - 1) intervals, besides each query's own time.
        const timeoutMs = g.count * g.intervalMs + 60_000;
        return {
          ...localStep(ctx, id(`gate/${g.name}`), [{ type: "metric-gate", gate }]),
          name: `gate/${g.name}`,
          timeoutMs,
        };
      }),
    ];
    steps.push(...batchGateSteps(ctx, c, batch, sizes.length));
    if (steps.length > 0) lanes.push({ batch, batchEnd: true, steps });
  });
  const limit = c.batches ? Math.max(...sizes) : pool.limit;
  return { ...pool, limit, lanes };
}

/** The step that asks an active-passive component's hosts their roles: what its roll follows. */
function rolesPool(ctx: HopContext, pool: Pool): Pool {
  const c = pool.component as string;
  const step = localStep(ctx, `roll/${c}/roles`, [{ type: "roles", component: c }]);
  const timeoutMs = ctx.cluster.components.find((x) => x.name === c)?.timeoutMs ?? step.timeoutMs;
  return { limit: 1, lanes: [{ steps: [{ ...step, timeoutMs }] }] };
}

/**
 * An active-passive component (StarlingX's controllers, Cinder's volume service): its standbys
 * first, one at a time, then a switchover to the first of them, then the former active one. The
 * order here is predicted from the active host the hop is expected to start with; when the hop
 * runs, the executor orders the lanes again by the roles it asks then (orderActivePassive), so
 * every step id here is the same whichever host turns out active: the switchover's has no host.
 */
function activePassive(ctx: HopContext, pool: Pool): Pool {
  const c = ctx.cluster.components.find((x) => x.name === pool.component);
  const turn = c && switchoverOf(ctx, c);
  if (!c?.activePassive || !turn) return pool;
  const online = onlineHostsOf(c, ctx.members);
  const member = (h: string) => memberOf(ctx, c, h);
  const switchover = `${ctx.hop.id}/roll/${c.name}/switchover`;
  const placeholder = hostStep(ctx, () => switchover, "switchover", member(online[1] as string), []);
  const hosts = online.map((h) => ({
    host: h,
    switchover: exec(ctx, c.activePassive?.switchover ?? "", member(h)),
  }));
  return orderActivePassive(
    {
      ...pool,
      limit: 1,
      lanes: [...pool.lanes, { host: placeholder.host, steps: [placeholder] }],
      activePassive: { roles: `${ctx.hop.id}/roll/${c.name}/roles`, switchover, hosts },
    },
    turn.was,
  );
}

/** Compatibility mode off: every member runs the new release now; then the components' after-unpin actions. */
function activate(ctx: HopContext): Phase {
  const off = ctx.cluster.unpin;
  return phase(ctx, "activate", [
    ...(off ? [single(localStep(ctx, "activate/unpin", [exec(ctx, off)]))] : []),
    ...afterUnpinStages(ctx, "activate"),
  ]);
}

/**
 * Batched online data migrations, each until it changes no row. They run before contract: the
 * back-fill must be complete before the old columns it reads are dropped.
 */
function data(ctx: HopContext): Phase {
  // From here the new release is what runs: `ferry db online-migrations` may back-fill up to it.
  const active =
    ctx.files.length > 0
      ? [single(localStep(ctx, "data/active", [{ type: "schema-mark", release: ctx.hop.to }]))]
      : [];
  return phase(ctx, "data", [...active, ...migrationSteps(ctx, "data")]);
}

/** Destructive schema migrations, once nothing runs the old release any more. */
function contract(ctx: HopContext): Phase {
  return phase(ctx, "contract", migrationSteps(ctx, "contract"));
}

function verify(ctx: HopContext): Phase {
  return phase(ctx, "verify", [
    single(localStep(ctx, "verify/cluster", [{ type: "cluster-is", version: ctx.hop.to, healthy: true }])),
  ]);
}

/** The job queue takes no new work, and the jobs in hand finish before anything stops (Ganeti). */
function drainQueue(ctx: HopContext): Phase {
  const q = ctx.cluster.queue;
  if (!q) return phase(ctx, "drain", []);
  const empty = q.empty;
  return phase(ctx, "drain", [
    single(localStep(ctx, "drain/queue", [exec(ctx, q.drain)], [exec(ctx, q.undrain)])),
    ...(empty
      ? [
          single({
            ...localStep(ctx, "drain/queue-empty", [
              {
                type: "wait-until",
                command: renderHere(ctx, empty),
                deadlineMs: q.deadlineMs,
                intervalMs: 500,
              },
            ]),
            timeoutMs: q.deadlineMs + 60_000,
          }),
        ]
      : []),
    // Ganeti checks again once the queue is drained: a host may have changed while it drained.
    ...installable(ctx, "drain"),
  ]);
}

function undrainQueue(ctx: HopContext): Phase {
  const q = ctx.cluster.queue;
  return phase(ctx, "undrain", q ? [single(localStep(ctx, "undrain/queue", [exec(ctx, q.undrain)]))] : []);
}

/**
 * Everything stops, the highest order first, all hosts of a component at once. A component's
 * before-drain actions run here, just before its stop: an offline hop drains no host's traffic.
 */
function stopAll(ctx: HopContext): Phase {
  const orders = byOrder(ctx.cluster.components).reverse();
  return phase(ctx, "stop", [
    // An offline hop has no roll: a component's approval, wherever asked for, waits before anything stops.
    ...offlineApprovalStages(ctx),
    ...perHost(
      ctx,
      "stop",
      orders,
      (c) => c.hosts.length,
      (c, m, id) => [...hostActionSteps(ctx, c, m, "before-drain", id), ...stopSteps(ctx, c, m, id)],
    ),
  ]);
}

function optional<T>(x: T | undefined): T[] {
  return x === undefined ? [] : [x];
}

function installAll(ctx: HopContext): Phase {
  const all = [ctx.cluster.components.slice()];
  return phase(
    ctx,
    "install",
    perHost(
      ctx,
      "install",
      all,
      (c) => c.hosts.length,
      (c, m, id) => switchSteps(ctx, c, m, id),
    ),
  );
}

/**
 * Everything starts, the lowest order first, each member healthy before the next order starts.
 * Then every member runs the new release, as after a rolling hop's unpin: the after-unpin actions.
 */
function startAll(ctx: HopContext): Phase {
  const orders = byOrder(ctx.cluster.components);
  return phase(ctx, "start", [
    ...perHost(
      ctx,
      "start",
      orders,
      (c) => c.hosts.length,
      (c, m, id) => startSteps(ctx, c, m, id),
    ),
    ...afterUnpinStages(ctx, "start"),
  ]);
}
