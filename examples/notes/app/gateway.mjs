// The notes gateway: a reverse proxy that spreads requests round robin over the API servers in
// state `ready`, with an admin API to drain a backend before it is stopped and to put it back after.
// This is the load balancer of Cinder's rolling upgrade: ferry drains here, then stops the server.
//
// Environment: NOTES_PORT, NOTES_ADMIN_PORT, NOTES_BACKENDS ("127.0.0.1:7101,127.0.0.1:7102")
// (required); NOTES_HOST (127.0.0.1), NOTES_DRAIN_TIMEOUT_MS (10000), NOTES_UPSTREAM_TIMEOUT_MS
// (10000), NOTES_SHUTDOWN_TIMEOUT_MS (5000).
//
// Admin API: GET /health; GET /backends; POST /backends/<host:port>/drain[?timeoutMs=N] (200 once
// nothing is in flight there, 409 if something still is at the timeout); POST /backends/<host:port>/ready.
import { createServer, request } from "node:http";
import {
  closeServer,
  fail,
  intEnv,
  listen,
  log,
  onSignals,
  portEnv,
  readBody,
  requiredEnv,
  sendJson,
  setComponent,
  VERSION,
} from "./common.mjs";

setComponent("gateway");
const port = portEnv("NOTES_PORT");
const adminPort = portEnv("NOTES_ADMIN_PORT");
const host = process.env.NOTES_HOST || "127.0.0.1";
const drainTimeoutMs = intEnv("NOTES_DRAIN_TIMEOUT_MS", 10_000, { min: 0 });
const upstreamTimeoutMs = intEnv("NOTES_UPSTREAM_TIMEOUT_MS", 10_000, { min: 1 });
const shutdownMs = intEnv("NOTES_SHUTDOWN_TIMEOUT_MS", 5000, { min: 1 });

const backends = requiredEnv("NOTES_BACKENDS")
  .split(",")
  .map((s) => s.trim())
  .filter(Boolean)
  .map((address) => {
    const m = /^([^:]+):(\d+)$/.exec(address);
    if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) fail(`NOTES_BACKENDS: "${address}" is not host:port`);
    return {
      address,
      host: m[1],
      port: Number(m[2]),
      state: "ready",
      inflight: 0,
      served: 0,
      refused: 0,
      idleWaiters: [],
    };
  });
if (backends.length === 0) fail("NOTES_BACKENDS lists no backend");

// Hop-by-hop headers belong to one connection, not to the request or answer being passed on.
const HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
  "content-length",
]);
const endToEnd = (headers) => Object.fromEntries(Object.entries(headers).filter(([k]) => !HOP.has(k)));

let turn = 0;
function pick(except) {
  const ready = backends.filter((b) => b.state === "ready" && b !== except);
  if (ready.length === 0) return undefined;
  turn = (turn + 1) % Number.MAX_SAFE_INTEGER;
  return ready[turn % ready.length];
}

function settle(backend) {
  backend.inflight -= 1;
  if (backend.inflight === 0) for (const wake of backend.idleWaiters.splice(0)) wake();
}

let stopping = false;
let proxying = 0;

function forward(req, res, body, backend, isRetry) {
  backend.inflight += 1;
  let settled = false;
  const done = () => {
    if (settled) return;
    settled = true;
    settle(backend);
  };
  // A new connection per request (agent: false): a pooled connection that the backend closes just
  // as a request goes out fails after the bytes left, and such a request cannot be safely retried.
  const upstream = request({
    host: backend.host,
    port: backend.port,
    method: req.method,
    path: req.url,
    agent: false,
    headers: {
      ...endToEnd(req.headers),
      "content-length": body.length,
      "x-forwarded-for": req.socket.remoteAddress ?? "",
    },
  });
  let connected = false;
  upstream.on("socket", (socket) => socket.once("connect", () => (connected = true)));
  upstream.setTimeout(upstreamTimeoutMs, () =>
    upstream.destroy(Object.assign(new Error("no answer in time"), { code: "UPSTREAM_TIMEOUT" })),
  );
  upstream.on("response", (answer) => {
    backend.served += 1;
    res.writeHead(answer.statusCode ?? 502, {
      ...endToEnd(answer.headers),
      ...(answer.headers["content-length"] ? { "content-length": answer.headers["content-length"] } : {}),
      "x-notes-backend": backend.address,
      ...(stopping ? { connection: "close" } : {}),
    });
    answer.pipe(res);
    answer.on("error", () => res.destroy());
    res.on("close", done);
  });
  let clientGone = false;
  upstream.on("error", (err) => {
    done();
    if (clientGone) return;
    // Only a connection that never opened is retried: nothing reached the backend, so a write
    // cannot run twice. Anything later is the client's to judge.
    if (!connected) backend.refused += 1;
    if (!connected && !isRetry && !res.headersSent) {
      const other = pick(backend);
      if (other) return forward(req, res, body, other, true);
    }
    if (res.headersSent) return res.destroy();
    const timeout = err.code === "UPSTREAM_TIMEOUT";
    sendJson(res, timeout ? 504 : 502, { error: `backend ${backend.address}: ${err.code ?? err.message}` });
  });
  // A client that goes away takes its upstream request with it.
  res.on("close", () => {
    if (res.writableFinished) return;
    clientGone = true;
    upstream.destroy();
  });
  upstream.end(body);
}

const proxy = createServer(async (req, res) => {
  proxying += 1;
  res.on("close", () => (proxying -= 1));
  let body;
  try {
    body = await readBody(req);
  } catch (err) {
    return sendJson(res, err.status ?? 400, { error: err.message });
  }
  const backend = pick();
  if (!backend) return sendJson(res, 503, { error: "no backend is ready" }, { "retry-after": "1" });
  forward(req, res, body, backend, false);
});
// Longer than the clients' idle pools: the gateway must not close a connection a request is on its way over.
proxy.keepAliveTimeout = 65_000;

function describe(b) {
  return { address: b.address, state: b.state, inflight: b.inflight, served: b.served, refused: b.refused };
}

function whenIdle(backend, timeoutMs) {
  if (backend.inflight === 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      backend.idleWaiters = backend.idleWaiters.filter((w) => w !== wake);
      resolve(false);
    }, timeoutMs);
    const wake = () => {
      clearTimeout(timer);
      resolve(true);
    };
    backend.idleWaiters.push(wake);
  });
}

const admin = createServer(async (req, res) => {
  const url = new URL(req.url, "http://admin");
  if (req.method === "GET" && url.pathname === "/health") {
    const ready = backends.filter((b) => b.state === "ready").length;
    return sendJson(res, stopping ? 503 : 200, {
      status: stopping ? "stopping" : "ok",
      version: VERSION,
      ready,
    });
  }
  if (req.method === "GET" && url.pathname === "/backends") return sendJson(res, 200, backends.map(describe));
  const m = /^\/backends\/([^/]+)\/(drain|ready)$/.exec(url.pathname);
  if (!m) return sendJson(res, 404, { error: `no route ${req.method} ${url.pathname}` });
  if (req.method !== "POST") return sendJson(res, 405, { error: `${url.pathname} takes POST` });
  const address = decodeURIComponent(m[1]);
  const backend = backends.find((b) => b.address === address);
  if (!backend) return sendJson(res, 404, { error: `no backend ${address}` });
  if (m[2] === "ready") {
    if (backend.state !== "ready") log(`backend ${address} ready`);
    backend.state = "ready";
    return sendJson(res, 200, describe(backend));
  }
  const timeoutMs = url.searchParams.has("timeoutMs")
    ? Number(url.searchParams.get("timeoutMs"))
    : drainTimeoutMs;
  if (!Number.isFinite(timeoutMs) || timeoutMs < 0)
    return sendJson(res, 400, { error: "timeoutMs is a number of ms" });
  if (backend.state !== "draining") log(`backend ${address} draining (${backend.inflight} in flight)`);
  backend.state = "draining";
  const idle = await whenIdle(backend, timeoutMs);
  // Still draining after a 409: no new requests go there; the caller decides whether to wait more.
  sendJson(res, idle ? 200 : 409, {
    ...describe(backend),
    ...(idle ? {} : { error: `${backend.inflight} request(s) still in flight after ${timeoutMs} ms` }),
  });
});

onSignals({
  stop: async () => {
    stopping = true;
    const [clean] = await Promise.all([closeServer(proxy, shutdownMs), closeServer(admin, shutdownMs)]);
    log(
      clean
        ? "stopped: every request finished"
        : `stopped: ${proxying} request(s) cut after ${shutdownMs} ms`,
    );
    process.exit(clean ? 0 : 1);
  },
});

try {
  await listen(proxy, port, host);
  await listen(admin, adminPort, host);
} catch (err) {
  log(`cannot listen: ${err.message}`);
  process.exit(1);
}
log(
  `listening on ${host}:${port} (admin ${host}:${adminPort}), backends ${backends.map((b) => b.address).join(", ")}`,
);
