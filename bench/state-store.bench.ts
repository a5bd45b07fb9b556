/**
 * What opening a SQLite journal costs, now that open runs `PRAGMA quick_check` (a damaged file is
 * found before anything trusts it): journals of 5 finished runs on 100, 1,000 and 10,000 hosts
 * (24 steps a host, every step done with a few hundred bytes of output, each run's plan kept as
 * JSON), each opened as every command opens it. Prints the file's size, the open's time, and the
 * quick_check's share of it; the page cache is warm, as it is for the commands that follow a run.
 *
 *   npm run bench:store [-- --json] [-- --hosts 100,1000,10000]
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import Database from "better-sqlite3";
import { SqliteStore } from "../src/store/sqlite-store.js";

const args = process.argv.slice(2);
const json = args.includes("--json");
const sizesArg = args[args.indexOf("--hosts") + 1];
const SIZES = args.includes("--hosts") && sizesArg ? sizesArg.split(",").map(Number) : [100, 1000, 10_000];
const RUNS = 5;
const STEPS_PER_HOST = 24;
const OUTPUT = "installed notes 24.03.1 into /srv/notes/versions/24.03.1 (312 files, 41 MB)\n".repeat(4);

async function makeJournal(file: string, hosts: number): Promise<void> {
  const store = new SqliteStore(file);
  await store.init();
  const ids = Array.from(
    { length: hosts * STEPS_PER_HOST },
    (_, i) => `24.03.1/roll/api/h${Math.floor(i / STEPS_PER_HOST)}/step-${i % STEPS_PER_HOST}`,
  );
  // A plan's JSON is about half a kilobyte a step.
  const plan = {
    steps: ids.map((id) => ({ id, run: [{ type: "exec", command: `run ${id} on its host` }] })),
  };
  for (let r = 0; r < RUNS; r++) {
    const id = `run-${r}`;
    await store.createRun(
      {
        id,
        cluster: "bench",
        from: "24.03.0",
        to: "24.03.1",
        path: ["24.03.0", "24.03.1"],
        status: "done",
        startedAt: Date.now(),
        startedBy: "ops@bench",
        plan,
        files: { cluster: "name: bench\n", catalog: "product: bench\n" },
      },
      ids,
    );
  }
  await store.close();
  // Every step done with its output, in one statement rather than a million journal writes.
  const db = new Database(file);
  db.prepare(
    "UPDATE steps SET state = 'done', started_at = 1, ended_at = 2, exit_code = 0, output = ?, attempts = 1",
  ).run(OUTPUT);
  db.close();
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

const dir = mkdtempSync(join(tmpdir(), "ferry-bench-store-"));
const rows: { hosts: number; steps: number; sizeMB: number; openMs: number; quickCheckMs: number }[] = [];
try {
  for (const hosts of SIZES) {
    const file = join(dir, `journal-${hosts}.db`);
    await makeJournal(file, hosts);
    const opens: number[] = [];
    const checks: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const store = new SqliteStore(file);
      await store.init();
      opens.push(performance.now() - t0);
      await store.close();
      const db = new Database(file, { readonly: true });
      const t1 = performance.now();
      db.pragma("quick_check(1)");
      checks.push(performance.now() - t1);
      db.close();
    }
    rows.push({
      hosts,
      steps: hosts * STEPS_PER_HOST * RUNS,
      sizeMB: Math.round(statSync(file).size / 1e5) / 10,
      openMs: Math.round(median(opens) * 10) / 10,
      quickCheckMs: Math.round(median(checks) * 10) / 10,
    });
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

if (json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
else {
  process.stdout.write(`opening a SQLite journal of ${RUNS} runs (median of 5, warm cache):\n`);
  for (const r of rows) {
    process.stdout.write(
      `  ${String(r.hosts).padStart(6)} hosts  ${String(r.steps).padStart(9)} steps  ${String(r.sizeMB).padStart(7)} MB  open ${String(r.openMs).padStart(7)} ms, of which quick_check ${r.quickCheckMs} ms\n`,
    );
  }
}
