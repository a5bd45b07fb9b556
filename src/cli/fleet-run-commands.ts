/**
 * `ferry fleet apply|status|pause|resume|abort -f fleet.yaml`: record a fleet run in the fleet's
 * store and work on it (or leave it to `ferry worker`s), watch it, and steer it.
 */
import { readFileSync } from "node:fs";
import { relative } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import {
  ExitCode,
  type Fleet,
  type FleetRunView,
  type FleetStore,
  failureLimit,
  fleetRunView,
  forTerminal,
  loadFleet,
  type NewClusterRun,
  newRunId,
  newWorkerId,
  openFleetStore,
  RefusedError,
  runWorker,
  UserError,
  whoStarted,
  yamlWithoutPasswords,
} from "../index.js";
import { confirmer } from "./context.js";
import { printJson } from "./output.js";
import type { SetExit } from "./program.js";
import { withWorkerSignals, workerRunner } from "./worker-command.js";

export interface FleetFileFlags {
  file: string;
  json?: boolean;
}

export interface FleetApplyFlags extends FleetFileFlags {
  to?: string;
  yes?: boolean;
  work: boolean;
}

export type FleetAction = "pause" | "resume" | "abort";

export async function fleetApplyCommand(flags: FleetApplyFlags, setExit: SetExit): Promise<void> {
  setExit(await fleetApply(flags));
}

export async function fleetStatusCommand(flags: FleetFileFlags): Promise<void> {
  const f = loadFleet(flags.file);
  await withFleetStore(f, async (store) => {
    const run = await store.latestFleetRun(f.name);
    const view = run ? fleetRunView(run, await store.clusterRuns(run.id)) : null;
    if (flags.json) printJson(view ?? { fleet: f.name, run: null });
    else process.stdout.write(view ? statusText(view) : `fleet ${f.name} has no fleet run yet\n`);
  });
}

/** `fleet pause|resume|abort`: the fleet run's status changed, by whom, for every worker to follow. */
export async function fleetSteerCommand(action: FleetAction, flags: FleetFileFlags): Promise<void> {
  const f = loadFleet(flags.file);
  await withFleetStore(f, async (store) => {
    const run = await store.latestFleetRun(f.name);
    if (!run) throw new RefusedError(`fleet ${f.name} has no fleet run to ${action}`, "no-fleet-run");
    const after = await store.setFleetStatus(run.id, action, whoStarted());
    if (!after) throw new RefusedError(`fleet run ${run.id} is gone`, "no-fleet-run");
    if (after.status === run.status) {
      throw new RefusedError(
        `fleet run ${run.id} is ${run.status}${run.endedAt === null ? "" : " (ended)"}: nothing to ${action}`,
        "fleet-status",
      );
    }
    if (flags.json) printJson({ fleetRunId: after.id, status: after.status, reason: after.reason });
    else
      process.stdout.write(
        `fleet run ${after.id}: ${after.status}${after.reason ? ` (${after.reason})` : ""}\n`,
      );
  });
}

async function withFleetStore<T>(
  f: Fleet,
  body: (store: FleetStore) => Promise<T>,
  poolSize = 4,
): Promise<T> {
  const store = await openFleetStore(f.state, { poolSize, dir: f.dir });
  try {
    return await body(store);
  } finally {
    await store.close();
  }
}

async function fleetApply(flags: FleetApplyFlags): Promise<ExitCode> {
  const f = loadFleet(flags.file);
  if (!flags.to) throw new UserError("fleet apply: pass --to VERSION, the release every cluster goes to");
  const target = flags.to;
  const total = f.members.length + f.refused.length;
  const strategy = {
    groups: f.strategy.groups,
    maxParallel: f.strategy.maxParallel,
    soakMs: f.strategy.soakMs,
    maxFailures: failureLimit(f.strategy.maxFailures, total),
  };
  const confirm = confirmer(flags.yes);
  const question = `Upgrade the ${f.members.length} cluster(s) of fleet ${f.name} to ${target} (groups ${strategy.groups.join(" → ")}, at most ${strategy.maxParallel} at once, stop after ${strategy.maxFailures} failure(s))?`;
  if (confirm && !(await confirm(question))) {
    process.stdout.write("cancelled; nothing was changed\n");
    return ExitCode.failed;
  }
  return withFleetStore(
    f,
    async (store) => {
      const open = (await store.listFleetRuns(f.name)).find((r) => r.endedAt === null);
      if (open) {
        throw new RefusedError(
          `fleet run ${open.id} of ${f.name} (to ${open.target}) is ${open.status} and has not ended`,
          "open-fleet-run",
          "watch it with `ferry fleet status`, or stop it with `ferry fleet abort`",
        );
      }
      const id = newRunId();
      await store.createFleetRun(
        {
          id,
          fleet: f.name,
          target,
          strategy,
          status: "running",
          createdBy: whoStarted(),
          createdAt: Date.now(),
        },
        clusterRunsOf(f),
      );
      const say = (text: string) => {
        if (!flags.json) process.stdout.write(`${forTerminal(text)}\n`);
      };
      say(
        `fleet run ${id}: ${f.members.length} cluster(s) to ${target}${f.refused.length ? `, ${f.refused.length} refused` : ""}`,
      );
      const ended = async () => (await store.getFleetRun(id))?.endedAt != null;
      let interrupted = false;
      if (flags.work) {
        const workerId = newWorkerId();
        await withWorkerSignals(say, (interrupt, stop) => {
          interrupt.addEventListener("abort", () => {
            interrupted = true;
          });
          return runWorker({
            store,
            id: workerId,
            concurrency: strategy.maxParallel,
            runCluster: workerRunner(workerId, f.state, f.dir),
            interrupt,
            stop,
            until: ended,
            log: say,
          });
        });
      } else {
        interrupted = await waitForEnd(ended);
      }
      const run = await store.getFleetRun(id);
      const view = run && fleetRunView(run, await store.clusterRuns(run.id));
      if (flags.json) printJson(view);
      else if (view) process.stdout.write(statusText(view));
      if (interrupted && run?.endedAt == null) return ExitCode.interrupted;
      return run?.status === "done" ? ExitCode.ok : ExitCode.failed;
    },
    strategy.maxParallel + 2,
  );
}

/** Polls until the fleet run ends; true when a signal came first (the workers carry on). */
async function waitForEnd(ended: () => Promise<boolean>): Promise<boolean> {
  const signalled = new AbortController();
  const on = () => signalled.abort();
  process.once("SIGINT", on);
  process.once("SIGTERM", on);
  try {
    while (!signalled.signal.aborted) {
      if (await ended()) return false;
      await sleep(500, undefined, { signal: signalled.signal }).catch(() => {});
    }
    return true;
  } finally {
    process.off("SIGINT", on);
    process.off("SIGTERM", on);
  }
}

/** One cluster run per cluster, with the copies of its files a worker elsewhere runs from (passwords masked). */
function clusterRunsOf(f: Fleet): NewClusterRun[] {
  const catalogs = new Map<string, string>();
  const catalogText = (file: string): string => {
    let text = catalogs.get(file);
    if (text === undefined) {
      text = yamlWithoutPasswords(readFileSync(file, "utf8"));
      catalogs.set(file, text);
    }
    return text;
  };
  return [
    ...f.members.map((m) => ({
      cluster: m.name,
      group: m.group,
      file: m.file,
      clusterText: yamlWithoutPasswords(m.cluster.text),
      catalogFile: m.cluster.catalog,
      catalogText: catalogText(m.cluster.catalog),
    })),
    ...f.refused.map((r) => ({
      cluster: r.name ?? relative(f.dir, r.file),
      group: r.group,
      file: r.file,
      clusterText: "",
      catalogFile: "",
      catalogText: "",
      refused: r.reason,
    })),
  ];
}

function statusText(v: FleetRunView): string {
  const counts = (c: Record<string, number>) =>
    Object.entries(c)
      .filter(([, n]) => n > 0)
      .map(([k, n]) => `${n} ${k}`)
      .join(", ");
  const lines = [
    `fleet ${v.fleet}, run ${v.fleetRunId} to ${v.target}: ${v.status}${v.reason ? ` (${v.reason})` : ""}`,
    `  ${counts(v.counts)}`,
  ];
  for (const g of v.groups) {
    lines.push(`group ${g.name}: ${counts(g.counts) || "no cluster"}`);
    for (const c of g.clusters) {
      const worker = c.worker && (c.state === "claimed" || c.state === "running") ? ` on ${c.worker}` : "";
      lines.push(
        `  ${c.cluster}: ${c.state}${c.version ? `, at ${c.version}` : ""}${worker}${c.error ? ` — ${c.error}` : ""}`,
      );
    }
  }
  return `${lines.map((l) => forTerminal(l)).join("\n")}\n`;
}
