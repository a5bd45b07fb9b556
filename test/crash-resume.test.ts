/**
 * kill -9 at every journal transition, then the command that picks the run up: the run must reach
 * the same end as an uninterrupted one (DESIGN.md "Crash safety"). The kill is injected at a named
 * point (FERRY_FAULT=journal#N: right after the N-th durable journal write of that process), never
 * by sleeping; N goes up until a run no longer reaches it, so every transition is covered.
 *
 * Covered: `apply` killed (three scenarios on SQLite, the one that fails and rolls back on
 * PostgreSQL too), `resume` killed (after an apply was), and `rollback` killed (then finished by
 * `resume` or `rollback` in turn).
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, it } from "node:test";
import { openStateStore } from "../src/store/open-store.js";
import { makeDatabase, type TestDatabase, unavailable } from "./support/databases.js";
import { type FakeProduct, type FakeProductOptions, makeFakeProduct } from "./support/fake-product.js";
import { type AsyncResult, ferryAsync } from "./support/run-ferry-async.js";

const noPostgres = await unavailable("postgres");
const onPostgres = noPostgres && process.env.CI !== "true" ? { skip: noPostgres } : {};

interface Scenario {
  readonly name: string;
  readonly product: FakeProductOptions;
  readonly to: string;
  /** The end state every member must reach: its active and running version. */
  readonly end: { active: string; running: string | null };
  readonly status: "done" | "rolled-back";
}

const ROLLING: Scenario = {
  name: "a rolling hop",
  product: { hosts: 2, releases: ["1.0.0", "1.0.1"] },
  to: "1.0.1",
  end: { active: "1.0.1", running: "1.0.1" },
  status: "done",
};

const OFFLINE: Scenario = {
  name: "an offline hop",
  product: {
    hosts: 2,
    releases: ["1.0.1", "1.1.0"],
    start: "1.0.1",
    extra: "queue: { drain: 'true', undrain: 'true' }",
  },
  to: "1.1.0",
  end: { active: "1.1.0", running: "1.1.0" },
  status: "done",
};

/**
 * The second host's new release never starts: the run rolls back, and a crash during the rollback
 * must still end rolled back.
 */
const FAILING: Scenario = {
  name: "a rolling hop that fails and rolls back",
  product: {
    hosts: 2,
    releases: ["1.0.0", "1.0.1"],
    commands: {
      start: `test "{{host}}-$(cat {{vars.root}}/{{host}}/{{component}}/current/VERSION)" != h2-1.0.1 && cat {{vars.root}}/{{host}}/{{component}}/current/VERSION > {{vars.root}}/{{host}}/{{component}}/running`,
    },
  },
  to: "1.0.1",
  end: { active: "1.0.0", running: "1.0.0" },
  status: "rolled-back",
};

/**
 * The operator's own steps (a host action and a cluster action, each with check and undo) and a
 * point of no return placed after them: crashed while one runs or is undone, the same end.
 */
const ACTIONS: Scenario = {
  name: "a rolling hop with actions that fails and rolls back",
  product: {
    ...FAILING.product,
    componentExtra:
      '    actions: [{ name: dirs, at: after-activate, run: "mkdir -p {{vars.root}}/{{host}}/dirs", check: "test -d {{vars.root}}/{{host}}/dirs", undo: "rm -rf {{vars.root}}/{{host}}/dirs" }]',
    extra: [
      "actions:",
      '  - { name: schema, at: expand, on: { component: api, host: last }, run: "touch {{vars.root}}/schema", check: "test -f {{vars.root}}/schema", undo: "rm -f {{vars.root}}/schema" }',
      '  - { name: announce, at: verify, run: "true", undo: "true" }',
      "pointOfNoReturn: { before: { action: announce } }",
    ].join("\n"),
  },
  to: "1.0.1",
  end: { active: "1.0.0", running: "1.0.0" },
  status: "rolled-back",
};

/** A run that paused on a failure (onFailure: pause), for `ferry rollback` to undo. */
const PAUSED: Scenario = {
  ...FAILING,
  name: "the rollback of a paused run",
  product: { ...FAILING.product, extra: "onFailure: pause" },
};

/** Where a case keeps its journal: a SQLite file beside its cluster file, or a PostgreSQL schema of its own. */
type Journals = { readonly kind: "sqlite" } | { readonly kind: "postgres"; readonly db: TestDatabase };
const SQLITE: Journals = { kind: "sqlite" };

/**
 * bin/ferry on the case's cluster. After a SIGKILL it ends the dead holder's lease at once where
 * the store is shared (PostgreSQL): there only the lease's end frees the lock (15 s; the lock
 * tests cover the takeover), while on SQLite the dead pid does at once.
 */
type CaseFerry = (args: string[], env?: Record<string, string>) => Promise<AsyncResult>;

/**
 * Where the cases of one loop run, one after another: a product, and for a loop that starts each
 * case from the same prepared run (a crashed apply, a paused run), a copy of its folder as the
 * preparation left it, put back before each case instead of preparing again.
 */
class Bench {
  #product!: FakeProduct;
  #schema = "";
  #state: string | undefined;
  #snapshot: string | undefined;

  private constructor(
    readonly scenario: Scenario,
    readonly journals: Journals,
  ) {
    this.#fresh();
  }

  static async make(
    scenario: Scenario,
    journals: Journals,
    prepare?: (ferry: CaseFerry) => Promise<void>,
  ): Promise<Bench> {
    const bench = new Bench(scenario, journals);
    if (prepare) {
      assert.equal(journals.kind, "sqlite", "a prepared run is copied as files");
      await prepare(bench.ferry);
      bench.#snapshot = mkdtempSync(join(tmpdir(), "ferry-crash-snapshot-"));
      cpSync(bench.#product.dir, bench.#snapshot, { recursive: true });
    }
    return bench;
  }

  get product(): FakeProduct {
    return this.#product;
  }

  /** The cluster file's `state:`: a PostgreSQL schema of the bench's own, or the default SQLite file. */
  get state(): string | undefined {
    return this.#state;
  }

  readonly ferry: CaseFerry = async (args, env) => {
    const r = await ferryAsync([...args, "-c", this.#product.clusterFile], env);
    if (r.signal === "SIGKILL" && this.journals.kind === "postgres") {
      await this.journals.db.query(
        `UPDATE "${this.#schema}".locks SET lease_until = 0 WHERE token IS NOT NULL`,
      );
    }
    return r;
  };

  /** Back to the start of a case: as prepared, or a fresh product and journal. */
  reset(): void {
    if (this.#snapshot) {
      rmSync(this.#product.dir, { recursive: true, force: true });
      cpSync(this.#snapshot, this.#product.dir, { recursive: true });
    } else {
      this.#product.cleanup();
      this.#fresh();
    }
  }

  cleanup(): void {
    this.#product.cleanup();
    if (this.#snapshot) rmSync(this.#snapshot, { recursive: true, force: true });
  }

  #fresh(): void {
    this.#schema = `crash_${randomBytes(4).toString("hex")}`;
    this.#state =
      this.journals.kind === "postgres" ? `${this.journals.db.url}?schema=${this.#schema}` : undefined;
    this.#product = makeFakeProduct({
      ...this.scenario.product,
      ...(this.#state ? { state: this.#state } : {}),
    });
  }
}

/**
 * One crash case on `bench`: the steps of `body` (true when it killed ferry), then the checks
 * every case shares: every member at the scenario's end, the run ended as it says.
 */
async function crashCase(
  bench: Bench,
  k: number,
  body: (ferry: CaseFerry) => Promise<boolean>,
): Promise<"crashed" | "ran-to-end"> {
  bench.reset();
  const { scenario, product } = bench;
  const crashed = await body(bench.ferry);
  for (const [host, components] of Object.entries(product.state())) {
    assert.deepEqual(components.api, scenario.end, `${host} after a crash at journal#${k}`);
  }
  // Read from the journal itself: one process fewer per case, in a loop of hundreds.
  const store = await openStateStore(bench.state ?? "state/ferry.db", product.dir);
  try {
    const [run] = await store.listRuns("fake");
    assert.equal(run?.status, scenario.status, `run after a crash at journal#${k}`);
  } finally {
    await store.close();
  }
  return crashed ? "crashed" : "ran-to-end";
}

/** After a kill: the command that picks the run up ends it as an uninterrupted run would have. */
function assertPickedUp(r: AsyncResult, scenario: Scenario, what: string): void {
  // A crash after the run's last write leaves nothing to pick up: that is the same end too.
  if (r.code === 3) {
    assert.match(r.stderr, /no unfinished run/, what);
    return;
  }
  // Resuming a rollback ends as asked (0); resuming forward into the failure rolls back (1).
  const allowed = scenario.status === "done" ? [0] : [0, 1];
  assert.ok(allowed.includes(r.code ?? -1), `${what}: exit ${r.code}: ${r.stderr}${r.stdout}`);
}

/** kill -9 of `apply` at journal#k, then `resume`. */
function applyKilled(scenario: Scenario, journals: Journals): Loop {
  return {
    bench: () => Bench.make(scenario, journals),
    crashAt: (bench, k) =>
      crashCase(bench, k, async (ferry) => {
        const first = await ferry(["apply", "--to", scenario.to, "--yes"], { FERRY_FAULT: `journal#${k}` });
        if (first.signal !== "SIGKILL") {
          assert.equal(first.code, scenario.status === "done" ? 0 : 1, first.stderr);
          return false;
        }
        assertPickedUp(await ferry(["resume", "--yes"]), scenario, `resume after journal#${k}`);
        return true;
      }),
  };
}

/** `apply` killed early (at its journal#4), then `resume` killed at its journal#k, then `resume` again. */
function resumeKilled(scenario: Scenario): Loop {
  return {
    bench: () =>
      Bench.make(scenario, SQLITE, async (ferry) => {
        const first = await ferry(["apply", "--to", scenario.to, "--yes"], { FERRY_FAULT: "journal#4" });
        assert.equal(first.signal, "SIGKILL", "apply reaches its 4th journal write");
      }),
    crashAt: (bench, k) =>
      crashCase(bench, k, async (ferry) => {
        const second = await ferry(["resume", "--yes"], { FERRY_FAULT: `journal#${k}` });
        if (second.signal !== "SIGKILL") {
          assertPickedUp(second, scenario, `resume that reached its end before journal#${k}`);
          return false;
        }
        assertPickedUp(await ferry(["resume", "--yes"]), scenario, `resume after resume's journal#${k}`);
        return true;
      }),
  };
}

/** A paused run: `rollback` killed at its journal#k, then finished by `resume` (odd k) or `rollback` (even k). */
function rollbackKilled(): Loop {
  return {
    bench: () =>
      Bench.make(PAUSED, SQLITE, async (ferry) => {
        const paused = await ferry(["apply", "--to", PAUSED.to, "--yes"]);
        assert.equal(paused.code, 1, paused.stdout + paused.stderr);
        assert.match(paused.stdout, /Paused \(onFailure: pause\)/);
      }),
    crashAt: (bench, k) =>
      crashCase(bench, k, async (ferry) => {
        const back = await ferry(["rollback", "--yes"], { FERRY_FAULT: `journal#${k}` });
        if (back.signal !== "SIGKILL") {
          assert.equal(back.code, 0, back.stdout + back.stderr);
          return false;
        }
        const verb = k % 2 === 1 ? "resume" : "rollback";
        const end = await ferry([verb, "--yes"]);
        if (end.code !== 3) assert.equal(end.code, 0, `${verb} after rollback's journal#${k}: ${end.stderr}`);
        else assert.match(end.stderr, /no unfinished run/);
        return true;
      }),
  };
}

/** A loop over the transitions: where its cases run, and one case. */
interface Loop {
  bench(): Promise<Bench>;
  crashAt(bench: Bench, k: number): Promise<"crashed" | "ran-to-end">;
}

/**
 * Runs the loop's case for k = 1, 2, … on two benches side by side (odd k on one, even on the
 * other), until a run no longer reaches journal#k; returns how many transitions were crashed at.
 */
async function everyTransition(loop: Loop): Promise<number> {
  const benches = await Promise.all([loop.bench(), loop.bench()]);
  try {
    for (let k = 1; ; k += 2) {
      const results = await Promise.all(benches.map((b, i) => loop.crashAt(b, k + i)));
      const end = results.indexOf("ran-to-end");
      if (end >= 0) return k + end - 1;
      assert.ok(k < 400, "the journal writes never end");
    }
  } finally {
    for (const b of benches) b.cleanup();
  }
}

function report(what: string, covered: number, started: number): void {
  process.stdout.write(
    `# ${what}: killed and picked up at each of ${covered} journal transitions in ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
  );
}

for (const scenario of [ROLLING, OFFLINE, FAILING, ACTIONS]) {
  it(`kill -9 of apply at every journal transition of ${scenario.name}, then resume: the same end`, async () => {
    const started = performance.now();
    const covered = await everyTransition(applyKilled(scenario, SQLITE));
    assert.ok(covered >= 10, `only ${covered} transitions`);
    report(`apply, ${scenario.name}`, covered, started);
  });
}

it("kill -9 of resume at every journal transition (of a run that fails and rolls back), then resume: the same end", async () => {
  const started = performance.now();
  const covered = await everyTransition(resumeKilled(FAILING));
  assert.ok(covered >= 10, `only ${covered} transitions`);
  report("resume, a rolling hop that fails and rolls back", covered, started);
});

it("kill -9 of rollback at every journal transition, then resume or rollback: rolled back", async () => {
  const started = performance.now();
  const covered = await everyTransition(rollbackKilled());
  assert.ok(covered >= 5, `only ${covered} transitions`);
  report("rollback of a paused run", covered, started);
});

const databases: TestDatabase[] = [];
after(async () => {
  for (const db of databases) await db.drop();
});

it(
  "on the PostgreSQL state store: kill -9 of apply at every journal transition of a run that fails and rolls back, then resume",
  onPostgres,
  async () => {
    const db = await makeDatabase("postgres");
    databases.push(db);
    const started = performance.now();
    const covered = await everyTransition(applyKilled(FAILING, { kind: "postgres", db }));
    assert.ok(covered >= 10, `only ${covered} transitions`);
    report(`apply on PostgreSQL, ${FAILING.name}`, covered, started);
  },
);
