/**
 * The drain adapters against real peers on loopback: an HTTP admin API, and a real HAProxy from
 * Debian's package (its runtime API over the stats socket). Without HAProxy the HAProxy test is
 * skipped with the reason, except under CI, where .ci/run installs it.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { MemoryDriver } from "../src/drivers/index.js";
import { currentSessions, drainTraffic } from "../src/probes/traffic-drain.js";

const driver = new MemoryDriver({ host: "h1" });

async function listen(server: Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return (server.address() as AddressInfo).port;
}

describe("http drain", () => {
  it("drains once the admin API answers 2xx, and reports a refusal in its words", async () => {
    let state = "ready";
    const admin = createServer((req, res) => {
      if (req.url === "/backends/h1/drain") {
        state = "draining";
        setTimeout(() => res.end("drained"), 100);
      } else if (req.url === "/backends/h1/ready") {
        state = "ready";
        res.end("ready");
      } else {
        res.statusCode = 409;
        res.end("still busy");
      }
    });
    const port = await listen(admin);
    try {
      const spec = {
        http: {
          url: `http://127.0.0.1:${port}/backends/h1/drain`,
          undrainUrl: `http://127.0.0.1:${port}/backends/h1/ready`,
          method: "POST",
          timeoutMs: 2000,
        },
      };
      const drained = await drainTraffic(spec, "drain", driver);
      assert.equal(drained.ok, true, drained.detail);
      assert.equal(state, "draining");
      assert.equal((await drainTraffic(spec, "undrain", driver)).ok, true);
      assert.equal(state, "ready");
      const refused = await drainTraffic(
        { http: { ...spec.http, url: `http://127.0.0.1:${port}/other` } },
        "drain",
        driver,
      );
      assert.equal(refused.ok, false);
      assert.match(refused.detail, /HTTP 409: still busy/);
    } finally {
      admin.close();
    }
  });
});

const haproxy = spawnSync("haproxy", ["-v"]).status === 0;
const why = haproxy ? undefined : "haproxy is not installed here (apt-get install haproxy)";

describe("haproxy drain", { skip: !haproxy && process.env.CI !== "true" ? why : false }, () => {
  const dir = mkdtempSync(join(tmpdir(), "ferry-haproxy-"));
  const servers: Server[] = [];
  let proxy: ChildProcess | undefined;
  after(() => {
    proxy?.kill("SIGKILL");
    for (const s of servers) s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("sets the server to drain, waits for its sessions to end, and sets it ready again", async () => {
    assert.ok(haproxy, why);
    const ports: number[] = [];
    for (const name of ["s1", "s2"]) {
      const s = createServer((req, res) => {
        res.setHeader("x-server", name);
        setTimeout(() => res.end(name), req.url === "/slow" ? 1200 : 0);
      });
      servers.push(s);
      ports.push(await listen(s));
    }
    // A free port for HAProxy's frontend: taken, then given back.
    const probe = createServer();
    const front = await listen(probe);
    await new Promise((r) => probe.close(r));
    const socket = join(dir, "admin.sock");
    writeFileSync(
      join(dir, "haproxy.cfg"),
      [
        "global",
        `  stats socket ${socket} mode 600 level admin`,
        "defaults",
        "  mode http",
        "  timeout connect 1s",
        "  timeout client 10s",
        "  timeout server 10s",
        "frontend web",
        `  bind 127.0.0.1:${front}`,
        "  default_backend api",
        "backend api",
        "  balance roundrobin",
        `  server s1 127.0.0.1:${ports[0]}`,
        `  server s2 127.0.0.1:${ports[1]}`,
        "",
      ].join("\n"),
    );
    proxy = spawn("haproxy", ["-db", "-f", join(dir, "haproxy.cfg")], { stdio: "ignore" });
    for (let i = 0; i < 100 && !existsSync(socket); i++) await sleep(50);

    const get = (path: string) =>
      new Promise<string>((resolve, reject) => {
        request({ host: "127.0.0.1", port: front, path, agent: false }, (res) => {
          res.resume();
          res.on("end", () => resolve(String(res.headers["x-server"])));
        })
          .on("error", reject)
          .end();
      });

    // A long request is in flight on one server; that is the one to drain.
    const slow = get("/slow");
    await sleep(200);
    const busy = (await currentSessions(socket, "api", "s1")) > 0 ? "s1" : "s2";
    const other = busy === "s1" ? "s2" : "s1";
    const spec = { haproxy: { socket, backend: "api", server: busy, timeoutMs: 5000 } };
    const started = Date.now();
    const drained = await drainTraffic(spec, "drain", driver);
    assert.equal(drained.ok, true, drained.detail);
    assert.equal(await slow, busy, "the request in flight finished on its server");
    assert.ok(Date.now() - started >= 500, "the drain waited for the session to end");
    assert.equal(await currentSessions(socket, "api", busy), 0);
    for (let i = 0; i < 4; i++) assert.equal(await get("/"), other, "a drained server gets no new request");

    assert.equal((await drainTraffic(spec, "undrain", driver)).ok, true);
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) seen.add(await get("/"));
    assert.deepEqual([...seen].sort(), ["s1", "s2"], "back in rotation");

    const missing = await drainTraffic({ haproxy: { ...spec.haproxy, server: "nope" } }, "drain", driver);
    assert.equal(missing.ok, false);
    assert.match(missing.detail, /haproxy: set server api\/nope: /);
  });
});
