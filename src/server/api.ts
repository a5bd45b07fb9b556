/**
 * The HTTP API and the dashboard's files, as a Hono app. Reads are open to whoever can reach the
 * server (it listens on loopback unless told otherwise); every POST needs the bearer token. Every
 * request must name an allowed host (allowed-hosts.ts), and no body over 1 MiB is read.
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
 *   POST /api/runs/:id/approve | reject {"by"?: NAME}   answers the approval the run waits for
 *   GET  /api/events            Server-Sent Events: every run event
 *   GET  /metrics               Prometheus text format
 */

import { readFile } from "node:fs/promises";
import { hostname } from "node:os";
import type { Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { streamSSE } from "hono/streaming";
import { type Catalog, planPath, releaseIndex } from "../catalog/index.js";
import type { Cluster } from "../cluster/cluster.js";
import { RefusedError, UserError } from "../errors.js";
import { answerApproval } from "../gates/approval.js";
import { migrationsFor } from "../migrate/plan-migrations.js";
import { buildPlan } from "../plan/build-plan.js";
import { timelineSvg } from "../report/report-html.js";
import { runTimeline } from "../report/run-report.js";
import type { RunEvents } from "../run/events.js";
import { requireOneVersion } from "../run/observe.js";
import { pause } from "../run/pause.js";
import { clusterStatus, runHistory } from "../run/status.js";
import { targetOf } from "../run/upgrade.js";
import type { StateStore } from "../store/state-store.js";
import { checkBearer } from "./bearer-auth.js";
import { guardedApp } from "./guarded-app.js";
import { errorAnswer } from "./http-errors.js";
import { renderMetrics, type StepDurations } from "./metrics.js";
import type { HostsSeen } from "./observe-hosts.js";
import { runDetail } from "./run-detail.js";
import type { Launch, LaunchRequest, RunLauncher } from "./run-launcher.js";
import type { SharedRound } from "./shared-round.js";

export interface ApiContext {
  readonly cluster: Cluster;
  readonly catalog: Catalog;
  readonly store: StateStore;
  readonly token: string;
  /** Names a request's `Host` may carry (allowedHosts()). */
  readonly allowedHosts: ReadonlySet<string>;
  /** The look at the hosts that reads share. */
  readonly hosts: SharedRound<HostsSeen>;
  readonly feed: RunEvents;
  readonly launcher: RunLauncher;
  readonly durations: StepDurations;
  /** Ends every open event stream when the server closes. */
  readonly closing: AbortSignal;
}

/** The API takes a few fields of JSON: a body bigger than this is refused unread. */
const MAX_BODY_BYTES = 1024 * 1024;

// Up and down again, not "./dashboard/": the same path from src/server/, dist/server/ and the
// bundled CLI's dist/cli-bundle/ (scripts/bundle-cli.mjs), each two folders below the package.
export const DASHBOARD = new URL("../server/dashboard/", import.meta.url);
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
  const app = guardedApp(ctx.allowedHosts);

  app.post("/api/*", async (c, next) => {
    const verdict = checkBearer(ctx.token, c.req.header("authorization"));
    if (verdict === "missing") {
      c.header("WWW-Authenticate", 'Bearer realm="ferry"');
      return c.json({ error: "this call changes the cluster: send Authorization: Bearer <token>" }, 401);
    }
    if (verdict === "wrong") return c.json({ error: "the token is wrong" }, 403);
    await next();
  });

  // A declared length is judged before a byte is read, any method; a chunked body as it streams in,
  // refused once past the limit (hono's bodyLimit holds at most that much).
  const tooLarge = (c: Context) =>
    c.json(
      { error: "the request body is over 1 MiB: the API takes small JSON bodies" },
      413,
      // What is left of the body is not read: this connection cannot carry another request.
      { Connection: "close" },
    );
  app.use("*", async (c, next) => {
    const length = Number(c.req.header("content-length") ?? 0);
    return length > MAX_BODY_BYTES ? tooLarge(c) : next();
  });
  app.use("*", bodyLimit({ maxSize: MAX_BODY_BYTES, onError: tooLarge }));

  // Reads of the hosts go through ctx.hosts: shared, at most one round every few seconds.
  app.get("/api/status", async (c) => {
    const seen = await ctx.hosts.get();
    return c.json(await clusterStatus(cluster, store, seen.members));
  });

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
    let start = from;
    let actives = new Map<string, string>();
    if (start === undefined) {
      const seen = await ctx.hosts.get();
      start = requireOneVersion(
        seen.members,
        cluster.name,
        "pass ?from= to name the release yourself",
        catalog,
      );
      if ("error" in seen.actives) throw seen.actives.error;
      actives = seen.actives.hosts;
    }
    return c.json(
      buildPlan(cluster, planPath(catalog, start, to), migrationsFor(cluster.database, catalog), actives),
    );
  });

  app.get("/api/runs", async (c) => c.json(await runHistory(cluster, store)));

  app.get("/api/runs/:id", async (c) => {
    const detail = await runDetail(store, c.req.param("id"));
    return detail ? c.json(detail) : c.json({ error: `no run ${c.req.param("id")}` }, 404);
  });

  // The run's timeline as `ferry report` draws it, one SVG: the dashboard's run view fetches it as the run goes.
  app.get("/api/runs/:id/timeline", async (c) => {
    const id = c.req.param("id");
    const timeline = await runTimeline(cluster, store, id);
    if (!timeline) return c.json({ error: `no run ${id}` }, 404);
    return c.body(timelineSvg(timeline), 200, { "content-type": "image/svg+xml; charset=utf-8" });
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

  for (const [op, verdict] of [
    ["approve", "approved"],
    ["reject", "rejected"],
  ] as const) {
    app.post(`/api/runs/:id/${op}`, async (c) => {
      const id = c.req.param("id");
      if (!(await store.getRun(id))) return c.json({ error: `no run ${id}` }, 404);
      const body = await jsonBody(c);
      if (body.by !== undefined && (typeof body.by !== "string" || body.by.trim() === "")) {
        throw new UserError('"by" must be a non-empty string: who answers, for the journal');
      }
      const by =
        typeof body.by === "string" ? body.by.trim() : `an API client of ferry serve on ${hostname()}`;
      return c.json(await answerApproval({ cluster, store, verdict, by, runId: id }), 200);
    });
  }

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
    // The journal after the hosts: a read that waited for them still shows the run as it is now.
    const seen = await ctx.hosts.get();
    const runs = await store.listRuns(cluster.name);
    const newest = runs[0];
    const steps = newest ? await store.steps(newest.id) : [];
    const text = renderMetrics({ steps, members: seen.members.members, runs, durations: ctx.durations });
    return c.body(text, 200, { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" });
  });

  for (const [path, file] of Object.entries(ASSETS)) {
    app.get(path, async (c) => {
      const text = await readFile(new URL(file, DASHBOARD), "utf8");
      const type = TYPES[file.split(".").at(-1) ?? ""] ?? "text/plain";
      return c.body(text, 200, { "Content-Type": type, "Cache-Control": "no-cache" });
    });
  }

  /**
   * A run started here that has just paused or stopped still holds the lock for the moment it takes
   * to end: a request that follows its `paused` event waits for that, rather than being refused by
   * this server's own run. Any other holder is refused at once.
   */
  async function launchOnceOwnLockIsFree(request: LaunchRequest): Promise<Launch> {
    try {
      return await ctx.launcher.launch(request);
    } catch (err) {
      if (!(err instanceof RefusedError && err.rule === "lock")) throw err;
      const holder = await store.lockHolder(cluster.name);
      const run = holder?.runId ? await store.getRun(holder.runId) : undefined;
      const ownAndEnding =
        holder?.pid === process.pid && holder.host === hostname() && run?.status !== "running";
      if (!ownAndEnding) throw err;
      await ctx.launcher.settled(5000);
      return ctx.launcher.launch(request);
    }
  }

  async function launch(c: Context, request: LaunchRequest) {
    let started: Launch;
    try {
      started = await launchOnceOwnLockIsFree(request);
    } catch (err) {
      if (!(err instanceof RefusedError && err.rule === "lock")) throw err;
      // The conflict, with who is in the way, for a client to show.
      const holder = await store.lockHolder(cluster.name);
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
