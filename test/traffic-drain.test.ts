/**
 * The drain adapters against real peers on loopback: an HTTP admin API, and a real HAProxy from
 * Debian's package (its runtime API over the stats socket). Without HAProxy the HAProxy test is
 * skipped with the reason, except under CI, where .ci/run installs it. Each waits for the event it
 * needs (a request at its server, HAProxy's DRAIN state), never for a while.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { MemoryDriver } from "../src/drivers/index.js";
import { currentSessions, drainTraffic } from "../src/probes/traffic-drain.js";
import { type Haproxy, haproxyMissing, haproxySkip, startHaproxy } from "./support/haproxy.js";

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

describe("haproxy drain", haproxySkip(), () => {
  const dir = mkdtempSync(join(tmpdir(), "ferry-haproxy-"));
  const servers: Server[] = [];
  let proxy: Haproxy | undefined;
  after(async () => {
    await proxy?.stop();
    for (const s of servers) s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("sets the server to drain, waits for its sessions to end, and sets it ready again", async () => {
    const why = haproxyMissing();
    assert.ok(!why, why);
    // A request to /slow is held at its server until the test lets it go; `arrived` says where it is.
    let arrived: (name: string) => void = () => {};
    const slowAt = new Promise<string>((resolve) => {
      arrived = resolve;
    });
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const ports: number[] = [];
    for (const name of ["s1", "s2"]) {
      const s = createServer((req, res) => {
        res.setHeader("x-server", name);
        if (req.url !== "/slow") return res.end(name);
        arrived(name);
        void released.then(() => res.end(name));
      });
      servers.push(s);
      ports.push(await listen(s));
    }
    // A free port for HAProxy's frontend: taken, then given back.
    const probe = createServer();
    const front = await listen(probe);
    await new Promise((r) => probe.close(r));
    proxy = await startHaproxy({
      dir,
      port: front,
      backend: "api",
      servers: [
        { name: "s1", port: ports[0] as number },
        { name: "s2", port: ports[1] as number },
      ],
    });
    const { socket } = proxy;

    const get = (path: string) =>
      new Promise<string>((resolve, reject) => {
        request({ host: "127.0.0.1", port: front, path, agent: false }, (res) => {
          res.resume();
          res.on("end", () => resolve(String(res.headers["x-server"])));
        })
          .on("error", reject)
          .end();
      });

    // A long request is in flight on one server (it has reached it: HAProxy holds a session
    // there); that is the one to drain.
    const slow = get("/slow");
    const busy = await slowAt;
    const other = busy === "s1" ? "s2" : "s1";
    assert.equal(await currentSessions(socket, "api", busy), 1);
    const spec = { haproxy: { socket, backend: "api", server: busy, timeoutMs: 10_000 } };
    const order: string[] = [];
    const draining = drainTraffic(spec, "drain", driver).then((r) => {
      order.push("drained");
      return r;
    });
    for (let i = 0; i < 200 && (await proxy.stat(busy)).status !== "DRAIN"; i++) await sleep(25);
    assert.equal((await proxy.stat(busy)).status, "DRAIN");
    for (let i = 0; i < 4; i++) assert.equal(await get("/"), other, "a draining server gets no new request");
    assert.equal(order.length, 0, "the drain waits while a session is open");
    order.push("released");
    release();
    const drained = await draining;
    assert.equal(drained.ok, true, drained.detail);
    assert.deepEqual(order, ["released", "drained"], "the drain ended only after the session did");
    assert.equal(await slow, busy, "the request in flight finished on its server");
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
