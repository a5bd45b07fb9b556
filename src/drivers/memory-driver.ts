/**
 * The in-memory driver: the driver contract's twin for tests and benchmarks. No process runs;
 * a handler you give answers each command, and a few shell built-ins answer the rest, so the
 * executor can be tested against hosts that fail, hang or lie without touching a machine.
 *
 * Built-in commands, used when the handler returns undefined (there is no shell: no pipes, `;`,
 * `&&`, redirections or `$VAR`; words may be quoted with '…' or "…"):
 *
 *   true                exit 0
 *   false               exit 1
 *   exit [N]            exit N (default 0)
 *   echo WORDS…         prints the words separated by spaces, and a newline
 *   printenv NAME       prints NAME's value from options.env and a newline; exit 1 if unset
 *   sleep SECONDS       waits that long (timeouts and aborts end it), then exit 0
 *   (empty)             exit 0
 *   anything else       exit 127, prints "sh: NAME: not found"
 */
import { performance } from "node:perf_hooks";
import { type Driver, type ExecOptions, type ExecResult, MARKER_VARIABLE, type MarkedEnd } from "./driver.js";
import { OutputTail } from "./local-driver.js";

/** What a command does, as the handler tells it. */
export interface MemoryReply {
  /** Default 0. */
  readonly exitCode?: number;
  /** Printed when the command starts, so a command that then times out has printed it. */
  readonly output?: string;
  /** How long the command runs before it exits; a timeout or an abort ends it sooner. */
  readonly delayMs?: number;
}

export interface MemoryContext {
  readonly host: string;
  /** options.env of the exec() call; the process environment is not visible here. */
  readonly env: Readonly<Record<string, string>>;
  /** Aborted when the command is ended by a timeout, an abort or close(). */
  readonly signal: AbortSignal;
}

/**
 * Answers a command, or returns undefined to leave it to the built-ins. Throwing (or rejecting)
 * makes exec() reject, as a driver that cannot run the command at all does: a lost connection.
 */
export type MemoryHandler = (
  command: string,
  ctx: MemoryContext,
) => MemoryReply | undefined | Promise<MemoryReply | undefined>;

/** One exec() call that ran, in the order they were called. */
export interface MemoryCall {
  readonly command: string;
  readonly env: Readonly<Record<string, string>>;
}

export interface MemoryDriverOptions {
  /** The host's name in the cluster file. */
  readonly host: string;
  readonly handler?: MemoryHandler;
  /** Keep every command in `history` (default true); a benchmark of many thousands turns it off. */
  readonly keepHistory?: boolean;
}

const FINISHED = new Error("the command has finished");

/** How a command was ended from outside, and the signal a real process would report for it. */
type Stop = { readonly why: "timeout" | "abort" | "ended"; readonly signal: NodeJS.Signals };

/** Process group ids are made up, from here up, one per command. */
const FIRST_PGID = 10_000;

/**
 * @example
 * const driver = new MemoryDriver({
 *   host: "h1",
 *   handler: (cmd) => (cmd.startsWith("cat ") ? { output: "24.03.0\n" } : undefined),
 * });
 * await driver.exec("cat VERSION"); // { exitCode: 0, output: "24.03.0\n", … }
 * driver.history.map((c) => c.command); // ["cat VERSION"]
 */
export class MemoryDriver implements Driver {
  readonly host: string;
  /** May be replaced between commands, to make a host start failing mid-test. */
  handler: MemoryHandler | undefined;
  /** Every command that ran (not those refused because the driver was closed or already aborted). */
  readonly history: MemoryCall[] = [];
  readonly #running = new Set<(stop: Stop) => void>();
  /** The commands running now, with their made-up process group and their environment. */
  readonly #commands = new Set<{
    readonly pgid: number;
    readonly env: Readonly<Record<string, string>>;
    readonly stop: (stop: Stop) => void;
  }>();
  #nextPgid = FIRST_PGID;
  #closed = false;
  readonly #keepHistory: boolean;

  constructor(options: MemoryDriverOptions) {
    this.host = options.host;
    this.handler = options.handler;
    this.#keepHistory = options.keepHistory ?? true;
  }

  async exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    if (this.#closed) throw new Error(`the memory driver for ${this.host} is closed`);
    if (options.signal?.aborted) {
      return { exitCode: null, signal: null, timedOut: false, aborted: true, output: "", durationMs: 0 };
    }
    const env = { ...options.env };
    if (this.#keepHistory) this.history.push({ command, env });

    const started = performance.now();
    const tail = new OutputTail();
    // Made only when the handler asks for ctx.signal: a benchmark of thousands of commands feels
    // an AbortController and its event per command, and most handlers never look.
    let killed: AbortController | undefined;
    let ended = false;
    let stoppedBy: Stop | undefined;
    let endDelay: (() => void) | undefined;
    let stopNow: (stop: Stop) => void = () => {};
    // Settles only if the command is stopped: a handler that ignores ctx.signal cannot hold it up.
    const stopped = new Promise<Stop>((resolve) => {
      stopNow = (stop) => {
        if (ended) return;
        ended = true;
        stoppedBy = stop;
        killed?.abort();
        endDelay?.();
        resolve(stop);
      };
    });
    const onAbort = () => stopNow({ why: "abort", signal: "SIGTERM" });
    options.signal?.addEventListener("abort", onAbort, { once: true });
    const timer =
      options.timeoutMs !== undefined && Number.isFinite(options.timeoutMs)
        ? setTimeout(
            () => stopNow({ why: "timeout", signal: "SIGTERM" }),
            Math.min(Math.max(options.timeoutMs, 0), 2 ** 31 - 1),
          )
        : undefined;
    this.#running.add(stopNow);
    const running = { pgid: this.#nextPgid++, env, stop: stopNow };
    this.#commands.add(running);

    const run = async (): Promise<{ exitCode: number }> => {
      const ctx: MemoryContext = {
        host: this.host,
        env,
        get signal() {
          if (!killed) {
            killed = new AbortController();
            if (ended) killed.abort(FINISHED);
          }
          return killed.signal;
        },
      };
      const reply = (await this.handler?.(command, ctx)) ?? builtin(command, env);
      if (ended) return { exitCode: 0 }; // already stopped: this answer is ignored
      tail.push(reply.output ?? "", options.onOutput);
      const delayMs = reply.delayMs;
      if (delayMs !== undefined && delayMs > 0) {
        // Ended early by a stop, which leaves no timer behind.
        await new Promise<void>((resolve) => {
          const wake = setTimeout(resolve, delayMs);
          endDelay = () => {
            clearTimeout(wake);
            resolve();
          };
        });
      }
      return { exitCode: reply.exitCode ?? 0 };
    };

    try {
      const ran = run();
      // If the command is stopped first, a late failure of the handler has nobody to tell.
      ran.catch(() => {});
      const outcome = await Promise.race([ran, stopped]);
      const durationMs = performance.now() - started;
      const output = tail.text();
      // Stopping also ends the reply's delay, so both may have settled: the stop is what happened.
      if (stoppedBy !== undefined || "why" in outcome) {
        const { why, signal } = stoppedBy ?? (outcome as Stop);
        return {
          exitCode: null,
          signal,
          // Ended from outside by endMarked(): as a real process killed by someone else, neither.
          timedOut: why === "timeout",
          aborted: why === "abort",
          output,
          durationMs,
        };
      }
      return {
        exitCode: (outcome as { exitCode: number }).exitCode,
        signal: null,
        timedOut: false,
        aborted: false,
        output,
        durationMs,
      };
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
      this.#running.delete(stopNow);
      this.#commands.delete(running);
      // Lets a handler still waiting on ctx.signal stop. A reason of our own spares building a
      // DOMException for every command, which a benchmark of thousands of commands would feel.
      ended = true;
      killed?.abort(FINISHED);
    }
  }

  /** Ends the running commands whose environment carries one of the markers, as SIGTERM would. */
  async endMarked(markers: readonly string[]): Promise<MarkedEnd> {
    const marked = [...this.#commands].filter((c) => markers.includes(c.env[MARKER_VARIABLE] ?? ""));
    for (const c of marked) c.stop({ why: "ended", signal: "SIGTERM" });
    return { groups: marked.map((c) => c.pgid), killed: false };
  }

  /** Ends every command still running as if SIGKILLed; later exec() calls reject. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const stop of [...this.#running]) stop({ why: "abort", signal: "SIGKILL" });
    this.#running.clear();
  }
}

function builtin(command: string, env: Readonly<Record<string, string>>): MemoryReply {
  const words = splitWords(command);
  const [name, ...args] = words;
  switch (name) {
    case undefined:
    case "true":
      return { exitCode: 0 };
    case "false":
      return { exitCode: 1 };
    case "exit": {
      const arg = args[0] ?? "0";
      if (!/^\d+$/.test(arg)) return { exitCode: 2, output: `sh: exit: Illegal number: ${arg}\n` };
      return { exitCode: Number(arg) & 0xff };
    }
    case "echo":
      return { exitCode: 0, output: `${args.join(" ")}\n` };
    case "printenv": {
      if (args.length === 0) {
        return {
          output: Object.entries(env)
            .map(([k, v]) => `${k}=${v}\n`)
            .join(""),
        };
      }
      const values = args.map((a) => env[a]);
      const found = values.filter((v): v is string => v !== undefined);
      return {
        exitCode: found.length === values.length ? 0 : 1,
        output: found.map((v) => `${v}\n`).join(""),
      };
    }
    case "sleep": {
      const seconds = Number(args[0]);
      if (args.length !== 1 || !Number.isFinite(seconds) || seconds < 0) {
        return { exitCode: 1, output: `sleep: invalid time interval '${args[0] ?? ""}'\n` };
      }
      return { exitCode: 0, delayMs: seconds * 1000 };
    }
    default:
      return { exitCode: 127, output: `sh: ${name}: not found\n` };
  }
}

/** Splits a command into words the way sh would for these simple forms: blanks, '…', "…", \x. */
function splitWords(command: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < command.length; i++) {
    const c = command[i] as string;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === "\\" && quote === '"' && i + 1 < command.length) word = (word ?? "") + command[++i];
      else word = (word ?? "") + c;
    } else if (c === "'" || c === '"') {
      quote = c;
      word ??= "";
    } else if (c === "\\" && i + 1 < command.length) {
      word = (word ?? "") + (command[++i] as string);
    } else if (/\s/.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else {
      word = (word ?? "") + c;
    }
  }
  if (word !== undefined) words.push(word);
  return words;
}
