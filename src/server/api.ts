/**
 * The HTTP API and the dashboard's files, as a Hono app. Reads are open to whoever can reach the
 * server (it listens on loopback unless told otherwise); every POST needs the bearer token.
 *
 *   GET  /api/status            as `ferry status --json`
 *   GET  /api/catalog           the product and its releases, oldest first
 *   GET  /api/plan?to=V         as `ferry plan --json`
 *   GET  /api/runs              as `ferry history --json`
 *   GET  /api/runs/:id          a run, its plan's shape and every step
 *   POST /api/runs {"to":V}     starts an upgrade in this process: 202 {"runId"}; a path with release
 *                               warnings to accept is refused (409, the warnings listed) unless
 *                               the body says {"acceptWarnings": true}
 *   POST /api/runs/:id/pause | resume | rollback
 *   GET  /api/events            Server-Sent Events: every run event
 *   GET  /metrics               Prometheus text format
 */
import { readFile } from "node:fs/promises";
import { hostname } from "node:os";
import type { Context } from "hono";
import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { type Catalog, planPath, releaseIndex } from "../catalog/index.js";
import type { Cluster } from "../cluster/cluster.js";
import { DriverPool } from "../drivers/driver-pool.js";
import { RefusedError, UserError } from "../errors.js";
import { migrationsFor } from "../migrate/plan-migrations.js";
import { buildPlan, clusterMembers } from "../plan/build-plan.js";
import type { RunEvents } from "../run/events.js";
import { observe, observeActives, requireOneVersion } from "../run/observe.js";
import { pause } from "../run/pause.js";
import { clusterStatus, runHistory } from "../run/status.js";
import { targetOf } from "../run/upgrade.js";
import type { StateStore } from "../store/state-store.js";
import { checkBearer } from "./bearer-auth.js";
import { errorAnswer } from "./http-errors.js";
import { renderMetrics, type StepDurations } from "./metrics.js";
import { runDetail } from "./run-detail.js";
import type { Launch, LaunchRequest, RunLauncher } from "./run-launcher.js";

export interface ApiContext {
  readonly cluster: Cluster;
  readonly catalog: Catalog;
  readonly store: StateStore;
  readonly token: string;
  readonly feed: RunEvents;
  readonly launcher: RunLauncher;
  readonly durations: StepDurations;
  /** Ends every open event stream when the server closes. */
  readonly closing: AbortSignal;
}

const DASHBOARD = new URL("./dashboard/", import.meta.url);
const ASSETS: Readonly<Record<string, string>> = {
  "/": "index.html",
  "/dashboard.js": "dashboard.js",
  "/dashboard.css": "dashboard.css",
};
const TYPES: Readonly<Record<string, string>> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
};

export function createApi(ctx: ApiContext): Hono {
  const { cluster, catalog, store } = ctx;
  const app = new Hono();

  app.onError((err, c) => {
    const { status, body } = errorAnswer(err);
    return c.json(body, status);
  });
  app.notFound((c) => c.json({ error: `no such endpoint: ${c.req.method} ${c.req.path}` }, 404));

  app.post("/api/*", async (c, next) => {
    const verdict = checkBearer(ctx.token, c.req.header("authorization"));
    if (verdict === "missing") {
      c.header("WWW-Authenticate", 'Bearer realm="ferry"');
      return c.json({ error: "this call changes the cluster: send Authorization: Bearer <token>" }, 401);
    }
    if (verdict === "wrong") return c.json({ error: "the token is wrong" }, 403);
    await next();
  });

  app.get("/api/status", async (c) => c.json(await clusterStatus(cluster, store)));

  app.get("/api/catalog", (c) =>
    c.json({
      product: catalog.product,
      scheme: catalog.scheme,
      releases: catalog.releases.map((r) => r.version),
    }),
  );

  app.get("/api/plan", async (c) => {
    const to = targetOf(cluster, c.req.query("to"));
    releaseIndex(catalog, to, "to");
    const from = c.req.query("from");
    if (from !== undefined) releaseIndex(catalog, from, "from");
    const pool = new DriverPool(cluster.hosts);
    try {
      const start =
        from ??
        requireOneVersion(
          await observe(clusterMembers(cluster), pool.driverFor, { health: false }),
          cluster.name,
          "pass ?from= to name the release yourself",
        );
      const actives = from ? new Map<string, string>() : await observeActives(cluster, pool.driverFor);
      return c.json(
        buildPlan(cluster, planPath(catalog, start, to), migrationsFor(cluster.database, catalog), actives),
      );
    } finally {
      await pool.close();
    }
  });

  app.get("/api/runs", async (c) => c.json(await runHistory(cluster, store)));

  app.get("/api/runs/:id", async (c) => {
    const detail = await runDetail(store, c.req.param("id"));
    return detail ? c.json(detail) : c.json({ error: `no run ${c.req.param("id")}` }, 404);
  });

  app.post("/api/runs", async (c) => {
    const body = await jsonBody(c);
    if (body.to !== undefined && typeof body.to !== "string") {
      return c.json({ error: "to: give the version to reach as a string", field: "to" }, 400);
    }
    const to = typeof body.to === "string" ? body.to : cluster.version;
    if (!to) {
      return c.json({ error: `to: missing, and ${cluster.file} sets no version`, field: "to" }, 400);
    }
    if (body.acceptWarnings !== undefined && typeof body.acceptWarnings !== "boolean") {
      return c.json(
        {
          error: "acceptWarnings: true accepts the path's release warnings; give a boolean",
          field: "acceptWarnings",
        },
        400,
      );
    }
    releaseIndex(catalog, to, "to");
    return launch(c, { op: "apply", to, acceptWarnings: body.acceptWarnings === true });
  });

  app.post("/api/runs/:id/pause", async (c) => {
    const id = c.req.param("id");
    if (!(await store.getRun(id))) return c.json({ error: `no run ${id}` }, 404);
    const request = await pause({
      cluster,
      store,
      runId: id,
      by: `an API client of ferry serve on ${hostname()}`,
    });
    return c.json(request, 202);
  });

  for (const op of ["resume", "rollback"] as const) {
    app.post(`/api/runs/:id/${op}`, async (c) => {
      const id = c.req.param("id");
      const run = await store.getRun(id);
      if (!run) return c.json({ error: `no run ${id}` }, 404);
      const open = await store.unfinishedRun(cluster.name);
      if (open?.id !== id) {
        return c.json(
          { error: `run ${id} is ${run.status}: there is nothing to ${op}`, rule: "no-open-run" },
          409,
        );
      }
      return launch(c, { op });
    });
  }

  app.get("/api/events", (c) =>
    streamSSE(c, async (stream) => {
      // Events are written in the order they came; the stream queues what the socket has not taken yet.
      const off = ctx.feed.on((event) => {
        void stream.writeSSE({ event: event.type, data: JSON.stringify(event) }).catch(() => {});
      });
      const keepAlive = setInterval(() => void stream.write(": keep-alive\n\n").catch(() => {}), 15_000);
      try {
        await stream.writeSSE({ event: "hello", data: JSON.stringify({ cluster: cluster.name }) });
        await new Promise<void>((resolve) => {
          stream.onAbort(resolve);
          if (ctx.closing.aborted) resolve();
          ctx.closing.addEventListener("abort", () => resolve(), { once: true });
        });
      } finally {
        off();
        clearInterval(keepAlive);
      }
    }),
  );

  app.get("/metrics", async (c) => {
    const runs = await store.listRuns(cluster.name);
    const newest = runs[0];
    const pool = new DriverPool(cluster.hosts);
    try {
      const [steps, seen] = await Promise.all([
        newest ? store.steps(newest.id) : [],
        observe(clusterMembers(cluster), pool.driverFor, { health: false }),
      ]);
      const text = renderMetrics({ steps, members: seen.members, runs, durations: ctx.durations });
      return c.body(text, 200, { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" });
    } finally {
      await pool.close();
    }
  });

  for (const [path, file] of Object.entries(ASSETS)) {
    app.get(path, async (c) => {
      const text = await readFile(new URL(file, DASHBOARD), "utf8");
      const type = TYPES[file.split(".").at(-1) ?? ""] ?? "text/plain";
      return c.body(text, 200, { "Content-Type": type, "Cache-Control": "no-cache" });
    });
  }

  async function launch(c: Context, request: LaunchRequest) {
    let started: Launch;
    try {
      started = await ctx.launcher.launch(request);
    } catch (err) {
      if (!(err instanceof RefusedError && err.rule === "lock")) throw err;
      // The conflict, with who is in the way, for a client to show.
      const holder = await store.lockHolder();
      const { body } = errorAnswer(err);
      return c.json(
        {
          ...body,
          ...(holder
            ? {
                holder: {
                  host: holder.host,
                  pid: holder.pid,
                  runId: holder.runId,
                  since: new Date(holder.acquiredAt).toISOString(),
                },
              }
            : {}),
        },
        409,
      );
    }
    if (started.started) return c.json({ runId: started.runId, status: "running" }, 202);
    // It ended without a run to show: nothing to do, or cancelled before anything changed.
    const { runId, status, message } = started.result;
    return c.json({ runId, status, message }, 200);
  }

  return app;
}

async function jsonBody(c: Context): Promise<Record<string, unknown>> {
  const text = await c.req.text();
  if (text.trim() === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new UserError('the request body is not JSON: send {"to": "VERSION"}');
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new UserError('the request body must be a JSON object: {"to": "VERSION"}');
  }
  return value as Record<string, unknown>;
}
