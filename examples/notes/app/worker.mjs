// The notes worker: takes queued jobs from the jobs table one at a time and runs them. A job is
// claimed by one atomic UPDATE, so two workers never run it at once, and is never left claimed
// and unfinished: SIGTERM lets the job in hand finish first, and a job whose worker died is
// queued again once its claim is older than NOTES_CLAIM_TIMEOUT_MS.
//
// Environment: NOTES_DB (required); NOTES_WORKER_ID (host:pid; must be unique among running
// workers), NOTES_POLL_MS (50), NOTES_CLAIM_TIMEOUT_MS (15000), NOTES_SHUTDOWN_TIMEOUT_MS (10000),
// NOTES_BUSY_TIMEOUT_MS (5000); NODE_PATH must reach better-sqlite3.
import { createHash } from "node:crypto";
import { hostname } from "node:os";
import { intEnv, log, NOW, onSignals, openDb, requiredEnv, setComponent, sleep } from "./common.mjs";
import { decodeJob } from "./release.mjs";

setComponent("worker");
const db = openDb(requiredEnv("NOTES_DB"));
const workerId = process.env.NOTES_WORKER_ID || `${hostname()}:${process.pid}`;
const pollMs = intEnv("NOTES_POLL_MS", 50, { min: 1 });
// Far above the longest job (the API caps workMs at 5 s), so a live worker never loses its claim.
const claimTimeoutMs = intEnv("NOTES_CLAIM_TIMEOUT_MS", 15_000, { min: 1000 });
const shutdownMs = intEnv("NOTES_SHUTDOWN_TIMEOUT_MS", 10_000, { min: 1 });
const MAX_WORK_MS = 5000;

// `AND state = 'queued'` again outside the subquery: the statement is the claim, whatever the
// subquery saw. SQLite runs one writer at a time, so a job goes to exactly one worker.
const claim =
  db.prepare(`UPDATE jobs SET state = 'running', worker = ?, claimed_at = ${NOW}, attempts = attempts + 1
  WHERE id = (SELECT id FROM jobs WHERE state = 'queued' ORDER BY id LIMIT 1) AND state = 'queued'
  RETURNING id, format, payload`);
// Every change to a claimed job names its worker: a worker whose claim was taken back changes nothing.
const finish = db.prepare(
  `UPDATE jobs SET state = 'done', result = ?, done_at = ${NOW} WHERE id = ? AND worker = ? AND state = 'running'`,
);
const failJob = db.prepare(
  `UPDATE jobs SET state = 'failed', error = ?, done_at = ${NOW} WHERE id = ? AND worker = ? AND state = 'running'`,
);
const giveBack = db.prepare(
  "UPDATE jobs SET state = 'queued', worker = NULL, claimed_at = NULL WHERE id = ? AND worker = ? AND state = 'running'",
);
const takeBackMine = db.prepare(
  "UPDATE jobs SET state = 'queued', worker = NULL, claimed_at = NULL WHERE worker = ? AND state = 'running'",
);
const takeBackStale = db.prepare(`UPDATE jobs SET state = 'queued', worker = NULL, claimed_at = NULL
  WHERE state = 'running' AND claimed_at < strftime('%Y-%m-%d %H:%M:%f', 'now', ?)`);

let stopping = false;
let inHand = null;
let wake = () => {};

function idle(ms) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    wake = () => {
      clearTimeout(timer);
      resolve();
    };
  });
}

async function run(job) {
  let task;
  try {
    task = decodeJob(job.format, job.payload);
    if (task.task !== "digest") throw new Error(`unknown task ${JSON.stringify(task.task)}`);
  } catch (err) {
    failJob.run(err.message, job.id, workerId);
    return log(`job ${job.id} failed: ${err.message}`);
  }
  await sleep(Math.min(Math.max(Number(task.workMs) || 0, 0), MAX_WORK_MS));
  const digest = createHash("sha256")
    .update(String(task.text ?? ""))
    .digest("hex");
  if (finish.run(digest, job.id, workerId).changes === 0) {
    log(`job ${job.id}: done, but its claim had timed out; another worker runs it again`);
  }
}

let lastSweep = 0;
function sweepStaleClaims() {
  if (Date.now() - lastSweep < 1000) return;
  lastSweep = Date.now();
  const { changes } = takeBackStale.run(`-${claimTimeoutMs / 1000} seconds`);
  if (changes > 0) log(`queued ${changes} job(s) again whose worker held them over ${claimTimeoutMs} ms`);
}

async function loop() {
  while (!stopping) {
    try {
      sweepStaleClaims();
      inHand = claim.get(workerId) ?? null;
      if (!inHand) {
        await idle(pollMs);
        continue;
      }
      await run(inHand);
      inHand = null;
    } catch (err) {
      // A busy database or a full disk: the claim, if any, stays and times out; try again later.
      log(`error: ${err.message}`);
      inHand = null;
      await idle(Math.max(pollMs, 500));
    }
  }
}

onSignals({
  stop: () => {
    stopping = true;
    wake();
    // A job that cannot finish in time goes back to the queue rather than stay claimed.
    setTimeout(() => {
      if (inHand) {
        giveBack.run(inHand.id, workerId);
        log(`job ${inHand.id} given back to the queue: not finished within ${shutdownMs} ms`);
      }
      db.close();
      process.exit(1);
    }, shutdownMs).unref();
  },
});

if (process.env.NOTES_WORKER_ID) {
  // This id's previous life is gone (ids are unique among running workers): its jobs need not wait
  // for the claim timeout.
  const { changes } = takeBackMine.run(workerId);
  if (changes > 0) log(`queued ${changes} job(s) again that this worker's previous run left claimed`);
}
log(`started as ${workerId}, database ${process.env.NOTES_DB}`);
await loop();
db.close();
log("stopped: no job in hand");
process.exit(0);
