/**
 * The sample product notes (examples/notes), run for real on loopback: one gateway, three API
 * servers and two workers, each installed in its own folder and activated by a symlink as ferry
 * does (Ganeti's layout), over one SQLite database. It checks what a rolling upgrade of notes
 * relies on: acknowledged writes last, jobs run, a drained and SIGTERM'd server loses no request,
 * a SIGTERM'd worker finishes its job, a dead worker's job runs anyway, and the 1.1 release keeps
 * to the old job format while pinned.
 *
 * The steps build on each other (the cluster ends half-upgraded to 1.1.0), so they run in order.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import {
  cpSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { type IncomingHttpHeaders, request } from "node:http";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { type NotesDb, openDb } from "../examples/notes/app/db.mjs";
import { type LoadReport, type LoadResult, runLoad, startLoad, verify } from "../examples/notes/load.mjs";
import { loadCatalog, planPath } from "../src/index.js";
import { makeDatabase, type TestDatabase, unavailable } from "./support/databases.js";

const REPO = fileURLToPath(new URL("..", import.meta.url));
const NOTES = join(REPO, "examples/notes");
const RELEASES = ["1.0.0", "1.0.1", "1.1.0", "1.1.1", "1.2.0"];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor<T>(
  what: string,
  probe: () => Promise<T> | T,
  timeoutMs = 10_000,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`gave up after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Whether a new connection to `port` is refused (nothing listens there any more). */
function refuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", (err: NodeJS.ErrnoException) => resolve(err.code === "ECONNREFUSED"));
  });
}

interface Reply<T> {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly json: T;
}

/** One request on its own connection, so that nothing stays pooled between steps. */
function http<T = Record<string, unknown>>(method: string, url: string, body?: unknown): Promise<Reply<T>> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      url,
      { method, agent: false, headers: payload ? { "content-type": "application/json" } : {} },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            json: (text ? JSON.parse(text) : undefined) as T,
          });
        });
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error(`${method} ${url}: no answer in 10 s`)));
    req.on("error", reject);
    req.end(payload);
  });
}

const healthy = (url: string) => () =>
  http("GET", url).then(
    (r) => r.status === 200,
    () => false,
  );

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A product process; its output is kept for the failure message. */
class Proc {
  readonly child: ChildProcess;
  readonly exited: Promise<Exit>;
  output = "";
  done = false;

  constructor(
    readonly name: string,
    script: string,
    env: Record<string, string>,
  ) {
    // A clean environment: only what the product documents, and NODE_PATH for better-sqlite3,
    // because the installed release folders are outside the repository.
    this.child = spawn(process.execPath, [script], {
      env: { PATH: process.env.PATH ?? "", NODE_PATH: join(REPO, "node_modules"), ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString("utf8")).slice(-8000);
    };
    this.child.stdout?.on("data", keep);
    this.child.stderr?.on("data", keep);
    this.exited = new Promise((resolve) =>
      this.child.once("exit", (code, signal) => {
        this.done = true;
        resolve({ code, signal });
      }),
    );
  }

  signal(signal: NodeJS.Signals): void {
    if (!this.done) this.child.kill(signal);
  }

  /** SIGTERM, and the exit that follows. */
  async stop(): Promise<Exit> {
    this.signal("SIGTERM");
    return this.exited;
  }
}

interface Job {
  id: number;
  format: number;
  state: string;
  worker: string | null;
  attempts: number;
  error: string | null;
}

describe("the notes release folders", () => {
  it("each holds the whole program and names its version, and the catalog lists them all", () => {
    const dirs = readdirSync(join(NOTES, "releases")).sort();
    assert.deepEqual(dirs, RELEASES);
    for (const v of RELEASES) {
      assert.deepEqual(readdirSync(join(NOTES, "releases", v)).sort(), ["VERSION", "release.mjs"], v);
      assert.equal(readFileSync(join(NOTES, "releases", v, "VERSION"), "utf8").trim(), v);
    }
    const catalog = loadCatalog(join(NOTES, "releases.yaml"));
    assert.deepEqual(
      catalog.releases.map((r) => r.version),
      RELEASES,
    );
    const path = planPath(catalog, "1.0.0", "1.2.0");
    assert.ok(
      path.hops.every((h) => h.mode === "rolling"),
      JSON.stringify(path.hops),
    );
  });
});

const DIALECTS = ["sqlite", "postgres"] as const;
// Every await before the first test is declared: node's runner starts once a file's top level ends.
const reasons = await Promise.all(DIALECTS.map(unavailable));
for (const [i, dialect] of DIALECTS.entries()) {
  const why = reasons[i];
  if (why && process.env.CI !== "true") it.skip(`notes over ${dialect}: ${why}`);
  else describe(`notes under load, on loopback, over ${dialect}`, () => productSuite(dialect));
}

/** The whole product over one database of `dialect`; the steps build on each other. */
function productSuite(dialect: (typeof DIALECTS)[number]): void {
  const root = mkdtempSync(join(tmpdir(), "ferry-notes-"));
  // The product's NOTES_DB: a SQLite file, or a fresh database on the PostgreSQL server here.
  let target = join(root, "notes.db");
  let server: TestDatabase | undefined;
  const pinFile = join(root, "pin");
  const procs = new Map<string, Proc>();
  let db: NotesDb;
  let gateway = "";
  let admin = "";
  const api: { host: string; port: number; url: string; address: string }[] = [];
  /** The first load's notes, written under 1.0.0: they must read back the same through every release. */
  let firstLoad: LoadResult | undefined;
  const WORKERS = [
    { host: "h1", id: "w1" },
    { host: "h2", id: "w2" },
  ];

  /** Installs `version` beside the others and points `current` at it, as ferry's install and activate do. */
  function install(host: string, component: string, version: string): string {
    const home = join(root, host, component);
    // A release is the shared programs and its own release.mjs and VERSION, copied together.
    cpSync(join(NOTES, "app"), join(home, "versions", version), { recursive: true });
    cpSync(join(NOTES, "releases", version), join(home, "versions", version), { recursive: true });
    symlinkSync(join("versions", version), join(home, "current.new"));
    renameSync(join(home, "current.new"), join(home, "current"));
    return join(home, "current", `${component}.mjs`);
  }

  function start(key: string, script: string, env: Record<string, string>): Proc {
    const proc = new Proc(key, script, env);
    procs.set(key, proc);
    return proc;
  }

  async function startApi(i: number): Promise<Proc> {
    const a = api[i];
    assert.ok(a);
    const proc = start(`api/${a.host}`, join(root, a.host, "api", "current", "api.mjs"), {
      NOTES_PORT: String(a.port),
      NOTES_DB: target,
      NOTES_PIN_FILE: pinFile,
    });
    await waitFor(`api ${a.host} healthy`, healthy(`${a.url}/health`));
    return proc;
  }

  async function startWorker(i: number): Promise<Proc> {
    const w = WORKERS[i];
    assert.ok(w);
    const proc = start(`worker/${w.id}`, join(root, w.host, "worker", "current", "worker.mjs"), {
      NOTES_DB: target,
      NOTES_WORKER_ID: w.id,
    });
    await waitFor(`worker ${w.id} started`, () => proc.output.includes("started as") || proc.done);
    assert.equal(proc.done, false, `worker ${w.id} exited at start:\n${proc.output}`);
    return proc;
  }

  function proc(key: string): Proc {
    const p = procs.get(key);
    assert.ok(p, `no process ${key}`);
    return p;
  }

  /** One API host to `version` as ferry's roll does: drain, SIGTERM, install, activate, start, health, ready. */
  async function rollApi(i: number, version: string): Promise<void> {
    const a = api[i];
    assert.ok(a);
    assert.equal((await http("POST", `${admin}/backends/${a.address}/drain`)).status, 200);
    assert.deepEqual(await proc(`api/${a.host}`).stop(), { code: 0, signal: null });
    install(a.host, "api", version);
    await startApi(i);
    assert.equal((await http("POST", `${admin}/backends/${a.address}/ready`)).status, 200);
  }

  async function rollWorker(i: number, version: string): Promise<void> {
    const w = WORKERS[i];
    assert.ok(w);
    assert.deepEqual(await proc(`worker/${w.id}`).stop(), { code: 0, signal: null });
    install(w.host, "worker", version);
    await startWorker(i);
  }

  const backends = async () =>
    (
      await http<{ address: string; state: string; inflight: number; served: number; refused: number }[]>(
        "GET",
        `${admin}/backends`,
      )
    ).json;
  const backend = async (address: string) => (await backends()).find((b) => b.address === address);

  const job = (id: number) =>
    db.get("SELECT id, format, state, worker, attempts, error FROM jobs WHERE id = ?", [id]) as Promise<Job>;
  const jobDone = async (id: number) => {
    const j = await job(id);
    return j.state === "done" ? j : undefined;
  };

  function assertClean(report: LoadReport): void {
    assert.deepEqual(
      {
        failed: report.requests.failed,
        lostWrites: report.writes.lost,
        lostJobs: report.jobs.lost,
        problems: report.problems,
      },
      { failed: 0, lostWrites: 0, lostJobs: 0, problems: [] },
    );
    assert.ok(report.writes.acknowledged > 0, "the load wrote notes");
    assert.ok(report.jobs.enqueued > 0, "the load enqueued jobs");
    assert.equal(report.jobs.completed, report.jobs.enqueued);
  }

  /** `it`, with the product's recent output added to a failure: the only trace of what a server did. */
  function step(name: string, body: () => Promise<void>): void {
    it(name, async () => {
      try {
        await body();
      } catch (err) {
        const logs = [...procs.values()].map(
          (p) => `--- ${p.name}${p.done ? " (exited)" : ""}\n${p.output.slice(-1500)}`,
        );
        if (err instanceof Error) err.message += `\n${logs.join("\n")}`;
        throw err;
      }
    });
  }

  before(async () => {
    if (dialect === "postgres") {
      server = await makeDatabase("postgres");
      target = server.url;
    } else {
      writeFileSync(target, ""); // an empty file is an empty SQLite database
    }
    db = await openDb(target);
    await db.exec(
      readFileSync(join(NOTES, `schema/1.0.0${dialect === "postgres" ? ".postgres" : ""}.sql`), "utf8"),
    );

    const gatewayPort = await freePort();
    const adminPort = await freePort();
    gateway = `http://127.0.0.1:${gatewayPort}`;
    admin = `http://127.0.0.1:${adminPort}`;
    for (const host of ["h1", "h2", "h3"]) {
      const port = await freePort();
      api.push({ host, port, url: `http://127.0.0.1:${port}`, address: `127.0.0.1:${port}` });
      install(host, "api", "1.0.0");
    }
    for (const w of WORKERS) install(w.host, "worker", "1.0.0");

    start("gateway/h1", install("h1", "gateway", "1.0.0"), {
      NOTES_PORT: String(gatewayPort),
      NOTES_ADMIN_PORT: String(adminPort),
      NOTES_BACKENDS: api.map((a) => a.address).join(","),
    });
    await Promise.all([...api.map((_, i) => startApi(i)), ...WORKERS.map((_, i) => startWorker(i))]);
    await waitFor("gateway healthy", healthy(`${admin}/health`));
  });

  after(async () => {
    // Whatever the outcome, nothing started here outlives the test.
    for (const p of procs.values()) p.signal("SIGKILL");
    await Promise.all([...procs.values()].map((p) => p.exited));
    await db?.close();
    await server?.drop();
    rmSync(root, { recursive: true, force: true });
  });
  step(
    "acknowledges writes that read back, runs every job, and spreads requests over every server",
    async () => {
      const result = await runLoad({ url: gateway, rate: 100, concurrency: 4, durationMs: 1500 });
      firstLoad = result;
      assertClean(await verify(result, { jobsTimeoutMs: 10_000 }));
      const served = new Set(result.records.map((r) => r.backend));
      assert.deepEqual([...served].sort(), api.map((a) => a.address).sort());
    },
  );

  step("drain, SIGTERM, start again, ready: no request fails, and a request in flight finishes", async () => {
    const h2 = api[1];
    assert.ok(h2);
    const load = startLoad({
      url: gateway,
      rate: 80,
      concurrency: 6,
      durationMs: 30_000,
      maxRequests: 3000,
    });
    try {
      await waitFor("some load", () => load.stats().sent >= 20);

      const drain = await http<{ inflight: number; state: string }>(
        "POST",
        `${admin}/backends/${h2.address}/drain`,
      );
      assert.equal(drain.status, 200);
      assert.deepEqual(
        { state: drain.json.state, inflight: drain.json.inflight },
        { state: "draining", inflight: 0 },
      );
      const drainedAt = Date.now();
      const servedWhenDrained = (await backend(h2.address))?.served;

      // A request that is in the server when SIGTERM comes: the 100-continue says it is being handled.
      const body = JSON.stringify({ text: "in flight through SIGTERM" });
      const slow = request({
        host: "127.0.0.1",
        port: h2.port,
        method: "POST",
        path: "/notes",
        agent: false,
        headers: {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(body),
          expect: "100-continue",
        },
      });
      const continued = new Promise((resolve) => slow.once("continue", resolve));
      const answered = new Promise<{ status: number; json: { id: number } }>((resolve, reject) => {
        slow.once("response", (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () =>
            resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString()) }),
          );
        });
        slow.once("error", reject);
      });
      slow.flushHeaders();
      await continued;

      const server = proc("api/h2");
      const exit = server.stop();
      await waitFor("h2 to stop accepting connections", () => refuses(h2.port));
      assert.equal(server.done, false, "h2 waits for the request in flight");
      slow.end(body);
      const written = await answered;
      assert.equal(written.status, 201);
      assert.deepEqual(await exit, { code: 0, signal: null });
      assert.deepEqual(await db.get("SELECT body FROM notes WHERE id = ?", [written.json.id]), {
        body: "in flight through SIGTERM",
      });

      // While h2 is down, marked ready by mistake: connections it refuses go to another server.
      const refusedBefore = (await backend(h2.address))?.refused ?? 0;
      assert.equal((await http("POST", `${admin}/backends/${h2.address}/ready`)).status, 200);
      await waitFor(
        "the gateway to meet h2 refusing",
        async () => ((await backend(h2.address))?.refused ?? 0) >= refusedBefore + 3,
      );
      assert.equal((await http("POST", `${admin}/backends/${h2.address}/drain`)).status, 200);

      await startApi(1);
      assert.equal(
        (await backend(h2.address))?.served,
        servedWhenDrained,
        "nothing was served by h2 while drained",
      );
      const readyAt = Date.now();
      assert.equal((await http("POST", `${admin}/backends/${h2.address}/ready`)).status, 200);
      await waitFor(
        "h2 to serve again",
        async () => ((await backend(h2.address))?.served ?? 0) >= (servedWhenDrained ?? 0) + 5,
      );

      load.stop();
      const result = await load.done;
      const duringDrain = result.records.filter((r) => r.at > drainedAt && r.end < readyAt);
      assert.ok(duringDrain.length > 10, `the load ran while h2 was out (${duringDrain.length} requests)`);
      assert.deepEqual(
        duringDrain.filter((r) => r.backend === h2.address),
        [],
      );
      assertClean(await verify(result, { jobsTimeoutMs: 10_000 }));
    } finally {
      load.stop();
      await load.done;
    }
  });

  step("a SIGTERM'd worker finishes the job in hand before it exits", async () => {
    const enqueued = await http<{ id: number }>("POST", `${gateway}/jobs`, { text: "slow", workMs: 1500 });
    assert.equal(enqueued.status, 201);
    const claimed = await waitFor("the slow job to be claimed", async () => {
      const j = await job(enqueued.json.id);
      return j.state === "running" && j.worker ? j : undefined;
    });
    const worker = proc(`worker/${claimed.worker}`);
    assert.deepEqual(await worker.stop(), { code: 0, signal: null });
    assert.deepEqual(await job(enqueued.json.id).then((j) => ({ state: j.state, worker: j.worker })), {
      state: "done",
      worker: claimed.worker,
    });
    await startWorker(WORKERS.findIndex((w) => w.id === claimed.worker));
  });

  step("a job whose worker died is queued again and runs", async () => {
    // What a worker killed with SIGKILL mid-job leaves: a claim a minute old by a worker that is gone.
    const { id } = (await db.get(
      `INSERT INTO jobs (payload, format, state, worker, claimed_at, attempts)
         VALUES (?, 1, 'running', 'gone', ${db.secondsAgo}, 1) RETURNING id`,
      [JSON.stringify({ task: "digest", text: "orphan", workMs: 1 }), 60],
    )) as { id: number };
    const done = await waitFor("the orphaned job to run", () => jobDone(id));
    assert.ok(["w1", "w2"].includes(done.worker ?? ""), `run by ${done.worker}`);
    assert.equal(done.attempts, 2);
  });

  step("pinned to 1.0, a 1.1.0 server writes v1 jobs and 1.0.0 workers run them", async () => {
    // ferry's expand phase, by hand: additive, so the 1.0.0 servers keep running on it.
    const expand = join(NOTES, "migrations/1.1.0/expand");
    for (const f of readdirSync(expand).sort()) await db.exec(readFileSync(join(expand, f), "utf8"));
    writeFileSync(pinFile, "1.0\n");

    const h3 = api[2];
    assert.ok(h3);
    await rollApi(2, "1.1.0");

    const health = await http("GET", `${h3.url}/health`);
    assert.deepEqual(
      { version: health.json.version, jobFormat: health.json.jobFormat, pin: health.json.pin },
      { version: "1.1.0", jobFormat: 1, pin: "1.0" },
    );

    const enqueued = await http<{ id: number; format: number }>("POST", `${h3.url}/jobs`, {
      text: "pinned",
    });
    assert.equal(enqueued.status, 201);
    assert.equal(enqueued.headers["x-notes-version"], "1.1.0");
    assert.equal(enqueued.json.format, 1);
    const done = await waitFor("the v1 job to run", () => jobDone(enqueued.json.id));
    assert.equal(done.format, 1);
    assert.ok(["w1", "w2"].includes(done.worker ?? ""));
    assert.ok(
      readFileSync(
        join(root, done.worker === "w1" ? "h1" : "h2", "worker", "current", "VERSION"),
        "utf8",
      ).startsWith("1.0.0"),
    );

    // Notes cross versions both ways while mixed.
    const h1 = api[0];
    assert.ok(h1);
    const fromNew = await http<{ id: number }>("POST", `${h3.url}/notes`, { text: "written by 1.1.0" });
    assert.equal(
      (await http<{ text: string }>("GET", `${h1.url}/notes/${fromNew.json.id}`)).json.text,
      "written by 1.1.0",
    );
    const fromOld = await http<{ id: number }>("POST", `${h1.url}/notes`, { text: "written by 1.0.0" });
    assert.equal(
      (await http<{ text: string }>("GET", `${h3.url}/notes/${fromOld.json.id}`)).json.text,
      "written by 1.0.0",
    );

    // The gateway now spreads over 1.0.0 and 1.1.0 servers alike.
    const result = await runLoad({ url: gateway, rate: 100, concurrency: 4, durationMs: 1500 });
    assertClean(await verify(result, { jobsTimeoutMs: 10_000 }));
    const formats = (await db.all("SELECT DISTINCT format FROM jobs")) as { format: number }[];
    assert.deepEqual(
      formats.map((f) => f.format),
      [1],
    );
  });

  step("unpinned, 1.1.0 writes v2 jobs, and 1.1.0 workers run v1 and v2 alike", async () => {
    // The workers roll while still pinned, as in ferry's roll phase; then the pin goes (activate).
    for (const i of WORKERS.keys()) await rollWorker(i, "1.1.0");
    rmSync(pinFile);
    const h3 = api[2];
    const h1 = api[0];
    assert.ok(h3 && h1);
    proc("api/h3").signal("SIGHUP");
    await waitFor(
      "h3 to speak v2",
      async () => (await http("GET", `${h3.url}/health`)).json.jobFormat === 2,
      3000,
    );

    const v2 = await http<{ id: number; format: number }>("POST", `${h3.url}/jobs`, { text: "unpinned" });
    const v1 = await http<{ id: number; format: number }>("POST", `${h1.url}/jobs`, { text: "from 1.0.0" });
    assert.deepEqual([v2.json.format, v1.json.format], [2, 1]);
    for (const id of [v2.json.id, v1.json.id]) {
      const done = await waitFor(`job ${id} to run`, () => jobDone(id));
      assert.ok(["w1", "w2"].includes(done.worker ?? ""));
    }
    assert.equal((await job(v2.json.id)).format, 2);

    // No SIGHUP needed: the pin file is read again every second.
    writeFileSync(pinFile, "1.0\n");
    await waitFor(
      "h3 to follow the pin file",
      async () => (await http("GET", `${h3.url}/health`)).json.jobFormat === 1,
      5000,
    );
  });
  step(
    "the rest of the way to 1.2.0 under load: back-fill, roll, contract; no note lost since the first",
    async () => {
      const load = startLoad({
        url: gateway,
        rate: 80,
        concurrency: 6,
        durationMs: 30_000,
        maxRequests: 3000,
      });
      try {
        await waitFor("some load", () => load.stats().sent >= 20);
        // The end of the 1.0.1 → 1.1.0 hop: the other servers roll while pinned, then activate
        // (unpin) and the back-fill, batch by batch, as ferry's data phase runs it.
        writeFileSync(pinFile, "1.0\n");
        for (const i of [0, 1]) await rollApi(i, "1.1.0");
        rmSync(pinFile);
        for (const a of api) proc(`api/${a.host}`).signal("SIGHUP");
        const backfill = readFileSync(
          join(NOTES, "migrations/1.1.0/data/0001-notes-title-backfill.sql"),
          "utf8",
        );
        let batches = 0;
        while ((await db.run(backfill.replaceAll("{{batch}}", "20"))) > 0) batches += 1;
        assert.ok(batches > 1, `the back-fill ran in batches (${batches})`);
        const left = await db.get("SELECT count(*) AS n FROM notes WHERE title IS NULL");
        assert.equal(Number(left.n), 0);

        // The 1.1.0 → 1.2.0 hop: pin to 1.1, roll everything, unpin, contract.
        writeFileSync(pinFile, "1.1\n");
        for (const i of api.keys()) await rollApi(i, "1.2.0");
        for (const i of WORKERS.keys()) await rollWorker(i, "1.2.0");
        rmSync(pinFile);
        const contract = join(NOTES, "migrations/1.2.0/contract");
        for (const f of readdirSync(contract).sort()) await db.exec(readFileSync(join(contract, f), "utf8"));
        const columns = await db.columns("notes");
        assert.ok(!columns.includes("body"), columns.join(", "));
        const sent = load.stats().sent;
        await waitFor("load after the contract", () => load.stats().sent >= sent + 40);

        load.stop();
        assertClean(await verify(await load.done, { jobsTimeoutMs: 10_000 }));
        // Notes written under 1.0.0, in body only, read back the same from 1.2.0, which reads title only.
        assert.ok(firstLoad, "the first step ran");
        assertClean(await verify(firstLoad, { jobsTimeoutMs: 1000 }));
        const health = await http("GET", `${gateway}/health`);
        assert.equal(health.json.version, "1.2.0");
      } finally {
        load.stop();
        await load.done;
      }
    },
  );
}
