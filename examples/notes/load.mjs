// The load that `ferry demo` and the tests send through the notes gateway while an upgrade runs,
// and the verifier that says afterwards whether the upgrade cost anything: a failed request, an
// acknowledged note that is gone or changed, a job that never ran. Loopback only, and bounded in
// count and in time, so a mistake cannot turn it into a flood or a run that never ends.
//
//   const load = startLoad({ url: "http://127.0.0.1:7100", rate: 50, durationMs: 30_000 });
//   … upgrade …
//   load.stop();
//   const report = await verify(await load.done);
import { Agent, request } from "node:http";
import { performance } from "node:perf_hooks";

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);
const MAX_DURATION_MS = 10 * 60_000;
const MAX_REQUESTS = 1_000_000;
const MAX_PROBLEMS = 20;

function loopbackUrl(url) {
  const parsed = new URL(url);
  if (parsed.protocol !== "http:" || !LOOPBACK.has(parsed.hostname)) {
    throw new Error(`load goes to loopback only (http://127.0.0.1:PORT), not ${url}`);
  }
  return parsed;
}

function bounded(name, value, min, max) {
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new Error(`${name} must be from ${min} to ${max}, not ${value}`);
  }
  return value;
}

/** One HTTP exchange with a JSON answer; never throws: a failure is a result with `error`. */
function call(agent, base, method, path, body, timeoutMs) {
  return new Promise((resolve) => {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = request(
      {
        host: base.hostname.replace(/^\[|\]$/g, ""),
        port: base.port,
        method,
        path,
        agent,
        headers: payload ? { "content-type": "application/json", "content-length": payload.length } : {},
      },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("error", (err) => resolve({ status: 0, error: err.code ?? err.message }));
        res.on("end", () => {
          let json;
          try {
            json = JSON.parse(Buffer.concat(chunks).toString("utf8"));
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode, headers: res.headers, json });
        });
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error("timeout"), { code: "TIMEOUT" })));
    req.on("error", (err) => resolve({ status: 0, error: err.code ?? err.message }));
    req.end(payload);
  });
}

/**
 * Starts sending a mix of note writes, note reads and job enqueues to `url` at `rate` requests a
 * second, at most `concurrency` at once, until `maxRequests` are sent, `durationMs` has passed or
 * `stop()` is called. `done` resolves with every request's outcome and what was acknowledged.
 */
export function startLoad(options) {
  const base = loopbackUrl(options.url);
  const rate = bounded("rate", options.rate ?? 50, 0.1, 10_000);
  const concurrency = bounded("concurrency", options.concurrency ?? 4, 1, 256);
  const durationMs = bounded("durationMs", options.durationMs ?? 10_000, 1, MAX_DURATION_MS);
  const maxRequests = bounded("maxRequests", options.maxRequests ?? 10_000, 1, MAX_REQUESTS);
  const timeoutMs = bounded("timeoutMs", options.timeoutMs ?? 5000, 1, 60_000);
  const jobWorkMs = bounded("jobWorkMs", options.jobWorkMs ?? 5, 0, 5000);
  const mix = { write: 0.4, read: 0.4, job: 0.2, ...options.mix };
  const total = mix.write + mix.read + mix.job;
  if (!(total > 0)) throw new Error("mix must give some weight to write, read or job");

  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const records = [];
  const notes = new Map();
  const noteIds = [];
  const jobs = [];
  const startedAt = Date.now();
  const t0 = performance.now();
  const deadline = t0 + durationMs;
  const interval = 1000 / rate;
  let next = 0;
  let inflight = 0;
  let stopped = false;
  const wakers = new Set();
  // live() counts failures once each, however often it is asked.
  let failedSoFar = 0;
  let counted = 0;

  const pause = (ms) =>
    new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      wakers.add(wake);
    });

  function choose() {
    const r = Math.random() * total;
    const kind = r < mix.write ? "write" : r < mix.write + mix.read ? "read" : "job";
    // A read needs an acknowledged note; until there is one, write.
    return kind === "read" && noteIds.length === 0 ? "write" : kind;
  }

  async function one(i) {
    const kind = choose();
    const at = Date.now();
    const t = performance.now();
    let reply;
    let ok;
    let error;
    if (kind === "write") {
      const text = `note ${i} ${Math.random().toString(36).slice(2)}`;
      reply = await call(agent, base, "POST", "/notes", { text }, timeoutMs);
      ok = reply.status === 201 && Number.isInteger(reply.json?.id);
      if (ok) {
        notes.set(reply.json.id, text);
        noteIds.push(reply.json.id);
      }
    } else if (kind === "read") {
      const id = noteIds[Math.floor(Math.random() * noteIds.length)];
      reply = await call(agent, base, "GET", `/notes/${id}`, undefined, timeoutMs);
      ok = reply.status === 200 && reply.json?.text === notes.get(id);
      if (reply.status === 200 && !ok) error = `note ${id} reads back different text`;
    } else {
      reply = await call(agent, base, "POST", "/jobs", { text: `job ${i}`, workMs: jobWorkMs }, timeoutMs);
      ok = reply.status === 201 && Number.isInteger(reply.json?.id);
      if (ok) jobs.push(reply.json.id);
    }
    records.push({
      kind,
      ok,
      status: reply.status,
      ms: performance.now() - t,
      at,
      end: Date.now(),
      backend: reply.headers?.["x-notes-backend"],
      ...(ok ? {} : { error: error ?? reply.error ?? reply.json?.error ?? `HTTP ${reply.status}` }),
    });
  }

  async function lane() {
    for (;;) {
      if (stopped || next >= maxRequests) return;
      const i = next++;
      const due = t0 + i * interval;
      if (due >= deadline) return;
      const wait = due - performance.now();
      if (wait > 0) await pause(wait);
      if (stopped) return;
      inflight += 1;
      try {
        await one(i);
      } finally {
        inflight -= 1;
      }
    }
  }

  const done = Promise.all(Array.from({ length: concurrency }, lane)).then(() => {
    agent.destroy();
    return { url: base.origin, startedAt, endedAt: Date.now(), records, notes, jobs };
  });

  return {
    done,
    /** Sends nothing more; the requests in flight finish and `done` resolves. */
    stop() {
      stopped = true;
      for (const wake of [...wakers]) wake();
    },
    stats: () => ({
      sent: records.length,
      failed: records.filter((r) => !r.ok).length,
      inflight,
      notes: notes.size,
      jobs: jobs.length,
    }),
    live(windowMs = 3000) {
      // Records are pushed as answers end: the last window is a tail, read from the end.
      const since = Date.now() - windowMs;
      const recent = [];
      for (let i = records.length - 1; i >= 0 && records[i].end >= since; i--) recent.push(records[i]);
      failedSoFar += records.slice(counted).filter((r) => !r.ok).length;
      counted = records.length;
      const ms = recent.map((r) => r.ms).sort((a, b) => a - b);
      return {
        perS: Math.round((recent.length / windowMs) * 1000),
        failed: failedSoFar,
        p99Ms: Math.round(percentile(ms, 0.99)),
      };
    },
  };
}

/** `startLoad` run to its end. */
export function runLoad(options) {
  return startLoad(options).done;
}

/**
 * A job's done_at as epoch milliseconds: PostgreSQL's comes as an ISO time with its zone, SQLite's
 * as `YYYY-MM-DD HH:MM:SS.SSS` in UTC (strftime's 'now'); null when it is neither.
 */
function whenDone(text) {
  if (typeof text !== "string") return null;
  const iso = /[zZ]|[+-]\d\d:?\d\d$/.test(text) ? text : `${text.replace(" ", "T")}Z`;
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? ms : null;
}

function percentile(sorted, p) {
  if (sorted.length === 0) return 0;
  const value = sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)];
  return Math.round(value * 10) / 10;
}

/** Runs `task` over `items`, `limit` at a time. */
async function eachLimited(items, limit, task) {
  let i = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (i < items.length) await task(items[i++]);
  });
  await Promise.all(lanes);
}

/**
 * Reads back every acknowledged note (present, same text) and waits, at most `jobsTimeoutMs`,
 * until every enqueued job is done; then reports. A job that failed counts as lost: it was
 * accepted and will never run. With `window: { from, to }` (Date.now() times, e.g. an upgrade's
 * first step's start and last step's end), `requests` and `latencyMs` count only the requests
 * sent within it; a failed request outside it is still a problem, and every note and job is checked.
 *
 * @returns {{requests:{sent,failed}, latencyMs:{p50,p99,max}, writes:{acknowledged,lost},
 *   jobs:{enqueued,completed,lost}, problems: string[]}}
 */
export async function verify(result, options = {}) {
  const base = loopbackUrl(options.url ?? result.url);
  const timeoutMs = bounded("timeoutMs", options.timeoutMs ?? 5000, 1, 60_000);
  const jobsTimeoutMs = bounded("jobsTimeoutMs", options.jobsTimeoutMs ?? 30_000, 0, MAX_DURATION_MS);
  const concurrency = bounded("concurrency", options.concurrency ?? 8, 1, 256);
  const counted = options.window
    ? result.records.filter((r) => r.at >= options.window.from && r.at <= options.window.to)
    : result.records;
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const problems = [];
  const problem = (text) => {
    if (problems.length < MAX_PROBLEMS) problems.push(text);
  };
  // The verifier's own reads are not the load: one that cannot connect is tried again, so a
  // hiccup of the reader is not reported as a lost write.
  const read = async (path) => {
    for (let attempt = 1; ; attempt++) {
      const reply = await call(agent, base, "GET", path, undefined, timeoutMs);
      if ((reply.status !== 0 && reply.status < 500) || attempt === 3) return reply;
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  try {
    for (const r of result.records) if (!r.ok) problem(`${r.kind} failed: ${r.error}`);

    let lostNotes = 0;
    await eachLimited([...result.notes], concurrency, async ([id, text]) => {
      const reply = await read(`/notes/${id}`);
      if (reply.status === 200 && reply.json?.text === text) return;
      lostNotes += 1;
      problem(
        reply.status === 200
          ? `note ${id} lost: it reads back different text`
          : `note ${id} lost: ${reply.error ?? `HTTP ${reply.status}`}`,
      );
    });

    const pending = new Set(result.jobs);
    const jobsDoneAt = [];
    let completed = 0;
    let failedJobs = 0;
    const jobsDeadline = performance.now() + jobsTimeoutMs;
    const lastState = new Map();
    for (;;) {
      await eachLimited([...pending], concurrency, async (id) => {
        const reply = await read(`/jobs/${id}`);
        lastState.set(id, reply.json?.state ?? reply.error ?? `HTTP ${reply.status}`);
        if (reply.json?.state === "done") {
          completed += 1;
          const doneAt = whenDone(reply.json.doneAt);
          if (doneAt !== null) jobsDoneAt.push(doneAt);
          pending.delete(id);
        } else if (reply.json?.state === "failed") {
          failedJobs += 1;
          pending.delete(id);
          problem(`job ${id} lost: failed: ${reply.json.error}`);
        }
      });
      if (pending.size === 0 || performance.now() >= jobsDeadline) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    for (const id of pending)
      problem(`job ${id} lost: not done after ${jobsTimeoutMs} ms (${lastState.get(id)})`);

    const latencies = counted.map((r) => r.ms).sort((a, b) => a - b);
    return {
      requests: { sent: counted.length, failed: counted.filter((r) => !r.ok).length },
      latencyMs: {
        p50: percentile(latencies, 0.5),
        p99: percentile(latencies, 0.99),
        max: percentile(latencies, 1),
      },
      writes: { acknowledged: result.notes.size, lost: lostNotes },
      jobs: { enqueued: result.jobs.length, completed, lost: pending.size + failedJobs },
      jobsDoneAt: jobsDoneAt.sort((a, b) => a - b),
      problems,
    };
  } finally {
    agent.destroy();
  }
}
