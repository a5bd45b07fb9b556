/**
 * The seeds' procedures (examples/procedures/<seed>/) run for real: the example copied to a
 * temporary folder, its product database a fresh PostgreSQL database, bin/ferry run in the copy
 * (the examples' commands are paths relative to their folder), and what happened read back from
 * the hosts' own records, `hosts/<host>/events.log`: "TIME COMPONENT VERSION EVENT DETAIL".
 * Every process the example started is ended by its pid, whatever the test did.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { makeDatabase, type TestDatabase, unavailable } from "./databases.js";
import { ROOT } from "./run-ferry.js";
import { type AsyncResult, ferryAsync } from "./run-ferry-async.js";

export interface HostEvent {
  /** ISO 8601 with microseconds, UTC: the same length everywhere, so strings sort in time order. */
  readonly time: string;
  readonly host: string;
  readonly component: string;
  readonly version: string;
  readonly event: string;
  readonly detail: string;
}

export interface ShellResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface Example {
  readonly dir: string;
  /** The example's fresh database; an example without one (ExampleOptions.database) throws here. */
  readonly db: TestDatabase;
  /** bin/ferry in the example's folder. */
  ferry(args: readonly string[]): Promise<AsyncResult>;
  /** A shell command line in the example's folder (its bin/ scripts). */
  sh(line: string): Promise<ShellResult>;
  /** Every host's records, in time order; from `since` (a value of mark()) on. */
  events(since?: Mark): HostEvent[];
  /** Where each host's record ends now. */
  mark(): Mark;
}

export type Mark = ReadonlyMap<string, number>;

/**
 * Why the examples cannot run here, or undefined: they need the PostgreSQL server and Debian's
 * python3 with psycopg2, and Backend.AI's Debian's alembic too (.ci/run installs both).
 */
export async function procedureUnavailable(needs: { alembic: boolean }): Promise<string | undefined> {
  if (needs.alembic && !existsSync("/usr/bin/alembic"))
    return "Debian's alembic (/usr/bin/alembic) is not installed: apt-get install alembic";
  const py = spawnSync("/usr/bin/python3", ["-c", "import psycopg2"], { encoding: "utf8", env: {} });
  if (py.error || py.status !== 0)
    return "Debian's python3 with psycopg2 is not installed: apt-get install python3-psycopg2";
  return unavailable("postgres");
}

export interface ExampleOptions {
  /**
   * The database name the example's files use; each of `files` gets the fresh one instead.
   * Absent: the example has no database (StarlingX's hosts keep their own).
   */
  readonly database?: { readonly name: string; readonly files: readonly string[] };
  /** The example's own command that stops its processes (SIGTERM), run at the end. */
  readonly teardown: string;
}

/**
 * Runs `body` on a fresh copy of examples/procedures/`name` whose database is a new PostgreSQL
 * database. At the end the example's teardown stops its processes, any left are killed by pid,
 * and the copy and the database are removed.
 */
export async function withExample(
  name: string,
  { database, teardown }: ExampleOptions,
  body: (ex: Example) => Promise<void>,
): Promise<void> {
  const source = join(ROOT, "examples", "procedures", name);
  const dir = mkdtempSync(join(tmpdir(), `ferry-${name}-`));
  // What a run of the example in place would have left there is not the example's.
  cpSync(source, dir, {
    recursive: true,
    filter: (path) => !/^(hosts|\.ferry)(\/|$)/.test(relative(source, path)),
  });
  const db = database ? await makeDatabase("postgres") : undefined;
  const dbName = db ? new URL(db.url).pathname.slice(1) : "";
  for (const file of database?.files ?? []) {
    const path = join(dir, file);
    const text = readFileSync(path, "utf8");
    const changed = text.replaceAll(`127.0.0.1:5432/${database?.name}\n`, `127.0.0.1:5432/${dbName}\n`);
    if (changed === text) throw new Error(`${file} does not name the database ${database?.name}`);
    writeFileSync(path, changed);
  }
  const ex: Example = {
    dir,
    get db(): TestDatabase {
      if (!db) throw new Error(`the ${name} example has no database`);
      return db;
    },
    ferry: (args) => ferryAsync(args, {}, { cwd: dir }),
    sh: (line) => shell(line, dir),
    events: (since) => readEvents(dir, since),
    mark: () => new Map(hostsOf(dir).map((h) => [h, linesOf(dir, h).length])),
  };
  try {
    await body(ex);
  } finally {
    await shell(teardown, dir);
    endProcesses(dir);
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function shell(line: string, cwd: string): Promise<ShellResult> {
  return new Promise((resolve, reject) => {
    const child = spawn("sh", ["-c", line], { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

function hostsOf(dir: string): string[] {
  const hosts = join(dir, "hosts");
  return existsSync(hosts) ? readdirSync(hosts).sort() : [];
}

function linesOf(dir: string, host: string): string[] {
  const file = join(dir, "hosts", host, "events.log");
  return existsSync(file) ? readFileSync(file, "utf8").split("\n").filter(Boolean) : [];
}

function readEvents(dir: string, since?: Mark): HostEvent[] {
  const out: HostEvent[] = [];
  for (const host of hostsOf(dir)) {
    for (const line of linesOf(dir, host).slice(since?.get(host) ?? 0)) {
      const [time = "", component = "", version = "", event = "", ...rest] = line.split(" ");
      out.push({ time, host, component, version, event, detail: rest.join(" ") });
    }
  }
  // A stable sort: one host's lines keep their order when two share a microsecond.
  return out.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
}

/** SIGKILLs every process whose pid an example's pid files hold and that runs the example's code. */
function endProcesses(dir: string): void {
  for (const host of hostsOf(dir)) {
    for (const component of readdirSync(join(dir, "hosts", host))) {
      const file = join(dir, "hosts", host, component, "pid");
      if (!existsSync(file)) continue;
      const pid = Number(readFileSync(file, "utf8"));
      // A pid the system gave to another process since is not ours to end.
      let cmdline = "";
      try {
        cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      } catch {
        continue;
      }
      if (!cmdline.includes(dir)) continue;
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // Gone meanwhile.
      }
    }
  }
}

/** Every event that matches. */
export function all(events: readonly HostEvent[], match: Partial<HostEvent>): HostEvent[] {
  return events.filter((e) => Object.entries(match).every(([k, v]) => e[k as keyof HostEvent] === v));
}

export const show = (e: HostEvent) =>
  `${e.time} ${e.host} ${e.component} ${e.version} ${e.event} ${e.detail}`;

/** Where the first event that matches is in `events`; fails, showing them, when none does. */
export function at(events: readonly HostEvent[], match: Partial<HostEvent>): number {
  const i = events.findIndex((e) => Object.entries(match).every(([k, v]) => e[k as keyof HostEvent] === v));
  assert.ok(i >= 0, `no event ${JSON.stringify(match)} in:\n${events.map(show).join("\n")}`);
  return i;
}

/** Where the last event that matches is in `events`; fails, showing them, when none does. */
export function lastAt(events: readonly HostEvent[], match: Partial<HostEvent>): number {
  const found = all(events, match);
  assert.ok(found.length > 0, `no event ${JSON.stringify(match)} in:\n${events.map(show).join("\n")}`);
  return events.lastIndexOf(found[found.length - 1] as HostEvent);
}

/** Asserts that the (first) events that match `matches` happened in this order. */
export function inOrder(events: readonly HostEvent[], ...matches: Partial<HostEvent>[]): void {
  const places = matches.map((m) => at(events, m));
  for (let i = 1; i < places.length; i++) {
    assert.ok(
      (places[i - 1] as number) < (places[i] as number),
      `${JSON.stringify(matches[i - 1])} should come before ${JSON.stringify(matches[i])}:\n${events.map(show).join("\n")}`,
    );
  }
}

/** `ferry status --json`'s members as "component@host version healthy|unhealthy". */
export async function memberStates(ex: Example): Promise<string[]> {
  const r = await ex.ferry(["status", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const status = JSON.parse(r.stdout) as {
    members: { host: string; component: string; version: string; healthy: boolean }[];
  };
  return status.members.map(
    (m) => `${m.component}@${m.host} ${m.version} ${m.healthy ? "healthy" : "unhealthy"}`,
  );
}
