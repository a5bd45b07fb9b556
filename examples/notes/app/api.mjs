// The notes API server: notes and jobs over HTTP, on one database (SQLite or PostgreSQL) shared with
// the other API servers and the workers. It acknowledges a write only once it is committed, and stops gracefully
// on SIGTERM (the requests in flight finish) so a rolling upgrade loses nothing.
//
// Environment: NOTES_PORT, NOTES_DB (required: a SQLite file or a postgres:// URL); NOTES_HOST (127.0.0.1), NOTES_PIN_FILE (releases
// that know pins), NOTES_SHUTDOWN_TIMEOUT_MS (5000), NOTES_BUSY_TIMEOUT_MS (5000), NOTES_FAULT (a
// release made to fail, see /metrics); NODE_PATH must reach better-sqlite3 and pg.
//
// GET /metrics answers in Prometheus's text format: notes_requests_total, notes_errors_total (answers
// of 500 and failed self-checks) and notes_release_info{version}. A release made to fail (NOTES_FAULT
// names this server's release) fails its self-check every 250 ms, as a release with a broken
// dependency would, so its error counter rises without any traffic: what a metric gate catches.
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import {
  closeServer,
  intEnv,
  listen,
  log,
  onSignals,
  openDb,
  portEnv,
  readBody,
  requireColumns,
  requiredEnv,
  sendJson,
  setComponent,
  VERSION,
} from "./common.mjs";
import { redact } from "./db.mjs";
import { decodeJob, encodeJob, HEADERS, jobFormat, NOTE_COLUMNS, noteStore, READS_PIN } from "./release.mjs";

setComponent("api");
const port = portEnv("NOTES_PORT");
const host = process.env.NOTES_HOST || "127.0.0.1";
const pinFile = process.env.NOTES_PIN_FILE || null;
const shutdownMs = intEnv("NOTES_SHUTDOWN_TIMEOUT_MS", 5000, { min: 1 });
const MAX_TEXT = 64 * 1024;
const MAX_WORK_MS = 5000;

const db = await openDb(requiredEnv("NOTES_DB"));
await requireColumns(db, "notes", NOTE_COLUMNS);
const notes = noteStore(db);
const INSERT_JOB = "INSERT INTO jobs (payload, format) VALUES (?, ?) RETURNING id";
const SELECT_JOB =
  "SELECT id, format, payload, state, worker, attempts, result, error, created_at, done_at FROM jobs WHERE id = ?";

// The pin is re-read every second as well as on SIGHUP, so an operator who only writes the file
// (and ferry, which may not know the pids) still switches every server within a second.
let pin = null;
let format = jobFormat(pin);
function readPin() {
  if (!READS_PIN || !pinFile) return;
  let text;
  try {
    text = readFileSync(pinFile, "utf8").trim() || null;
  } catch (err) {
    if (err.code !== "ENOENT")
      return log(`cannot read pin file ${pinFile} (${err.code}); keeping pin ${pin}`);
    text = null;
  }
  if (text === pin) return;
  const next = jobFormat(text);
  log(`pin ${pin ?? "none"} -> ${text ?? "none"}: writing job format v${next}`);
  pin = text;
  format = next;
}
readPin();
const pinTimer = READS_PIN && pinFile ? setInterval(readPin, 1000) : undefined;
pinTimer?.unref();

const counters = { requests: 0, errors: 0 };
const faulty = process.env.NOTES_FAULT === VERSION;
if (faulty) log(`NOTES_FAULT=${VERSION}: this release is made to fail its self-check`);
const selfCheck = faulty ? setInterval(() => counters.errors++, 250) : undefined;
selfCheck?.unref();

function metricsText() {
  return [
    "# HELP notes_requests_total Requests answered, but /metrics.",
    "# TYPE notes_requests_total counter",
    `notes_requests_total ${counters.requests}`,
    "# HELP notes_errors_total Answers of 500 and failed self-checks.",
    "# TYPE notes_errors_total counter",
    `notes_errors_total ${counters.errors}`,
    "# HELP notes_release_info The release this server runs.",
    "# TYPE notes_release_info gauge",
    `notes_release_info{version="${VERSION}"} 1`,
    "",
  ].join("\n");
}

let draining = false;
const headers = (extra = {}) => ({ ...HEADERS, ...(draining ? { connection: "close" } : {}), ...extra });
const answer = (res, status, value) => sendJson(res, status, value, headers());

async function jsonBody(req) {
  const raw = await readBody(req);
  let value;
  try {
    value = JSON.parse(raw.toString("utf8") || "{}");
  } catch {
    value = undefined;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw Object.assign(new Error("the body must be a JSON object"), { status: 400 });
  }
  return value;
}

const routes = [
  [
    "GET",
    /^\/health$/,
    (_req, res) =>
      answer(res, draining ? 503 : 200, {
        status: draining ? "stopping" : "ok",
        version: VERSION,
        jobFormat: format,
        pin,
      }),
  ],
  [
    "POST",
    /^\/notes$/,
    async (req, res) => {
      const { text } = await jsonBody(req);
      if (typeof text !== "string" || text.length > MAX_TEXT) {
        return answer(res, 400, { error: `text must be a string of at most ${MAX_TEXT} characters` });
      }
      // The statement commits before it returns (autocommit): the 201 follows the commit.
      answer(res, 201, { id: await notes.add(text) });
    },
  ],
  [
    "GET",
    /^\/notes\/(\d+)$/,
    async (_req, res, id) => {
      const note = await notes.get(Number(id));
      if (note) answer(res, 200, note);
      else answer(res, 404, { error: `no note ${id}` });
    },
  ],
  [
    "POST",
    /^\/jobs$/,
    async (req, res) => {
      const { text = "", workMs = 5 } = await jsonBody(req);
      if (typeof text !== "string" || text.length > MAX_TEXT) {
        return answer(res, 400, { error: `text must be a string of at most ${MAX_TEXT} characters` });
      }
      if (!Number.isInteger(workMs) || workMs < 0 || workMs > MAX_WORK_MS) {
        return answer(res, 400, { error: `workMs must be a whole number from 0 to ${MAX_WORK_MS}` });
      }
      const written = format;
      const { id } = await db.get(INSERT_JOB, [encodeJob(written, { text, workMs }), written]);
      answer(res, 201, { id, format: written });
    },
  ],
  [
    "GET",
    /^\/jobs\/(\d+)$/,
    async (_req, res, id) => {
      const job = await db.get(SELECT_JOB, [Number(id)]);
      if (!job) return answer(res, 404, { error: `no job ${id}` });
      let task = null;
      try {
        task = decodeJob(job.format, job.payload);
      } catch {
        // A job in a newer format than this release reads is still shown, without its task.
      }
      answer(res, 200, {
        id: job.id,
        format: job.format,
        state: job.state,
        worker: job.worker,
        attempts: job.attempts,
        task,
        result: job.result,
        error: job.error,
        createdAt: job.created_at,
        doneAt: job.done_at,
      });
    },
  ],
];

async function handle(req, res) {
  const path = new URL(req.url, "http://notes").pathname;
  if (req.method === "GET" && path === "/metrics") {
    res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
    return res.end(metricsText());
  }
  counters.requests++;
  const matching = routes.filter(([, pattern]) => pattern.test(path));
  if (matching.length === 0) return answer(res, 404, { error: `no route ${path}` });
  const route = matching.find(([method]) => method === req.method);
  if (!route) return answer(res, 405, { error: `${req.method} is not allowed on ${path}` });
  const [, pattern, run] = route;
  await run(req, res, ...path.match(pattern).slice(1));
}

const server = createServer((req, res) => {
  handle(req, res).catch((err) => {
    // Busy: nothing was committed, so the client may safely try again.
    const status = err.status ?? (db.busy(err) ? 503 : 500);
    if (status === 500) {
      counters.errors++;
      log(`${req.method} ${req.url}: ${err.stack ?? err}`);
    }
    if (!res.headersSent) answer(res, status, { error: err.message });
    else res.destroy();
  });
});
// Longer than any client's idle pool, so the server is never the one to close an idle connection
// while a request may be on its way (that race would fail a request the client cannot retry).
server.keepAliveTimeout = 65_000;

onSignals({
  stop: async () => {
    draining = true;
    clearInterval(pinTimer);
    clearInterval(selfCheck);
    const clean = await closeServer(server, shutdownMs);
    await db.close();
    log(clean ? "stopped: every request finished" : `stopped: requests cut after ${shutdownMs} ms`);
    process.exit(clean ? 0 : 1);
  },
  hangup: () => {
    if (!READS_PIN) return log("SIGHUP: nothing to reload");
    log("SIGHUP: re-reading the pin file");
    readPin();
  },
});

await listen(server, port, host).catch((err) => {
  log(`cannot listen on ${host}:${port}: ${err.message}`);
  process.exit(1);
});
log(`listening on ${host}:${port}, database ${redact(process.env.NOTES_DB)}, writing job format v${format}`);
