/**
 * `npm run bench`: every benchmark in bench/ (each `*.bench.ts`, in name order), one after another,
 * each printing as it goes; then a summary of every figure judged against an aim, the lines that
 * start with `AIM ` (bench/aim-line.ts), and which benchmarks could not run and why. A benchmark
 * that cannot run here (bench:ssh without root and the lab) says so on its last line of stderr
 * ("… cannot run here: …") and is listed as skipped; any other non-zero exit is a failure, and
 * makes this exit 1. Extra arguments go to every benchmark.
 *
 *   npm run bench [-- --only executor,start]
 */
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";

const BENCH = new URL(".", import.meta.url).pathname;
const args = process.argv.slice(2);
const onlyAt = args.indexOf("--only");
const only = onlyAt >= 0 ? new Set((args[onlyAt + 1] ?? "").split(",")) : undefined;
const passed = onlyAt >= 0 ? args.filter((_, i) => i !== onlyAt && i !== onlyAt + 1) : args;

const files = readdirSync(BENCH)
  .filter((f) => f.endsWith(".bench.ts"))
  .filter((f) => !only || only.has(f.replace(/\.bench\.ts$/, "")) || only.has(f.replace(/[.-].*$/, "")))
  .sort();

interface Outcome {
  readonly file: string;
  readonly code: number | null;
  readonly seconds: number;
  readonly aims: string[];
  readonly lastError: string;
}

/** Runs one benchmark with its output shown as it comes, keeping its AIM lines and last stderr line. */
function run(file: string): Promise<Outcome> {
  const start = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", join(BENCH, file), ...passed], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    const aims: string[] = [];
    let lastError = "";
    let pending = "";
    child.stdout.on("data", (chunk: Buffer) => {
      process.stdout.write(chunk);
      const lines = (pending + chunk.toString("utf8")).split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) if (line.startsWith("AIM ")) aims.push(line);
    });
    child.stderr.on("data", (chunk: Buffer) => {
      process.stderr.write(chunk);
      const text = chunk.toString("utf8").trim();
      if (text) lastError = text.split("\n").at(-1) ?? text;
    });
    child.on("close", (code) => {
      if (pending.startsWith("AIM ")) aims.push(pending);
      resolve({ file, code, seconds: Math.round((Date.now() - start) / 1000), aims, lastError });
    });
  });
}

const outcomes: Outcome[] = [];
for (const file of files) {
  console.log(`\n=== ${file} (load average ${loadavg()[0]?.toFixed(2)})`);
  outcomes.push(await run(file));
}

console.log(`\n=== summary: ${files.length} benchmarks, load average now ${loadavg()[0]?.toFixed(2)}`);
for (const o of outcomes) {
  const skipped = o.code !== 0 && /cannot run here/.test(o.lastError);
  const state =
    o.code === 0 ? "ran" : skipped ? `skipped: ${o.lastError}` : `FAILED (exit ${o.code}): ${o.lastError}`;
  console.log(`  ${o.file.padEnd(26)} ${String(o.seconds).padStart(4)} s  ${state}`);
}
const aims = outcomes.flatMap((o) => o.aims.map((line) => `${line}   [${o.file}]`));
console.log(
  aims.length
    ? `aims (${aims.filter((a) => !a.includes(") NOT met")).length} of ${aims.length} met):`
    : "no aims judged",
);
for (const line of aims) console.log(`  ${line}`);
const failed = outcomes.filter((o) => o.code !== 0 && !/cannot run here/.test(o.lastError));
process.exitCode = failed.length > 0 ? 1 : 0;
