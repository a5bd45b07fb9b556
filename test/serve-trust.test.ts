// biome-ignore-all lint/suspicious/noExplicitAny: the API's JSON answers are read field by field by the assertions
/**
 * `ferry serve` against a hostile client, through a real server process: a token that nobody could
 * send, a page on another name reaching a loopback server (DNS rebinding), request bodies too big
 * to read, and a flood of reads that would otherwise run the version command on every host each.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { allAt, makeFakeProduct, withProduct } from "./support/fake-product.js";
import { ferryAsync, startFerry } from "./support/run-ferry-async.js";
import { readEvents, type SseEvent, serveCluster } from "./support/serve.js";

const TOKEN = "trust-test-token";
/** README: the hosts are asked at most once every 2 s, one round at a time. */
const OBSERVE_EVERY_MS = 2000;
const MiB = 1024 * 1024;

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: any;
}

/**
 * One HTTP/1.1 exchange with node:http, which (unlike fetch) lets the test set `Host` and send a
 * body in parts: `send` writes to the request, which is ended only when `end` is not false. The
 * answer is awaited for 10 s at most: a server that waits for a body it will never get fails.
 */
function exchange(
  url: string,
  options: {
    method?: string;
    path?: string;
    host?: string;
    headers?: Record<string, string>;
    send?: (write: (chunk: string | Buffer) => void) => void;
    end?: boolean;
  } = {},
): Promise<Answer> {
  const base = new URL(url);
  return new Promise((resolve, reject) => {
    let settled = false;
    const req = request({
      hostname: base.hostname.replace(/^\[|\]$/g, ""),
      port: base.port,
      method: options.method ?? "GET",
      path: `/${options.path ?? ""}`,
      headers: { ...(options.host !== undefined ? { Host: options.host } : {}), ...options.headers },
      agent: false,
    });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`no answer to ${options.method ?? "GET"} /${options.path ?? ""} within 10 s`));
    }, 10_000);
    req.on("response", (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d) => {
        text += d;
        // An event stream never ends: its first bytes are answer enough.
        if (String(res.headers["content-type"]).startsWith("text/event-stream")) res.destroy();
      });
      const done = () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        req.destroy();
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {}
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
      };
      res.on("end", done);
      res.on("close", done);
    });
    req.on("error", (err) => {
      // Once answered, the server may close while a refused body is still being written.
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(err);
    });
    // Node holds the headers back until the first write or the end: send them now.
    req.flushHeaders();
    options.send?.((chunk) => req.write(chunk));
    if (options.end !== false) req.end();
  });
}

describe("ferry serve: FERRY_TOKEN", () => {
  for (const [what, token] of [
    ["a space inside", "abc def"],
    ["a leading space", " abcdef"],
    ["a trailing newline", "abcdef\n"],
    ["a tab", "abc\tdef"],
    ["a letter beyond ASCII", "tok\u00e9n"],
    ["only spaces", "   "],
    ["nothing", ""],
  ] as const) {
    it(`a token with ${what} is refused: exit 2 naming FERRY_TOKEN, nothing started`, async () => {
      await withProduct({}, async (p, c) => {
        const run = startFerry(["serve", ...c, "--port", "0"], { FERRY_TOKEN: token });
        const timer = setTimeout(() => process.kill(run.pid, "SIGTERM"), 10_000);
        const r = await run.done;
        clearTimeout(timer);
        assert.equal(r.code, 2, `${r.stdout}${r.stderr}`);
        assert.match(r.stderr, /FERRY_TOKEN/);
        assert.doesNotMatch(r.stdout, /http:\/\//, "it never listened");
        assert.ok(!existsSync(join(p.dir, "state")), "the journal was not even opened");
      });
    });
  }
});

describe("ferry serve: the Host header (DNS rebinding)", () => {
  it("answers to the bound address, localhost and each --allowed-host, with or without port; 403 to any other name", async () => {
    const p = makeFakeProduct({});
    const s = await serveCluster(
      ["-c", p.clusterFile, "--allowed-host", "ferry.example.com", "--allowed-host", "Ops.Internal"],
      { FERRY_TOKEN: TOKEN },
    );
    try {
      const port = new URL(s.url).port;
      for (const host of [
        `127.0.0.1:${port}`,
        "127.0.0.1",
        `localhost:${port}`,
        "localhost",
        "LOCALHOST",
        "ferry.example.com",
        "ferry.example.com:443",
        `ops.internal:${port}`,
        "OPS.INTERNAL.",
      ]) {
        const r = await exchange(s.url, { path: "api/catalog", host });
        assert.equal(r.status, 200, `Host: ${host}: ${JSON.stringify(r.body)}`);
      }
      for (const host of [
        `evil.example:${port}`,
        "evil.example",
        "ferry.example.com.evil.example",
        `localhost.evil.example:${port}`,
        `127.0.0.1.nip.io:${port}`,
        "example.com",
        "internal",
      ]) {
        for (const path of ["api/catalog", "api/status", "api/plan?to=1.0.1", "metrics", "", "api/events"]) {
          const r = await exchange(s.url, { path, host });
          assert.equal(r.status, 403, `Host: ${host}, GET /${path}`);
          assert.equal(r.body.error.includes(host), true, JSON.stringify(r.body));
          assert.match(r.body.error, /--allowed-host/);
        }
      }
      // Not even the token gets a request on a foreign name through.
      const post = await exchange(s.url, {
        method: "POST",
        path: "api/runs",
        host: `evil.example:${port}`,
        headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
        send: (write) => write(JSON.stringify({ to: "1.0.1" })),
      });
      assert.equal(post.status, 403);
      assert.deepEqual((await fetch(new URL("api/runs", s.url)).then((r) => r.json())) as unknown, []);
      assert.ok(allAt(p, "1.0.0"));
    } finally {
      await s.stop();
      p.cleanup();
    }
  });

  it("bound to ::1, it answers to [::1] with and without port and to localhost, not to other names", async () => {
    const p = makeFakeProduct({});
    const s = await serveCluster(["-c", p.clusterFile, "--host", "::1"], { FERRY_TOKEN: TOKEN });
    try {
      assert.match(s.url, /^http:\/\/\[::1\]:\d+\/$/);
      const port = new URL(s.url).port;
      for (const host of [`[::1]:${port}`, "[::1]", `localhost:${port}`]) {
        assert.equal((await exchange(s.url, { path: "api/catalog", host })).status, 200, host);
      }
      assert.equal(
        (await exchange(s.url, { path: "api/catalog", host: `evil.example:${port}` })).status,
        403,
      );
      // fetch sends the URL's own host: the dashboard's fetches and its event stream.
      assert.equal((await fetch(new URL("api/catalog", s.url))).status, 200);
      const events = await readEvents(s.url);
      events.close();
    } finally {
      await s.stop();
      p.cleanup();
    }
  });

  it("--allowed-host takes a name, not a name with a port or a URL (exit 2); --help documents it", async () => {
    await withProduct({}, async (p, c) => {
      for (const bad of ["ferry.example.com:8080", "http://ferry.example.com", "two words", ""]) {
        const r = await ferryAsync(["serve", ...c, "--port", "0", "--allowed-host", bad], {
          FERRY_TOKEN: TOKEN,
        });
        assert.equal(r.code, 2, `${bad}: ${r.stdout}${r.stderr}`);
        assert.match(r.stderr, /--allowed-host/);
        assert.ok(!existsSync(join(p.dir, "state")));
      }
    });
    const help = await ferryAsync(["serve", "--help"]);
    assert.match(help.stdout, /--allowed-host <name>/);
  });
});

describe("ferry serve: request bodies", () => {
  it("a body over 1 MiB is refused with 413 before it is read whole: by its Content-Length, or as it streams", async () => {
    const p = makeFakeProduct({});
    const s = await serveCluster(["-c", p.clusterFile], { FERRY_TOKEN: TOKEN });
    const post = { method: "POST", path: "api/runs" };
    const auth = { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" };
    try {
      // 1 KiB of a body that claims to be 1 MiB + 1: a server that waited for the rest would never answer.
      const declared = await exchange(s.url, {
        ...post,
        headers: { ...auth, "Content-Length": String(MiB + 1) },
        send: (write) => write(Buffer.alloc(1024, " ")),
        end: false,
      });
      assert.equal(declared.status, 413, JSON.stringify(declared.body));
      assert.match(declared.body.error, /1 MiB/);

      // Chunked, no length given: 1 MiB + 64 KiB sent, and the stream never ends.
      const streamed = await exchange(s.url, {
        ...post,
        headers: auth,
        send: (write) => {
          for (let i = 0; i < 17; i++) write(Buffer.alloc(64 * 1024, " "));
        },
        end: false,
      });
      assert.equal(streamed.status, 413, JSON.stringify(streamed.body));
      assert.match(streamed.body.error, /1 MiB/);

      // A GET's body counts too, though nothing reads it.
      const get = await exchange(s.url, {
        path: "api/catalog",
        headers: { "Content-Length": String(2 * MiB) },
        end: false,
      });
      assert.equal(get.status, 413);

      // A small body still reads, streamed or not: the version is checked, so it got that far.
      const small = await exchange(s.url, {
        ...post,
        headers: auth,
        send: (write) => {
          write('{"to": ');
          write('"9.9.9"}');
        },
      });
      assert.equal(small.status, 400, JSON.stringify(small.body));
      assert.equal(small.body.field, "to");
      assert.deepEqual((await fetch(new URL("api/runs", s.url)).then((r) => r.json())) as unknown, []);
    } finally {
      await s.stop();
      p.cleanup();
    }
  });
});

/** Each member's version command notes when it starts and ends, so the test can count them. */
const COUNTED_VERSION = [
  'echo "start $(date +%s%3N)" >> {{vars.root}}/{{host}}/{{component}}/asked',
  "sleep 0.2",
  "cat {{vars.root}}/{{host}}/{{component}}/current/VERSION",
  'echo "end $(date +%s%3N)" >> {{vars.root}}/{{host}}/{{component}}/asked',
].join("; ");

/**
 * Per member, the [start, end] of each run of its version command, in the order they started (an
 * end is paired with the earliest start still open; NaN while it runs).
 */
function versionRuns(dir: string, hosts: readonly string[]): Map<string, [number, number][]> {
  const out = new Map<string, [number, number][]>();
  for (const host of hosts) {
    const file = join(dir, "hosts", host, "api", "asked");
    const lines = existsSync(file) ? readFileSync(file, "utf8").trim().split("\n") : [];
    const runs: [number, number][] = [];
    for (const line of lines) {
      const [what, at] = line.split(" ");
      if (what === "start") runs.push([Number(at), Number.NaN]);
      else {
        const open = runs.find((r) => Number.isNaN(r[1]));
        if (open) open[1] = Number(at);
      }
    }
    out.set(host, runs);
  }
  return out;
}

describe("ferry serve: reads share their look at the hosts", () => {
  it("50 concurrent reads of status, plan and metrics, then a steady stream: at most one round at a time, one per 2 s", async () => {
    const p = makeFakeProduct({ hosts: 2, commands: { version: COUNTED_VERSION } });
    const s = await serveCluster(["-c", p.clusterFile], { FERRY_TOKEN: TOKEN });
    const paths = ["api/status", "api/plan?to=1.0.1", "metrics"];
    try {
      const began = Date.now();
      const burst = await Promise.all(
        Array.from({ length: 50 }, (_, i) => fetch(new URL(paths[i % 3] as string, s.url))),
      );
      const burstMs = Date.now() - began;
      for (const [host, runs] of versionRuns(p.dir, p.hosts)) {
        assert.ok(runs.length >= 1, host);
        assert.ok(
          runs.length <= 1 + Math.floor(burstMs / OBSERVE_EVERY_MS),
          `${host}: ${runs.length} version commands for 50 reads in ${burstMs} ms`,
        );
      }
      assert.deepEqual(
        burst.map((r) => r.status),
        burst.map(() => 200),
      );
      const status = (await burst[0]?.json()) as any;
      assert.equal(status.version, "1.0.0");

      // Four readers, each asking again 20 ms after its answer, for 4.5 s: at most 900 reads, and
      // the stream outlasts the first round by more than 2 s.
      let reads = 0;
      const until = Date.now() + 4500;
      await Promise.all(
        Array.from({ length: 4 }, async (_, i) => {
          while (Date.now() < until) {
            reads++;
            const r = await fetch(new URL(paths[(i + reads) % 3] as string, s.url));
            assert.equal(r.status, 200);
            await r.arrayBuffer();
            await sleep(20);
          }
        }),
      );
      const totalMs = Date.now() - began;
      for (const [host, runs] of versionRuns(p.dir, p.hosts)) {
        const shown = runs.map(([a, b]) => `${a}–${b}`).join(", ");
        assert.ok(
          runs.length <= 1 + Math.floor(totalMs / OBSERVE_EVERY_MS),
          `${host}: ${runs.length} version commands for ${50 + reads} reads in ${totalMs} ms: ${shown}`,
        );
        assert.ok(runs.length >= 2, `${host}: the hosts are asked again once 2 s have passed: ${shown}`);
        for (let i = 1; i < runs.length; i++) {
          const [prevStart, prevEnd] = runs[i - 1] as [number, number];
          const [start] = runs[i] as [number, number];
          assert.ok(start >= prevEnd, `${host}: two rounds at once: ${shown}`);
          // The shell's clock, not the server's: a start may lag its round by a process spawn.
          assert.ok(start - prevStart >= OBSERVE_EVERY_MS / 2, `${host}: rounds too close: ${shown}`);
        }
      }
    } finally {
      await s.stop();
      p.cleanup();
    }
  });

  it("a run's progress is read fresh from the journal while the hosts' look is shared", async () => {
    const p = makeFakeProduct({
      hosts: 2,
      commands: { version: COUNTED_VERSION },
      // Long enough after the last host's roll for a read to wait its turn and find the run open.
      extra: "hooks: { before: { roll: 'sleep 0.5' }, after: { roll: 'sleep 4' } }",
    });
    const s = await serveCluster(["-c", p.clusterFile], { FERRY_TOKEN: TOKEN });
    const events = await readEvents(s.url);
    const get = async (path: string) => (await fetch(new URL(path, s.url))).json() as Promise<any>;
    try {
      assert.equal((await get("api/status")).version, "1.0.0");
      const started = await fetch(new URL("api/runs", s.url), {
        method: "POST",
        headers: { Authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify({ to: "1.0.1" }),
      });
      const { runId } = (await started.json()) as any;
      const stepDone = (id?: string) => (e: SseEvent) =>
        e.event === "step" &&
        e.data.runId === runId &&
        (id === undefined || e.data.id === id) &&
        e.data.state === "done";
      // Each read shows at least every step the stream had reported done when it was sent.
      for (const step of ["1.0.1/roll/before-hook", "1.0.1/roll/api/h2/activate"]) {
        await events.waitFor(stepDone(step));
        const known = events.events.filter(stepDone()).length;
        const { run } = await get("api/status");
        assert.equal(run?.id, runId, `the run is open after ${step}`);
        assert.ok(
          run.steps.done >= known,
          `after ${step}: ${run.steps.done} steps done, the stream said ${known}`,
        );
      }
      await events.waitFor((e) => e.event === "run" && e.data.runId === runId && e.data.status === "done");
      assert.equal((await get("api/status")).run, null);
    } finally {
      events.close();
      await s.stop();
      p.cleanup();
    }
  });

  it("once a run has changed the cluster, the next read asks the hosts again, however recent the last look", async () => {
    const p = makeFakeProduct({ hosts: 2, commands: { version: COUNTED_VERSION } });
    const s = await serveCluster(["-c", p.clusterFile], { FERRY_TOKEN: TOKEN });
    const events = await readEvents(s.url);
    const get = async (path: string) => (await fetch(new URL(path, s.url))).json() as Promise<any>;
    try {
      // A look at the hosts, then a quick run (well within 2 s here): its answer must not be served again.
      assert.equal((await get("api/status")).version, "1.0.0");
      const started = await fetch(new URL("api/runs", s.url), {
        method: "POST",
        headers: { Authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify({ to: "1.0.1" }),
      });
      const { runId } = (await started.json()) as any;
      await events.waitFor((e) => e.event === "run" && e.data.runId === runId && e.data.status === "done");
      const after = await get("api/status");
      assert.equal(after.version, "1.0.1", JSON.stringify(after.members));
      assert.equal(after.run, null);
      const metrics = await (await fetch(new URL("metrics", s.url))).text();
      assert.match(metrics, /^ferry_hosts\{component="api",version="1\.0\.1"\} 2$/m);
    } finally {
      events.close();
      await s.stop();
      p.cleanup();
    }
  });
});
