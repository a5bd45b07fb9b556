/**
 * Where a hop's point of no return sits (DESIGN.md "Your own steps"). The phase lists put it at
 * its default place, a phase of its own: after the roll of a rolling hop, just before `start` in
 * an offline one. `pointOfNoReturn.before` in the cluster file moves it, in each hop that plans
 * the place it names:
 *
 * - `{ action: NAME }` (Ganeti's `cfgupgrade`): the stage just before the action's; with a list
 *   (`[cfgupgrade, cfgdowngrade]`: Ganeti's configuration change, whichever way the hop goes),
 *   before the first of them the hop plans, in the hop's order;
 * - `{ component: C, host: first | last | NAME }` (StarlingX: before the second controller): inside
 *   the roll, between two hosts of C. C's pool is split into a stage before and a stage after the
 *   point of no return, so the walker still walks stages; the components that roll side by side
 *   with C finish before it. `first` and `last` are in the hop's roll order (active-passive: the
 *   standby first, the former active last). An offline hop stops and starts every host at once,
 *   so it has no host to put it before: it keeps the default.
 *
 *   An active-passive C is not cut: its roll order is a prediction until its roles step asks the
 *   hosts when the hop runs, and a cut made here would put the mark before whichever host was
 *   predicted last, even when another one turns out active (it would then roll, still active,
 *   before the mark). Its mark is a lane of its own pool instead (whose lanes run one at a time),
 *   which orderActivePassive places before the host the roles make first, last or the named one,
 *   at plan time and again at run time; the components beside C roll in the stage before it.
 *
 * A hop that does not plan the place (a `when: upgrade` action in a downgrade hop, a host marked
 * offline) keeps the default. Wherever it sits, the step's id is `V/point-of-no-return`.
 */
import { orderActivePassive } from "./active-passive.js";
import { type HopContext, localStep, phase, rollOrder, single, switchoverOf } from "./hop-context.js";
import { type Phase, POINT_OF_NO_RETURN, type Pool, type Stage } from "./plan.js";
import { clusterActionPlace } from "./plan-actions.js";

type Place =
  | { readonly ids: ReadonlySet<string> }
  | { readonly component: string; readonly host: string; readonly before: string };

/** Past this step ferry never goes back by itself (StarlingX's point of no return, Ganeti's config change). */
export function pointOfNoReturn(ctx: HopContext): Phase {
  return phase(ctx, POINT_OF_NO_RETURN, [markStage(ctx)]);
}

function markStage(ctx: HopContext): Stage {
  return single(localStep(ctx, POINT_OF_NO_RETURN, [{ type: "mark" }]));
}

/** The hop's phases with the point of no return moved where the cluster file puts it, if this hop plans that place. */
export function placePointOfNoReturn(ctx: HopContext, phases: readonly Phase[]): readonly Phase[] {
  const place = placeIn(ctx);
  if (!place) return phases;
  let placed = false;
  const moved = phases.map((p): Phase => {
    if (placed) return p;
    const stages = "ids" in place ? beforeAction(ctx, p, place) : beforeHost(ctx, p, place);
    if (!stages) return p;
    placed = true;
    return { ...p, stages };
  });
  return placed ? moved.filter((p) => p.name !== POINT_OF_NO_RETURN) : phases;
}

/** Where the file puts the point of no return, resolved in this hop; undefined: the default place. */
function placeIn(ctx: HopContext): Place | undefined {
  const wanted = ctx.cluster.pointOfNoReturn;
  if (!wanted) return undefined;
  if ("actions" in wanted) {
    // Every step of every named action the hop plans: the walk over the phases stops at the first.
    const ids = ctx.cluster.actions
      .filter((a) => wanted.actions.includes(a.name))
      .flatMap((a) => clusterActionPlace(ctx, a).ids);
    return ids.length > 0 ? { ids: new Set(ids) } : undefined;
  }
  if (ctx.hop.mode !== "rolling") return undefined;
  const c = ctx.cluster.components.find((x) => x.name === wanted.component);
  if (!c) return undefined;
  const order = rollOrder(ctx, c);
  const host =
    wanted.host === "first"
      ? order[0]
      : wanted.host === "last"
        ? order.at(-1)
        : order.find((h) => h === wanted.host);
  return host ? { component: c.name, host, before: wanted.host } : undefined;
}

/** The phase's stages with the mark just before the first stage of the actions; undefined when none is in this phase. */
function beforeAction(ctx: HopContext, p: Phase, place: { ids: ReadonlySet<string> }): Stage[] | undefined {
  const at = p.stages.findIndex((st) =>
    st.pools.some((pool) => pool.lanes.some((l) => l.steps.some((s) => place.ids.has(s.id)))),
  );
  if (at < 0) return undefined;
  return [...p.stages.slice(0, at), markStage(ctx), ...p.stages.slice(at)];
}

/**
 * The roll's stages with the component's pool split before the host's lane: the stage that holds
 * it runs its other pools and the lanes before the host, then the mark, then the rest of the pool.
 */
function beforeHost(
  ctx: HopContext,
  p: Phase,
  place: { component: string; host: string; before: string },
): Stage[] | undefined {
  if (p.name !== "roll") return undefined;
  for (const [i, stage] of p.stages.entries()) {
    const pool = stage.pools.find((x) => x.component === place.component);
    const cut = pool?.lanes.findIndex((l) => l.host === place.host) ?? -1;
    if (!pool || cut < 0) continue;
    if (pool.activePassive) {
      const beside = stage.pools.filter((x) => x !== pool);
      return [
        ...p.stages.slice(0, i),
        ...(beside.length > 0 ? [{ pools: beside }] : []),
        { pools: [withMark(ctx, pool, place)] },
        ...p.stages.slice(i + 1),
      ];
    }
    const part = (lanes: Pool["lanes"]): Pool => ({
      ...pool,
      limit: Math.min(pool.limit, lanes.length),
      lanes,
    });
    const before = part(pool.lanes.slice(0, cut));
    const first: Stage = {
      pools: stage.pools.flatMap((x) => (x !== pool ? [x] : before.lanes.length > 0 ? [before] : [])),
    };
    return [
      ...p.stages.slice(0, i),
      ...(first.pools.length > 0 ? [first] : []),
      markStage(ctx),
      { pools: [part(pool.lanes.slice(cut))] },
      ...p.stages.slice(i + 1),
    ];
  }
  return undefined;
}

/** An active-passive pool with the mark as one of its lanes, placed (as predicted) before `place.before`. */
function withMark(ctx: HopContext, pool: Pool, place: { component: string; before: string }): Pool {
  const ap = pool.activePassive as NonNullable<Pool["activePassive"]>;
  const mark = markStage(ctx).pools[0]?.lanes[0] as Pool["lanes"][number];
  const step = mark.steps[0]?.id as string;
  const c = ctx.cluster.components.find((x) => x.name === place.component);
  const was = c && switchoverOf(ctx, c)?.was;
  const marked: Pool = {
    ...pool,
    lanes: [...pool.lanes, mark],
    activePassive: { ...ap, pointOfNoReturn: { step, before: place.before } },
  };
  return was ? orderActivePassive(marked, was) : marked;
}
