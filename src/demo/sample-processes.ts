/**
 * The sample cluster's processes outside an upgrade: bringing its members up on their first
 * release (and down again) with the cluster file's own commands, as an operator would before
 * ferry takes over, and the notes gateway, its load balancer. Used by `ferry demo` and by tests
 * that put another load balancer in the gateway's place.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { cpSync, mkdirSync, openSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { loadCluster } from "../cluster/cluster.js";
import { render } from "../cluster/template.js";
import type { DriverPool } from "../drivers/driver-pool.js";
import { OperationError } from "../errors.js";
import { clusterMembers } from "../plan/build-plan.js";
import { observe } from "../run/observe.js";
import { FIRST, NOTES, type SampleCluster } from "./sample-cluster.js";

/** The gateway is the cluster's load balancer: ferry drains hosts in it, and does not upgrade it. */
export function startGateway(root: string, sample: SampleCluster): ChildProcess {
  const dir = join(root, "gateway");
  mkdirSync(dir, { recursive: true });
  cpSync(join(NOTES, "app"), dir, { recursive: true });
  cpSync(join(NOTES, "releases", FIRST), dir, { recursive: true });
  const log = openSync(join(root, "gateway.log"), "a");
  return spawn(process.execPath, [join(dir, "gateway.mjs")], {
    env: {
      ...process.env,
      NOTES_PORT: String(sample.gateway.port),
      NOTES_ADMIN_PORT: String(sample.gateway.adminPort),
      NOTES_BACKENDS: sample.apiHosts.map((h) => `127.0.0.1:${sample.apiPorts[h]}`).join(","),
    },
    stdio: ["ignore", log, log],
  });
}

/** Runs the cluster file's own commands on every member, as the upgrade would. */
export async function runOnEveryMember(
  cluster: ReturnType<typeof loadCluster>,
  pool: DriverPool,
  which: readonly ("install" | "activate" | "start" | "stop")[],
  version: string,
): Promise<void> {
  const components = new Map(cluster.components.map((c) => [c.name, c]));
  await Promise.all(
    clusterMembers(cluster).map(async (m) => {
      const c = components.get(m.component) as (typeof cluster.components)[number];
      const values = {
        version,
        from: version,
        host: m.host,
        address: m.address,
        component: m.component,
        vars: m.vars,
      };
      for (const command of which) {
        const r = await pool
          .driverFor(m.host)
          .exec(render(c.commands[command], values), { timeoutMs: 30_000 });
        if (r.exitCode !== 0) {
          throw new OperationError(
            `${command} of ${m.component} on ${m.host}: exit ${r.exitCode}: ${r.output.trim()}`,
          );
        }
      }
    }),
  );
}

/** Until every member is healthy and the load balancer at `url` answers its /health. */
export async function waitUntilUp(
  cluster: ReturnType<typeof loadCluster>,
  pool: DriverPool,
  url: string,
): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const seen = await observe(clusterMembers(cluster), pool.driverFor, { health: true });
    const up = await fetch(`${url}/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (up && seen.members.every((m) => m.healthy !== false)) return;
    await sleep(100);
  }
  throw new OperationError("the sample cluster did not come up within 10 s");
}
