// What the gateway, the API server and the worker of one notes release share: settings from the
// environment, log lines, opening the database (db.mjs), signals and small HTTP helpers. Every
// release folder carries its own copy (the same bytes in each), so a release runs from wherever
// ferry installs it and never imports from outside its folder.
import { readFileSync } from "node:fs";
import { openDb as openDatabase } from "./db.mjs";

export const VERSION = readFileSync(new URL("VERSION", import.meta.url), "utf8").trim();

let component = "notes";

export function setComponent(name) {
  component = name;
}

/** One line on stderr; the supervisor (ferry's start command, the test) keeps it. */
export function log(message) {
  process.stderr.write(
    `${new Date().toISOString()} ${component} ${VERSION} pid ${process.pid}: ${message}\n`,
  );
}

/** Exit 2 with one line that says which setting is wrong: a bad start is an operator's error. */
export function fail(message) {
  log(`cannot start: ${message}`);
  process.exit(2);
}

export function requiredEnv(name) {
  const value = process.env[name];
  if (value === undefined || value === "") fail(`${name} is not set`);
  return value;
}

export function intEnv(name, fallback, { min = 0, max = Number.MAX_SAFE_INTEGER } = {}) {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    fail(`${name}=${raw} is not a whole number from ${min} to ${max}`);
  }
  return value;
}

export function portEnv(name) {
  const raw = requiredEnv(name);
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) fail(`${name}=${raw} is not a TCP port`);
  return port;
}

/** The product's database (NOTES_DB: a SQLite file or a postgres:// URL); a bad one stops the start. */
export async function openDb(target) {
  try {
    return await openDatabase(target, { busyTimeoutMs: intEnv("NOTES_BUSY_TIMEOUT_MS", 5000, { min: 1 }) });
  } catch (err) {
    fail(err.message);
  }
}

/** Refuses to start on a schema this release cannot use, before it takes any traffic. */
export async function requireColumns(db, table, wanted) {
  const have = new Set(await db.columns(table));
  const missing = wanted.filter((c) => !have.has(c));
  if (missing.length > 0) {
    fail(
      `table ${table} has no column ${missing.join(", ")}: release ${VERSION} needs its schema migrations applied first`,
    );
  }
}

/**
 * SIGTERM and SIGINT ask for a graceful stop, once; a second one is not a reason to cut work short.
 * SIGHUP must never kill a process: operators send it to every service after an upgrade (Cinder).
 */
export function onSignals({ stop, hangup = () => log("SIGHUP: nothing to reload") }) {
  let stopping = false;
  const once = (signal) => {
    if (stopping) return log(`${signal} again: still stopping`);
    stopping = true;
    log(`${signal}: stopping gracefully`);
    stop();
  };
  process.on("SIGTERM", () => once("SIGTERM"));
  process.on("SIGINT", () => once("SIGINT"));
  process.on("SIGHUP", hangup);
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The request body, whole; bodies are small here, and a proxy must hold one to retry it. */
export function readBody(req, limit = 1 << 20) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on("data", (chunk) => {
      size += chunk.length;
      if (size > limit) {
        reject(Object.assign(new Error(`body larger than ${limit} bytes`), { status: 413 }));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

export function sendJson(res, status, value, headers = {}) {
  const body = `${JSON.stringify(value)}\n`;
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
}

export function listen(server, port, host) {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

/**
 * Stops accepting connections and lets the requests in flight finish. Idle keep-alive connections
 * are closed as they become idle, or a client could hold the process open. Past `timeoutMs` the
 * rest are cut; resolves whether every request finished.
 */
export function closeServer(server, timeoutMs) {
  return new Promise((resolve) => {
    let clean = true;
    const sweep = setInterval(() => server.closeIdleConnections(), 100);
    const deadline = setTimeout(() => {
      clean = false;
      server.closeAllConnections();
    }, timeoutMs);
    server.close(() => {
      clearInterval(sweep);
      clearTimeout(deadline);
      resolve(clean);
    });
    server.closeIdleConnections();
  });
}
