// biome-ignore-all lint/suspicious/noExplicitAny: the API's JSON answers are read field by field by the assertions
/**
 * `ferry serve`'s HTTP API through a real server process on a free port, on the fake product:
 * every endpoint, the token, the live event stream (runs started through the API and by the CLI),
 * pause, resume and rollback, and the metrics.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import {
  allAt,
  type FakeProduct,
  type FakeProductOptions,
  gate,
  makeFakeProduct,
  reached,
  release,
} from "./support/fake-product.js";
import { ferryAsync, type StartedFerry, startFerry } from "./support/run-ferry-async.js";
import { type EventReader, readEvents, type Served, type SseEvent, serveCluster } from "./support/serve.js";

const TOKEN = randomBytes(12).toString("hex");
/** A hook that keeps the roll busy long enough to act on a run in progress. */
const SLOW_ROLL = "hooks: { before: { roll: 'echo rolling to {{version}}; sleep 1' } }";

interface Ctx {
  readonly p: FakeProduct;
  readonly c: string[];
  readonly s: Served;
  get(path: string): Promise<{ status: number; body: any; headers: Headers }>;
  post(
    path: string,
    body?: unknown,
    token?: string | null,
  ): Promise<{ status: number; body: any; headers: Headers }>;
}

async function withServer(
  options: FakeProductOptions,
  body: (ctx: Ctx) => Promise<void>,
  env: Record<string, string> = {},
) {
  const p = makeFakeProduct(options);
  const c = ["-c", p.clusterFile];
  const s = await serveCluster(c, { FERRY_TOKEN: TOKEN, ...env });
  const call = async (path: string, init: RequestInit = {}) => {
    const r = await fetch(new URL(path, s.url), init);
    const text = await r.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {}
    return { status: r.status, body: parsed as any, headers: r.headers };
  };
  try {
    await body({
      p,
      c,
      s,
      get: (path) => call(path),
      post: (path, json, token = TOKEN) =>
        call(path, {
          method: "POST",
          headers: {
            ...(token === null ? {} : { Authorization: `Bearer ${token}` }),
            "Content-Type": "application/json",
          },
          ...(json === undefined ? {} : { body: typeof json === "string" ? json : JSON.stringify(json) }),
        }),
    });
  } finally {
    await s.stop();
    p.cleanup();
  }
}

const runEvent = (runId: string, status: string) => (e: SseEvent) =>
  e.event === "run" && e.data.runId === runId && e.data.status === status;

/** Prometheus text → { 'name{labels}': value }. */
function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-z_]+(?:\{[^}]*\})?) (\S+)$/.exec(line);
    assert.ok(m, `not a sample line: ${line}`);
    out.set(m[1] as string, Number(m[2]));
  }
  return out;
}

describe("ferry serve: reading", () => {
  it("status, plan, runs and catalog answer as the CLI does; unknown things are 404 in JSON", async () => {
    await withServer({ hosts: 2 }, async ({ c, get, s }) => {
      const status = await get("api/status");
      assert.equal(status.status, 200);
      assert.deepEqual(status.body, JSON.parse((await ferryAsync(["status", ...c, "--json"])).stdout));

      const plan = await get("api/plan?to=1.0.2");
      assert.equal(plan.status, 200);
      assert.deepEqual(
        plan.body,
        JSON.parse((await ferryAsync(["plan", ...c, "--to", "1.0.2", "--json"])).stdout),
      );

      const bad = await get("api/plan?to=7.7.7");
      assert.equal(bad.status, 400);
      assert.equal(bad.body.field, "to");
      assert.match(bad.body.error, /^to: 7\.7\.7 is not a release/);

      assert.deepEqual((await get("api/runs")).body, []);
      assert.deepEqual((await get("api/catalog")).body.releases, ["1.0.0", "1.0.1", "1.0.2", "1.1.0"]);
      const none = await get("api/runs/no-such-run");
      assert.equal(none.status, 404);
      assert.deepEqual(none.body, { error: "no run no-such-run" });
      assert.equal((await get("api/nothing")).status, 404);

      const page = await get("");
      assert.equal(page.status, 200);
      assert.match(page.headers.get("content-type") ?? "", /text\/html/);
      assert.match(page.body, /<script type="module" src="dashboard.js">/);
      assert.match((await get("dashboard.js")).headers.get("content-type") ?? "", /javascript/);
      assert.doesNotMatch(s.output(), new RegExp(TOKEN), "a token the user gave is never printed");
    });
  });
});

describe("ferry serve: the token", () => {
  it("a POST without the token is 401, with a wrong one 403, and changes nothing", async () => {
    await withServer({}, async ({ p, post, get, s }) => {
      const missing = await post("api/runs", { to: "1.0.1" }, null);
      assert.equal(missing.status, 401);
      assert.match(missing.headers.get("www-authenticate") ?? "", /^Bearer/);
      assert.match(missing.body.error, /Authorization: Bearer/);
      const basic = await fetch(new URL("api/runs", s.url), {
        method: "POST",
        headers: { Authorization: `Basic ${Buffer.from(`ops:${TOKEN}`).toString("base64")}` },
        body: JSON.stringify({ to: "1.0.1" }),
      });
      assert.equal(basic.status, 401, "only a bearer token counts");
      const wrong = await post("api/runs", { to: "1.0.1" }, `${TOKEN}x`);
      assert.equal(wrong.status, 403);
      assert.deepEqual(wrong.body, { error: "the token is wrong" });
      assert.equal((await post("api/runs/any/pause", undefined, null)).status, 401);
      assert.equal((await post("api/runs/any/rollback", undefined, "nope")).status, 403);
      assert.deepEqual((await get("api/runs")).body, []);
      assert.ok(allAt(p, "1.0.0"));
    });
  });

  it("without FERRY_TOKEN, a token is generated, printed once at start, and required", async () => {
    const p = makeFakeProduct({});
    const s = await serveCluster(["-c", p.clusterFile], { FERRY_TOKEN: undefined });
    try {
      const token = /API token \(FERRY_TOKEN sets your own\): (\S+)/.exec(s.output())?.[1];
      assert.ok(token && token.length >= 32, s.output());
      const post = (t: string) =>
        fetch(new URL("api/runs", s.url), {
          method: "POST",
          headers: { Authorization: `Bearer ${t}` },
          body: JSON.stringify({ to: "not-a-version" }),
        });
      assert.equal((await post("wrong")).status, 403);
      // The right token gets as far as the version check.
      assert.equal((await post(token)).status, 400);
    } finally {
      await s.stop();
      p.cleanup();
    }
  });
});

describe("ferry serve: runs", () => {
  it("POST /api/runs starts an upgrade (202); events stream live; the run, its steps and the metrics show it", async () => {
    await withServer(
      { hosts: 2, components: [{ name: "api" }, { name: "worker", order: 2 }], extra: SLOW_ROLL },
      async ({ p, get, post, s }) => {
        let events: EventReader | undefined;
        try {
          events = await readEvents(s.url);
          assert.equal((await post("api/runs", "{not json")).status, 400);
          const badField = await post("api/runs", { to: 102 });
          assert.equal(badField.status, 400);
          assert.equal(badField.body.field, "to");

          const started = await post("api/runs", { to: "1.0.2" });
          assert.equal(started.status, 202, JSON.stringify(started.body));
          const { runId } = started.body;
          assert.match(runId, /^\d{8}T\d{6}Z-[0-9a-f]{12}$/);

          // A second upgrade while this one holds the lock: 409, naming the holder.
          const second = await post("api/runs", { to: "1.0.2" });
          assert.equal(second.status, 409);
          assert.equal(second.body.rule, "lock");
          assert.equal(second.body.holder.runId, runId);
          assert.match(second.body.error, /another ferry holds the lock/);

          await events.waitFor(
            (e) =>
              e.event === "step" && e.data.id === "1.0.1/roll/api/h1/activate" && e.data.state === "done",
          );
          await events.waitFor(runEvent(runId, "done"));
          assert.ok(allAt(p, "1.0.2"));

          const detail = (await get(`api/runs/${runId}`)).body;
          assert.equal(detail.run.status, "done");
          assert.deepEqual(
            detail.hops.map((h: any) => `${h.from}→${h.to}`),
            ["1.0.0→1.0.1", "1.0.1→1.0.2"],
          );
          assert.deepEqual(
            detail.hops[0].phases.map((ph: any) => ph.name),
            ["preflight", "roll", "point-of-no-return", "verify"],
          );
          assert.ok(
            detail.steps.every(
              (st: any) => st.state === "done" && st.startedAt && st.endedAt && st.durationMs >= 0,
            ),
          );
          const activate = detail.steps.find((st: any) => st.id === "1.0.1/roll/worker/h2/activate");
          assert.deepEqual(
            [activate.host, activate.component, activate.exitCode, activate.attempts],
            ["h2", "worker", 0, 1],
          );
          const hook = detail.steps.find((st: any) => st.id === "1.0.2/roll/before-hook");
          assert.equal(hook.output, "rolling to 1.0.2\n");
          // Every step the run took came through the stream, done.
          const streamed = new Set(
            events.events.filter((e) => e.event === "step" && e.data.state === "done").map((e) => e.data.id),
          );
          assert.deepEqual([...streamed].sort(), detail.steps.map((st: any) => st.id).sort());

          const metrics = await get("metrics");
          assert.match(metrics.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
          const m = parseMetrics(metrics.body);
          assert.equal(m.get('ferry_steps{state="done"}'), detail.steps.length);
          assert.equal(m.get('ferry_steps{state="running"}'), 0);
          assert.equal(m.get('ferry_hosts{component="api",version="1.0.2"}'), 2);
          assert.equal(m.get('ferry_hosts{component="worker",version="1.0.2"}'), 2);
          assert.equal(m.get('ferry_runs{result="done"}'), 1);
          const rollCount = m.get('ferry_step_duration_seconds_count{phase="roll"}') ?? 0;
          assert.equal(rollCount, detail.steps.filter((st: any) => st.id.split("/")[1] === "roll").length);
          assert.equal(m.get('ferry_step_duration_seconds_bucket{phase="roll",le="+Inf"}'), rollCount);
          assert.ok(
            (m.get('ferry_step_duration_seconds_sum{phase="roll"}') ?? 0) >= 2,
            "two hooks of a second each",
          );

          const nothing = await post("api/runs", { to: "1.0.2" });
          assert.equal(nothing.status, 200);
          assert.match(nothing.body.message, /runs 1\.0\.2 already/);
          assert.deepEqual(
            (await get("api/runs")).body.map((r: any) => [r.id, r.status]),
            [[runId, "done"]],
          );
        } finally {
          events?.close();
        }
      },
    );
  });

  it("a run started by the CLI shows up in the event stream, step by step", async () => {
    await withServer({ hosts: 2, extra: SLOW_ROLL }, async ({ c, s }) => {
      const events = await readEvents(s.url);
      try {
        const applied = await ferryAsync(["apply", ...c, "--to", "1.0.1", "--yes", "--json"]);
        assert.equal(applied.code, 0, applied.stderr);
        // --json streams events; the last one is the result.
        const { runId } = JSON.parse(applied.stdout.trim().split("\n").at(-1) ?? "");
        await events.waitFor(runEvent(runId, "done"), 10_000);
        const steps = events.events.filter((e) => e.event === "step" && e.data.runId === runId);
        assert.ok(
          steps.some((e) => e.data.id === "1.0.1/roll/api/h2/start" && e.data.host === "h2"),
          JSON.stringify(steps),
        );
        assert.ok(steps.some((e) => typeof e.data.durationMs === "number"));
      } finally {
        events.close();
      }
    });
  });

  it("stopping the server stops the run it started as Ctrl-C would: rolled back before the point of no return, exit 130", async () => {
    await withServer({ hosts: 2, extra: SLOW_ROLL }, async ({ p, c, post, s }) => {
      const events = await readEvents(s.url);
      try {
        const { runId } = (await post("api/runs", { to: "1.0.1" })).body;
        await events.waitFor((e) => e.event === "step" && e.data.id === "1.0.1/roll/before-hook");
        assert.equal(await s.stop(), 130, s.output());
        assert.match(s.output(), /SIGTERM: stopping; 1 run\(s\) started here stop/);
        const [run] = JSON.parse((await ferryAsync(["history", ...c, "--json"])).stdout);
        assert.deepEqual([run.id, run.status], [runId, "rolled-back"]);
        assert.ok(allAt(p, "1.0.0"));
      } finally {
        events.close();
      }
    });
  });

  it("stopping the server past the point of no return stops the run once the step in flight finishes: it does not carry the hop on", async () => {
    await withServer({ hosts: 2, extra: `unpin: '${gate("unpinning")}'` }, async ({ p, c, post, s }) => {
      const events = await readEvents(s.url);
      try {
        const { runId } = (await post("api/runs", { to: "1.0.1" })).body;
        await reached(p, "unpinning");
        const stopped = s.stop();
        // The server interrupts its runs in the same tick as it says it stops.
        for (const until = Date.now() + 20_000; !/SIGTERM: stopping/.test(s.output()); await sleep(20))
          assert.ok(Date.now() < until, s.output());
        release(p, "unpinning");
        assert.equal(await stopped, 130, s.output());
        const [run] = JSON.parse((await ferryAsync(["history", ...c, "--json"])).stdout);
        assert.deepEqual([run.id, run.status], [runId, "stopped"]);
        const status = JSON.parse((await ferryAsync(["status", ...c, "--json"])).stdout);
        assert.equal(status.run.steps.pending, 1, "verify, after the unpin in flight, never started");
        assert.ok(allAt(p, "1.0.1"));
        assert.equal((await ferryAsync(["resume", ...c, "--yes"])).code, 0);
      } finally {
        events.close();
      }
    });
  });

  it("pause, resume and rollback through the API", async () => {
    await withServer({ hosts: 2, extra: SLOW_ROLL }, async ({ p, get, post, s }) => {
      const events = await readEvents(s.url);
      try {
        const { runId } = (await post("api/runs", { to: "1.0.1" })).body;
        await events.waitFor((e) => e.event === "step" && e.data.id === "1.0.1/roll/before-hook");
        const paused = await post(`api/runs/${runId}/pause`);
        assert.equal(paused.status, 202, JSON.stringify(paused.body));
        assert.match(paused.body.message, /pause requested/);
        await events.waitFor(runEvent(runId, "paused"));
        const status = (await get("api/status")).body;
        assert.equal(status.run.status, "paused");
        assert.deepEqual(status.run.current, []);
        assert.equal((await post(`api/runs/${runId}/pause`)).status, 409, "a paused run is not paused again");
        assert.equal((await post("api/runs/no-such-run/resume")).status, 404);

        assert.equal((await post(`api/runs/${runId}/resume`)).status, 202);
        await events.waitFor(runEvent(runId, "done"));
        assert.ok(allAt(p, "1.0.1"));
        const finished = await post(`api/runs/${runId}/rollback`);
        assert.equal(finished.status, 409);
        assert.match(finished.body.error, /is done: there is nothing to rollback/);

        const next = (await post("api/runs", { to: "1.0.2" })).body.runId;
        await events.waitFor(
          (e) => e.event === "step" && e.data.runId === next && e.data.id === "1.0.2/roll/before-hook",
        );
        assert.equal((await post(`api/runs/${next}/pause`)).status, 202);
        await events.waitFor(runEvent(next, "paused"));
        assert.equal((await post(`api/runs/${next}/rollback`)).status, 202);
        await events.waitFor(runEvent(next, "rolled-back"));
        assert.ok(allAt(p, "1.0.1"));
        assert.equal((await get("api/status")).body.run, null);
      } finally {
        events.close();
      }
    });
  });

  it("approve and reject through the API, with the token: a waiting run shows what it waits for, and the event stream says when", async () => {
    await withServer({ hosts: 1, componentExtra: "    approve: before" }, async ({ p, c, get, post, s }) => {
      const events = await readEvents(s.url);
      let applying: StartedFerry | undefined;
      let exited = false;
      try {
        // A run of another process: the server sees its wait in the journal.
        applying = startFerry(["apply", ...c, "--to", "1.0.1", "--yes"]);
        void applying.done.then(() => {
          exited = true;
        });
        const wait = await events.waitFor((e) => e.event === "wait");
        const runId = wait.data.runId as string;
        const status = (await get("api/status")).body;
        assert.equal(status.run.waiting.for, "approval");
        assert.equal(status.run.waiting.step, "1.0.1/roll/api/approve/before");
        assert.equal((await get(`api/runs/${runId}`)).body.run.waiting.for, "approval");

        assert.equal((await post(`api/runs/${runId}/approve`, {}, null)).status, 401, "the token is needed");
        assert.equal((await post(`api/runs/${runId}/approve`, { by: 42 })).status, 400);
        assert.equal((await post("api/runs/no-such-run/approve")).status, 404);
        const approved = await post(`api/runs/${runId}/approve`, { by: "carol" });
        assert.equal(approved.status, 200, JSON.stringify(approved.body));
        assert.equal(approved.body.by, "carol");
        assert.equal(approved.body.step, "1.0.1/roll/api/approve/before");
        assert.equal((await post(`api/runs/${runId}/reject`)).status, 409, "answered already");

        await events.waitFor((e) => e.event === "wait-ended" && e.data.runId === runId);
        assert.equal((await applying.done).code, 0, applying.output());
        assert.ok(allAt(p, "1.0.1"));
        const [run] = (await get("api/runs")).body;
        assert.ok(run.notes.some((n: any) => n.kind === "approved" && n.by === "carol"));
        assert.equal(
          (await post(`api/runs/${runId}/approve`)).status,
          409,
          "a finished run waits for nothing",
        );
      } finally {
        events.close();
        // A run left waiting by a failed assertion must not outlive the test.
        if (applying && !exited) process.kill(applying.pid, "SIGKILL");
        await applying?.done;
      }
    });
  });
});
