/**
 * The local driver: runs a command with `sh -c` on this machine, for hosts whose `driver` is
 * `local` (the default) and for the sample cluster that `ferry demo` upgrades.
 *
 * The shell is /bin/sh by its full path, so an env that sets PATH cannot make it unreachable.
 * Each command gets its own process group, so a timeout, an abort or close() ends the command
 * together with everything it started (a server it forked, a pipeline, a `sleep` in a loop)
 * instead of leaving orphans behind on the host.
 */
import { spawn } from "node:child_process";
import { performance } from "node:perf_hooks";
import { StringDecoder } from "node:string_decoder";
import {
  type Driver,
  type ExecOptions,
  type ExecResult,
  type MarkedEnd,
  OUTPUT_TAIL_BYTES,
} from "./driver.js";
import { endMarkedThrough } from "./end-marked.js";

export interface LocalDriverOptions {
  /** The host's name in the cluster file. */
  readonly host: string;
}

const DEFAULT_KILL_GRACE_MS = 2000;

/**
 * How long to wait, once the shell has exited, for its output pipes to close. A command that
 * starts a daemon without redirecting its output (`server &`) leaves the pipes open in the daemon;
 * without this limit, exec() would wait for the daemon to end.
 */
const STDIO_DRAIN_MS = 200;

/** setTimeout() fires at once for delays beyond this (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** A command's process group, as close() needs to see it. */
interface Group {
  /** SIGKILL the whole process group now. */
  kill: () => void;
  /** Settles when exec() has settled. */
  done: Promise<unknown>;
}

/**
 * Runs commands with `sh -c` on this machine.
 *
 * @example
 * const driver = new LocalDriver({ host: "h1" });
 * const r = await driver.exec("cat /srv/notes/VERSION", { timeoutMs: 5000 });
 * await driver.close();
 */
export class LocalDriver implements Driver {
  readonly host: string;
  /** Commands in flight, and killed ones whose group may still hold a straggler. */
  readonly #groups = new Set<Group>();
  #closed = false;

  constructor(options: LocalDriverOptions) {
    this.host = options.host;
  }

  exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    if (this.#closed) return Promise.reject(new Error(`the local driver for ${this.host} is closed`));
    // An already-aborted command is not started at all: starting it only to kill it could leave
    // half of its effect behind.
    if (options.signal?.aborted) return Promise.resolve(notStarted());

    const group: Group = { kill: () => {}, done: Promise.resolve() };
    const result = new Promise<ExecResult>((resolve, reject) => {
      const started = performance.now();
      const child = spawn("/bin/sh", ["-c", command], {
        detached: true,
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, ...options.env },
      });

      const tail = new OutputTail();
      const decoders: StringDecoder[] = [];
      let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
      let timedOut = false;
      let aborted = false;
      let terminating = false;
      let settled = false;
      let timeoutTimer: NodeJS.Timeout | undefined;
      let graceTimer: NodeJS.Timeout | undefined;
      let drainTimer: NodeJS.Timeout | undefined;

      const signalGroup = (sig: NodeJS.Signals): void => {
        if (child.pid === undefined) return;
        try {
          process.kill(-child.pid, sig);
        } catch {
          // ESRCH: every process of the group has already gone.
        }
      };

      const forget = (): void => {
        this.#groups.delete(group);
      };

      const kill = (): void => {
        clearTimeout(graceTimer);
        graceTimer = undefined;
        terminating = true;
        signalGroup("SIGKILL");
        if (settled) forget();
      };

      const terminate = (): void => {
        if (terminating || exit !== undefined) return;
        terminating = true;
        signalGroup("SIGTERM");
        graceTimer = setTimeout(kill, clampDelay(options.killGraceMs ?? DEFAULT_KILL_GRACE_MS));
      };

      const onAbort = (): void => {
        if (exit !== undefined || terminating) return;
        aborted = true;
        terminate();
      };

      const cleanup = (): void => {
        settled = true;
        clearTimeout(timeoutTimer);
        clearTimeout(drainTimer);
        options.signal?.removeEventListener("abort", onAbort);
        child.stdout?.destroy();
        child.stderr?.destroy();
        if (graceTimer === undefined) {
          forget();
        } else {
          // The shell has gone after SIGTERM, but something else in its group may still be
          // shutting down: it gets SIGKILL when the grace period ends, without that timer holding
          // the event loop open. close() does it at once.
          graceTimer.unref();
        }
      };

      const finish = (): void => {
        if (settled) return;
        cleanup();
        for (const decoder of decoders) tail.push(decoder.end(), options.onOutput);
        resolve({
          exitCode: exit?.code ?? null,
          signal: exit?.signal ?? null,
          timedOut,
          aborted,
          output: tail.text(),
          durationMs: performance.now() - started,
        });
      };

      for (const stream of [child.stdout, child.stderr]) {
        const decoder = new StringDecoder("utf8");
        decoders.push(decoder);
        stream?.on("data", (chunk: Buffer) => tail.push(decoder.write(chunk), options.onOutput));
        // A pipe we destroy on purpose may report an error; it is not the command's failure.
        stream?.on("error", () => {});
      }

      child.once("error", (error) => {
        // Only a failed spawn gets here: ferry never calls child.kill(), the other source of errors.
        if (settled) return;
        cleanup();
        reject(new Error(`cannot run a command on ${this.host}: ${error.message}`, { cause: error }));
      });
      child.once("exit", (code, signal) => {
        exit = { code, signal };
        clearTimeout(timeoutTimer);
        // Through setImmediate: an event loop that was busy past the limit runs timers before it
        // reads the pipes, and would cut off output that is already there (a version command's).
        drainTimer = setTimeout(() => setImmediate(finish), STDIO_DRAIN_MS);
      });
      child.once("close", finish);

      if (options.timeoutMs !== undefined && Number.isFinite(options.timeoutMs)) {
        timeoutTimer = setTimeout(() => {
          if (exit !== undefined || terminating) return;
          timedOut = true;
          terminate();
        }, clampDelay(options.timeoutMs));
      }
      options.signal?.addEventListener("abort", onAbort, { once: true });

      group.kill = () => {
        // What a command that finished by itself left running (a daemon it started) is meant to stay.
        if (exit !== undefined && !terminating) return;
        // Killed by close(): ferry interrupted the command, as an abort would.
        if (exit === undefined && !terminating) aborted = true;
        kill();
      };
    });
    group.done = result.catch(() => {});
    this.#groups.add(group);
    return result;
  }

  endMarked(markers: readonly string[], options: { readonly graceMs?: number } = {}): Promise<MarkedEnd> {
    return endMarkedThrough((command, o) => this.exec(command, o), markers, options.graceMs);
  }

  /** SIGKILLs the process group of every command still running, and waits for them to end. */
  async close(): Promise<void> {
    this.#closed = true;
    const groups = [...this.#groups];
    this.#groups.clear();
    for (const g of groups) g.kill();
    await Promise.all(groups.map((g) => g.done));
  }
}

function clampDelay(ms: number): number {
  return Math.min(Math.max(ms, 0), MAX_TIMER_MS);
}

function notStarted(): ExecResult {
  return { exitCode: null, signal: null, timedOut: false, aborted: true, output: "", durationMs: 0 };
}

/**
 * The last `limit` bytes of a command's output, kept in chunks so that a command printing
 * gigabytes holds at most `limit` bytes plus one chunk in memory.
 */
export class OutputTail {
  readonly #limit: number;
  readonly #chunks: { readonly text: string; readonly bytes: number }[] = [];
  #bytes = 0;

  constructor(limit: number = OUTPUT_TAIL_BYTES) {
    this.#limit = limit;
  }

  /** Adds decoded text; hands it to `onOutput` first, because the caller wants it all. */
  push(text: string, onOutput?: (chunk: string) => void): void {
    if (text === "") return;
    onOutput?.(text);
    const bytes = Buffer.byteLength(text);
    this.#chunks.push({ text, bytes });
    this.#bytes += bytes;
    // Drop whole chunks from the front while what remains still covers the limit.
    while (this.#chunks.length > 1) {
      const first = this.#chunks[0] as { bytes: number };
      if (this.#bytes - first.bytes < this.#limit) break;
      this.#chunks.shift();
      this.#bytes -= first.bytes;
    }
  }

  /** The tail as text; a character cut in half at its start is dropped, never garbled. */
  text(): string {
    const all = this.#chunks.map((c) => c.text).join("");
    if (this.#bytes <= this.#limit) return all;
    const bytes = Buffer.from(all, "utf8");
    let start = bytes.length - this.#limit;
    // UTF-8 continuation bytes are 10xxxxxx: skip to the start of the next whole character.
    while (start < bytes.length && ((bytes[start] as number) & 0xc0) === 0x80) start++;
    return bytes.subarray(start).toString("utf8");
  }
}
