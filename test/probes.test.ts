/**
 * Health probes and the health gate, against real servers on 127.0.0.1 that each test starts and
 * closes: what an operator sees when a host is up, down, flapping or slow.
 */
import assert from "node:assert/strict";
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import { type AddressInfo, createServer as createTcpServer, type Server } from "node:net";
import { performance } from "node:perf_hooks";
import { after, describe, it } from "node:test";
import { LocalDriver, MemoryDriver } from "../src/drivers/index.js";
import { parseDuration, probeOnce, waitHealthy } from "../src/probes/index.js";

const memory = new MemoryDriver({ host: "h1" });
const local = new LocalDriver({ host: "h1" });
after(async () => {
  await local.close();
  await memory.close();
});

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

/** An HTTP server on a free loopback port; `close` also drops open connections. */
async function httpServer(answer: (req: IncomingMessage, res: ServerResponse) => void) {
  const server = createHttpServer(answer);
  const port = await listen(server);
  return {
    url: `http://127.0.0.1:${port}/health`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A loopback port where nothing listens (it was free a moment ago). */
async function refusedPort(): Promise<number> {
  const server = createTcpServer();
  const port = await listen(server);
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const ONCE = { timeoutMs: 2000 };

describe("probeOnce over http", () => {
  it("passes on a 2xx answer", async () => {
    const server = await httpServer((_req, res) => res.end("ok"));
    try {
      assert.deepEqual(await probeOnce({ http: server.url }, memory, ONCE), {
        ok: true,
        detail: "HTTP 200 OK",
      });
    } finally {
      await server.close();
    }
  });

  it("fails on a 500, naming the status", async () => {
    const server = await httpServer((_req, res) => {
      res.statusCode = 500;
      res.end("database down");
    });
    try {
      assert.deepEqual(await probeOnce({ http: server.url }, memory, ONCE), {
        ok: false,
        detail: "HTTP 500 Internal Server Error",
      });
    } finally {
      await server.close();
    }
  });

  it("uses the method the check names", async () => {
    const methods: string[] = [];
    const server = await httpServer((req, res) => {
      methods.push(req.method ?? "");
      res.end();
    });
    try {
      assert.equal((await probeOnce({ http: server.url, method: "HEAD" }, memory, ONCE)).ok, true);
      assert.equal((await probeOnce({ http: server.url }, memory, ONCE)).ok, true);
      assert.deepEqual(methods, ["HEAD", "GET"]);
    } finally {
      await server.close();
    }
  });

  it("fails with 'connection refused' when nothing listens", async () => {
    const port = await refusedPort();
    assert.deepEqual(await probeOnce({ http: `http://127.0.0.1:${port}/health` }, memory, ONCE), {
      ok: false,
      detail: "connection refused",
    });
  });

  it("gives up on a server that never answers after timeoutMs", async () => {
    const server = await httpServer(() => {});
    try {
      const started = Date.now();
      const r = await probeOnce({ http: server.url }, memory, { timeoutMs: 200 });
      assert.deepEqual(r, { ok: false, detail: "no answer within 200ms" });
      assert.ok(Date.now() - started < 3000);
    } finally {
      await server.close();
    }
  });
});

describe("probeOnce over tcp", () => {
  it("passes once a connection is accepted", async () => {
    const server = createTcpServer((socket) => socket.destroy());
    const port = await listen(server);
    try {
      const r = await probeOnce({ tcp: `127.0.0.1:${port}` }, memory, ONCE);
      assert.equal(r.ok, true, r.detail);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("fails with 'connection refused' when nothing listens", async () => {
    const port = await refusedPort();
    assert.deepEqual(await probeOnce({ tcp: `127.0.0.1:${port}` }, memory, ONCE), {
      ok: false,
      detail: "connection refused",
    });
  });

  it("says so when the address is not host:port", async () => {
    const r = await probeOnce({ tcp: "127.0.0.1" }, memory, ONCE);
    assert.deepEqual(r, { ok: false, detail: '"127.0.0.1" is not host:port' });
  });
});

describe("probeOnce with exec", () => {
  it("passes on exit 0 and fails otherwise, with the last line of output", async () => {
    assert.deepEqual(await probeOnce({ exec: "echo checking; echo ready" }, local, ONCE), {
      ok: true,
      detail: "exit 0 — ready",
    });
    assert.deepEqual(await probeOnce({ exec: "echo db not ready >&2; exit 1" }, local, ONCE), {
      ok: false,
      detail: "exit 1 — db not ready",
    });
  });

  it("fails when the command outlives the probe's timeout", async () => {
    const r = await probeOnce({ exec: "sleep 5" }, local, { timeoutMs: 200 });
    assert.deepEqual(r, { ok: false, detail: "timed out after 200ms (killed by SIGTERM)" });
  });

  it("fails, without throwing, when the driver cannot run the command", async () => {
    const broken = new MemoryDriver({
      host: "h9",
      handler: () => {
        throw new Error("connection lost");
      },
    });
    assert.deepEqual(await probeOnce({ exec: "true" }, broken, ONCE), {
      ok: false,
      detail: "cannot run the probe on h9: connection lost",
    });
  });
});

describe("waitHealthy", () => {
  it("passes at once when healthyFor is 0 and the first probe passes", async () => {
    const server = await httpServer((_req, res) => res.end());
    try {
      const r = await waitHealthy({ http: server.url }, memory, {
        timeoutMs: 1000,
        healthyForMs: 0,
        deadlineMs: 5000,
        intervalMs: 50,
      });
      assert.deepEqual(
        { ...r, elapsedMs: 0 },
        {
          healthy: true,
          elapsedMs: 0,
          probes: 1,
          detail: "HTTP 200 OK",
          aborted: false,
        },
      );
    } finally {
      await server.close();
    }
  });

  it("requires healthyFor without a single failure: one 500 starts the clock again", async () => {
    let requests = 0;
    let failedAt = 0;
    const server = await httpServer((_req, res) => {
      requests++;
      if (requests === 2) {
        failedAt = performance.now();
        res.statusCode = 500;
      }
      res.end();
    });
    try {
      const seen: boolean[] = [];
      const r = await waitHealthy({ http: server.url }, memory, {
        timeoutMs: 1000,
        healthyForMs: 600,
        deadlineMs: 10_000,
        intervalMs: 50,
        onProbe: (p) => seen.push(p.ok),
      });
      const healthyAt = performance.now();
      assert.equal(r.healthy, true, r.detail);
      assert.deepEqual(seen.slice(0, 3), [true, false, true]);
      assert.ok(seen.slice(2).every(Boolean));
      assert.equal(r.probes, seen.length);
      assert.ok(
        healthyAt - failedAt >= 600,
        `healthy ${Math.round(healthyAt - failedAt)}ms after the failure`,
      );
    } finally {
      await server.close();
    }
  });

  it("is never healthy while the server flaps, and says what failed", async () => {
    let requests = 0;
    const server = await httpServer((_req, res) => {
      res.statusCode = requests++ % 2 === 0 ? 200 : 503;
      res.end();
    });
    try {
      const r = await waitHealthy({ http: server.url }, memory, {
        timeoutMs: 1000,
        healthyForMs: 300,
        deadlineMs: 1000,
        intervalMs: 50,
      });
      assert.equal(r.healthy, false);
      assert.match(r.detail, /^never healthy within 1s: HTTP 503 Service Unavailable/);
      assert.ok(r.probes > 2);
    } finally {
      await server.close();
    }
  });

  it("never counts one slow passing probe as the whole window: the window is probed to its end", async () => {
    // Each passing answer takes longer than healthyFor; the probe after it fails. Healthy for a
    // moment at a time, never for healthyFor.
    let requests = 0;
    const server = await httpServer((_req, res) => {
      if (requests++ % 2 === 0) setTimeout(() => res.end(), 400);
      else {
        res.statusCode = 503;
        res.end();
      }
    });
    try {
      const seen: boolean[] = [];
      const r = await waitHealthy({ http: server.url }, memory, {
        timeoutMs: 2000,
        healthyForMs: 300,
        deadlineMs: 2000,
        intervalMs: 50,
        onProbe: (p) => seen.push(p.ok),
      });
      assert.equal(r.healthy, false, `healthy after probes ${JSON.stringify(seen)}`);
      assert.match(r.detail, /^never healthy within 2s: /);
      assert.deepEqual(
        seen.slice(0, 4),
        [true, false, true, false],
        "probed again after each pass, and each second probe failed",
      );
    } finally {
      await server.close();
    }
  });

  it("is never healthy while the server flaps in time, faster than healthyFor, and fails at the deadline", async () => {
    // Up for 300 ms, down for 300 ms, again and again; each answer takes 60 ms. Every span of
    // healthyFor (500 ms) holds a down phase far longer than the interval.
    const born = performance.now();
    const up = () => Math.floor((performance.now() - born) / 300) % 2 === 0;
    const server = await httpServer((_req, res) => {
      const healthy = up();
      setTimeout(() => {
        res.statusCode = healthy ? 200 : 503;
        res.end();
      }, 60);
    });
    try {
      const seen: boolean[] = [];
      const r = await waitHealthy({ http: server.url }, memory, {
        timeoutMs: 1000,
        healthyForMs: 500,
        deadlineMs: 3000,
        intervalMs: 50,
        onProbe: (p) => seen.push(p.ok),
      });
      assert.equal(r.healthy, false, `healthy after probes ${JSON.stringify(seen)}`);
      assert.equal(r.aborted, false);
      assert.match(r.detail, /^never healthy within 3s: HTTP 503 Service Unavailable/);
      assert.ok(seen.includes(true) && seen.includes(false), JSON.stringify(seen));
    } finally {
      await server.close();
    }
  });

  it("gives up at the deadline with the last failure's detail", async () => {
    const port = await refusedPort();
    const started = Date.now();
    const r = await waitHealthy({ tcp: `127.0.0.1:${port}` }, memory, {
      timeoutMs: 1000,
      healthyForMs: 100,
      deadlineMs: 500,
      intervalMs: 50,
    });
    assert.equal(r.healthy, false);
    assert.equal(r.aborted, false);
    assert.equal(r.detail, "never healthy within 500ms: connection refused");
    assert.ok(r.probes >= 2, `${r.probes} probes`);
    assert.ok(Date.now() - started < 3000, `took ${Date.now() - started}ms for a 500ms deadline`);
  });

  it("stops promptly when aborted between probes", async () => {
    const port = await refusedPort();
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const started = Date.now();
    const r = await waitHealthy({ tcp: `127.0.0.1:${port}` }, memory, {
      timeoutMs: 1000,
      healthyForMs: 1000,
      deadlineMs: 60_000,
      intervalMs: 100,
      signal: controller.signal,
    });
    assert.equal(r.healthy, false);
    assert.equal(r.aborted, true);
    assert.match(r.detail, /^interrupted after .*; last failure: connection refused$/);
    assert.ok(Date.now() - started < 3000, `took ${Date.now() - started}ms to stop`);
  });

  it("stops a probe in flight when aborted", async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const started = Date.now();
    const r = await waitHealthy({ exec: "sleep 30" }, local, {
      timeoutMs: 60_000,
      healthyForMs: 1000,
      deadlineMs: 60_000,
      intervalMs: 100,
      signal: controller.signal,
    });
    assert.equal(r.aborted, true);
    assert.ok(Date.now() - started < 3000, `took ${Date.now() - started}ms to stop`);
  });
});

describe("parseDuration", () => {
  const valid: [string | number, number][] = [
    ["250ms", 250],
    ["5s", 5000],
    ["1.5s", 1500],
    ["2m", 120_000],
    ["1h", 3_600_000],
    ["0s", 0],
    [" 5s ", 5000],
    ["5", 5000],
    [5, 5000],
    [0.25, 250],
  ];
  for (const [input, ms] of valid) {
    it(`reads ${JSON.stringify(input)} as ${ms} ms`, () => {
      assert.equal(parseDuration(input), ms);
    });
  }

  const invalid: (string | number)[] = [
    "5 sec",
    "5 s",
    "",
    "-1s",
    "5d",
    "ms",
    "1m30s",
    "abc",
    -1,
    Number.NaN,
  ];
  for (const input of invalid) {
    it(`refuses ${JSON.stringify(input)}, saying what it accepts`, () => {
      assert.throws(
        () => parseDuration(input),
        (error: Error) => /is not a duration; write 500ms, 5s, 2m or 1h/.test(error.message),
      );
    });
  }

  it("quotes the value it refuses", () => {
    assert.throws(() => parseDuration("5 sec"), {
      message: '"5 sec" is not a duration; write 500ms, 5s, 2m or 1h (a bare number means seconds)',
    });
  });
});
