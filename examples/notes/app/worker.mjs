// The notes worker: takes queued jobs from the jobs table one at a time and runs them. A job is
// claimed by one atomic UPDATE, so two workers never run it at once, and is never left claimed
// and unfinished: SIGTERM lets the job in hand finish first, and a job whose worker died is
// queued again once its claim is older than NOTES_CLAIM_TIMEOUT_MS.
//
// Environment: NOTES_DB (required); NOTES_WORKER_ID (host:pid; must be unique among running
// workers), NOTES_POLL_MS (50), NOTES_CLAIM_TIMEOUT_MS (15000), NOTES_SHUTDOWN_TIMEOUT_MS (10000),
// NOTES_BUSY_TIMEOUT_MS (5000); NOTES_DB is a SQLite file or a postgres:// URL; NODE_PATH must reach
// better-sqlite3 and pg.
import { createHash } from "node:crypto";
import { hostname } from "node:os";
import { intEnv, log, onSignals, openDb, requiredEnv, setComponent, sleep } from "./common.mjs";
import { redact } from "./db.mjs";
import { decodeJob } from "./release.mjs";

setComponent("worker");
const db = await openDb(requiredEnv("NOTES_DB"));
const workerId = process.env.NOTES_WORKER_ID || `${hostname()}:${process.pid}`;
const pollMs = intEnv("NOTES_POLL_MS", 50, { min: 1 });
// Far above the longest job (the API caps workMs at 5 s), so a live worker never loses its claim.
const claimTimeoutMs = intEnv("NOTES_CLAIM_TIMEOUT_MS", 15_000, { min: 1000 });
const shutdownMs = intEnv("NOTES_SHUTDOWN_TIMEOUT_MS", 10_000, { min: 1 });
const MAX_WORK_MS = 5000;

// `AND state = 'queued'` again outside the subquery: the statement is the claim, whatever the
// subquery saw, so a job goes to exactly one worker.
const CLAIM = `UPDATE jobs SET state = 'running', worker = ?, claimed_at = ${db.now}, attempts = attempts + 1
  WHERE id = (SELECT id FROM jobs WHERE state = 'queued' ORDER BY id LIMIT 1${db.skipLocked}) AND state = 'queued'
  RETURNING id, format, payload`;
// Every change to a claimed job names its worker: a worker whose claim was taken back changes nothing.
const FINISH = `UPDATE jobs SET state = 'done', result = ?, done_at = ${db.now} WHERE id = ? AND worker = ? AND state = 'running'`;
const FAIL = `UPDATE jobs SET state = 'failed', error = ?, done_at = ${db.now} WHERE id = ? AND worker = ? AND state = 'running'`;
const GIVE_BACK =
  "UPDATE jobs SET state = 'queued', worker = NULL, claimed_at = NULL WHERE id = ? AND worker = ? AND state = 'running'";
const TAKE_BACK_MINE =
  "UPDATE jobs SET state = 'queued', worker = NULL, claimed_at = NULL WHERE worker = ? AND state = 'running'";
const TAKE_BACK_STALE = `UPDATE jobs SET state = 'queued', worker = NULL, claimed_at = NULL
  WHERE state = 'running' AND claimed_at < ${db.secondsAgo}`;

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
    await db.run(FAIL, [err.message, job.id, workerId]);
    return log(`job ${job.id} failed: ${err.message}`);
  }
  await sleep(Math.min(Math.max(Number(task.workMs) || 0, 0), MAX_WORK_MS));
  const digest = createHash("sha256")
    .update(String(task.text ?? ""))
    .digest("hex");
  if ((await db.run(FINISH, [digest, job.id, workerId])) === 0) {
    log(`job ${job.id}: done, but its claim had timed out; another worker runs it again`);
  }
}

let lastSweep = 0;
async function sweepStaleClaims() {
  if (Date.now() - lastSweep < 1000) return;
  lastSweep = Date.now();
  const changes = await db.run(TAKE_BACK_STALE, [claimTimeoutMs / 1000]);
  if (changes > 0) log(`queued ${changes} job(s) again whose worker held them over ${claimTimeoutMs} ms`);
}

async function loop() {
  while (!stopping) {
    try {
      await sweepStaleClaims();
      inHand = (await db.get(CLAIM, [workerId])) ?? null;
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
    setTimeout(async () => {
      if (inHand) {
        await db.run(GIVE_BACK, [inHand.id, workerId]);
        log(`job ${inHand.id} given back to the queue: not finished within ${shutdownMs} ms`);
      }
      await db.close();
      process.exit(1);
    }, shutdownMs).unref();
  },
});

if (process.env.NOTES_WORKER_ID) {
  // This id's previous life is gone (ids are unique among running workers): its jobs need not wait
  // for the claim timeout.
  const changes = await db.run(TAKE_BACK_MINE, [workerId]);
  if (changes > 0) log(`queued ${changes} job(s) again that this worker's previous run left claimed`);
}
log(`started as ${workerId}, database ${redact(process.env.NOTES_DB)}`);
await loop();
await db.close();
log("stopped: no job in hand");
process.exit(0);
