/**
 * Long-lived shells on an SSH connection, each running one command at a time: a command costs a
 * line written to a shell that is already there, instead of a new session channel (a channel
 * open, an exec request, and sshd forking and setting up a session: most of a step's cost).
 *
 * Each command still runs as it would in its own session:
 * - in its own process group and session (`setsid`), whose id comes back on the shell's stderr
 *   before the command's end, so a timeout, an abort or close() ends the whole group from another
 *   channel, exactly as with one channel per command;
 * - with stdin at its end (/dev/null), its stdout and stderr merged into the shell's stdout;
 * - its end is a line carrying a random token only ferry and that command's wrapper know, so
 *   output that looks like anything at all (binary, half a line, no newline) stays output.
 * - how it ended: `wait` reports a command killed by signal N as 128+N, like one that exits with
 *   128+N. The command runs in a shell whose EXIT trap (which runs on an exit, never on death by
 *   a signal) prints the token first, so the two are told apart.
 * - a command that leaves processes behind in its group (`daemon &`) may hold the shell's stdout:
 *   the shell says so, and the driver retires that shell once the command's output has drained.
 *
 * The host needs `setsid` (util-linux, busybox); without it the first shell says so and the
 * driver falls back to one channel per command.
 */
import { randomBytes } from "node:crypto";
import type { ClientChannel } from "ssh2";

/** What the shell tells about the command it runs. */
export interface CommandSink {
  /** The command's process group (and session) id on the host. */
  pgid(id: number): void;
  /** Output, stdout and stderr merged, as it arrives; raw bytes. */
  output(chunk: Buffer): void;
  /**
   * The command has ended. `lingering`: processes it started are left in its group and may still
   * write to the shell's output; whatever comes after this is theirs.
   */
  ended(how: { code: number | null; signal: NodeJS.Signals | null; lingering: boolean }): void;
  /** The shell went away before the command's end was known. */
  gone(): void;
}

/** The host has no `setsid`: the shell exits with this before running anything. */
const NO_SETSID = 97;

/** POSIX signal numbers as Linux has them, for a status of 128+N. */
const SIGNALS: Readonly<Record<number, NodeJS.Signals>> = {
  1: "SIGHUP",
  2: "SIGINT",
  3: "SIGQUIT",
  4: "SIGILL",
  5: "SIGTRAP",
  6: "SIGABRT",
  7: "SIGBUS",
  8: "SIGFPE",
  9: "SIGKILL",
  10: "SIGUSR1",
  11: "SIGSEGV",
  12: "SIGUSR2",
  13: "SIGPIPE",
  14: "SIGALRM",
  15: "SIGTERM",
};

/** Single quotes, which the shell leaves alone; a quote inside becomes '\''. */
export function quote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * The line the shell runs for one command: its variables on `setsid` (exported to it and what it
 * starts), its process group's id to stderr, and its end to stdout after its output.
 */
export function shellLine(command: string, env: Readonly<Record<string, string>>, token: string): string {
  const vars = Object.entries(env).map(([k, v]) => `${k}=${quote(v)} `);
  // The newline before the command: it may end in a comment, or begin with one.
  const inner = `trap 'printf "%s n" ${token}' EXIT\n${command}`;
  return (
    `${vars.join("")}setsid /bin/sh -c ${quote(inner)} </dev/null 2>&1 & p=$!; ` +
    `printf '${token} p %s\\n' "$p" >&2; wait "$p"; c=$?; l=0; ` +
    // A group just killed may keep a zombie a moment, until init reaps it: look again before saying so.
    `kill -0 -"$p" 2>/dev/null && { sleep 0.1; kill -0 -"$p" 2>/dev/null && l=1; }; ` +
    `printf '${token} e %s %s\\n' "$c" "$l"\n`
  );
}

/**
 * How a command ended, from its status and whether its wrapper exited on its own: a status above
 * 128 without that is a signal's.
 */
export function endedHow(
  status: number,
  exited: boolean,
): { code: number | null; signal: NodeJS.Signals | null } {
  const signal = status > 128 && !exited ? SIGNALS[status - 128] : undefined;
  return signal ? { code: null, signal } : { code: status, signal: null };
}

/**
 * Splits a shell's stdout into the current command's output and its end. Output is handed on as
 * soon as it cannot be the start of the token; the end is `TOKEN e STATUS LINGERING\n`, maybe
 * preceded by `TOKEN n` (the command exited rather than being killed).
 */
export class EndFinder {
  readonly #token: Buffer;
  #pending: Buffer = Buffer.alloc(0);
  #exited = false;
  #done = false;

  constructor(token: string) {
    this.#token = Buffer.from(token, "latin1");
  }

  /** Feeds bytes; returns the output they complete and, once seen, the end. */
  push(chunk: Buffer): {
    output: Buffer[];
    end?: { status: number; exited: boolean; lingering: boolean; after: Buffer };
  } {
    const output: Buffer[] = [];
    if (this.#done) return { output: chunk.length > 0 ? [chunk] : [] };
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    for (;;) {
      const at = this.#pending.indexOf(this.#token);
      if (at < 0) {
        // Keep what could be the token's beginning.
        const keep = Math.min(this.#pending.length, this.#token.length - 1);
        const cut = this.#pending.length - keep;
        if (cut > 0) output.push(this.#pending.subarray(0, cut));
        this.#pending = this.#pending.subarray(cut);
        return { output };
      }
      if (at > 0) output.push(this.#pending.subarray(0, at));
      const rest = this.#pending.subarray(at + this.#token.length);
      if (rest.length < 2) {
        this.#pending = this.#pending.subarray(at);
        return { output };
      }
      const kind = rest.subarray(0, 2).toString("latin1");
      if (kind === " n") {
        this.#exited = true;
        this.#pending = rest.subarray(2);
        continue;
      }
      if (kind === " e") {
        const nl = rest.indexOf(10);
        if (nl < 0) {
          this.#pending = this.#pending.subarray(at);
          return { output };
        }
        const m = /^ e (\d+) ([01])$/.exec(rest.subarray(0, nl).toString("latin1"));
        if (m) {
          this.#done = true;
          const after = rest.subarray(nl + 1);
          this.#pending = Buffer.alloc(0);
          return {
            output,
            end: { status: Number(m[1]), exited: this.#exited, lingering: m[2] === "1", after },
          };
        }
      }
      // The token followed by something else is output (it cannot be, with a random token).
      output.push(this.#pending.subarray(at, at + this.#token.length));
      this.#pending = rest;
    }
  }
}

/**
 * One shell on the host, run by `exec /bin/sh` on a session channel, that runs one command at a
 * time. `ready` resolves once it has answered, with false when the host has no `setsid`.
 */
export class ShellSession {
  readonly #channel: ClientChannel;
  #sink: CommandSink | undefined;
  #finder: EndFinder | undefined;
  #token = "";
  #stderr = "";
  /** Output after a lingering command's end still belongs to it until the driver retires the shell. */
  #afterEnd: CommandSink | undefined;
  #gone = false;
  readonly ready: Promise<boolean>;

  constructor(channel: ClientChannel) {
    this.#channel = channel;
    const readyToken = randomBytes(8).toString("hex");
    let answered: ((ok: boolean) => void) | undefined;
    let seen = "";
    this.ready = new Promise<boolean>((resolve) => {
      answered = resolve;
    });
    channel.on("data", (chunk: Buffer) => {
      if (answered) {
        seen += chunk.toString("latin1");
        if (seen.includes(readyToken)) {
          answered(true);
          answered = undefined;
        }
        return;
      }
      this.#stdout(chunk);
    });
    channel.stderr.on("data", (chunk: Buffer) => this.#control(chunk));
    let status: number | null = null;
    channel.on("exit", (code: number | null) => {
      status = typeof code === "number" ? code : null;
    });
    channel.on("close", () => {
      this.#gone = true;
      if (answered) {
        answered(false);
        answered = undefined;
        if (status !== NO_SETSID) this.noShellReason = "the shell ended before it answered";
      }
      const sink = this.#sink;
      this.#sink = undefined;
      sink?.gone();
    });
    channel.write(`command -v setsid >/dev/null 2>&1 || exit ${NO_SETSID}; echo ${readyToken}\n`);
  }

  /** Set when the shell did not come up for a reason other than a missing `setsid`. */
  noShellReason: string | undefined;

  get gone(): boolean {
    return this.#gone;
  }

  /** Runs `command` (the shell must be idle); what happens is told to `sink`. */
  run(command: string, env: Readonly<Record<string, string>>, sink: CommandSink): void {
    this.#afterEnd = undefined;
    this.#token = `ferry-${randomBytes(12).toString("hex")}`;
    this.#finder = new EndFinder(this.#token);
    this.#sink = sink;
    this.#stderr = "";
    this.#channel.write(shellLine(command, env, this.#token));
  }

  /** Ends the shell: it reads its end of input and exits (a command running holds it until it ends). */
  close(): void {
    this.#gone = true;
    this.#sink = undefined;
    this.#afterEnd = undefined;
    this.#channel.end();
    this.#channel.close();
  }

  #stdout(chunk: Buffer): void {
    const sink = this.#sink;
    if (!sink || !this.#finder) {
      this.#afterEnd?.output(chunk);
      return;
    }
    const { output, end } = this.#finder.push(chunk);
    for (const b of output) sink.output(b);
    if (!end) return;
    this.#sink = undefined;
    if (end.lingering) this.#afterEnd = sink;
    if (end.after.length > 0) this.#afterEnd?.output(end.after);
    sink.ended({ ...endedHow(end.status, end.exited), lingering: end.lingering });
  }

  #control(chunk: Buffer): void {
    this.#stderr += chunk.toString("latin1");
    for (;;) {
      const nl = this.#stderr.indexOf("\n");
      if (nl < 0) break;
      const line = this.#stderr.slice(0, nl);
      this.#stderr = this.#stderr.slice(nl + 1);
      const m = /^(\S+) p (\d+)$/.exec(line);
      if (m && m[1] === this.#token) this.#sink?.pgid(Number(m[2]));
    }
    // Nothing else writes there but the shell itself: keep a bounded remainder.
    if (this.#stderr.length > 4096) this.#stderr = this.#stderr.slice(-4096);
  }
}

/**
 * The shells of one connection: an idle one is reused, a new one is opened while fewer than `max`
 * are open, else the command waits its turn. A shell that ended or was retired frees its place.
 */
export class ShellPool {
  readonly #open: () => Promise<ShellSession>;
  readonly #max: number;
  readonly #idle: ShellSession[] = [];
  readonly #waiting: { resolve: (s: ShellSession) => void; reject: (e: Error) => void }[] = [];
  #count = 0;
  #failed: Error | undefined;

  constructor(open: () => Promise<ShellSession>, max: number, first?: ShellSession) {
    this.#open = open;
    this.#max = max;
    if (first) {
      this.#count = 1;
      this.#idle.push(first);
    }
  }

  acquire(): Promise<ShellSession> {
    if (this.#failed) return Promise.reject(this.#failed);
    for (let s = this.#idle.pop(); s; s = this.#idle.pop()) {
      if (!s.gone) return Promise.resolve(s);
      this.#count--;
    }
    if (this.#count < this.#max) return this.#grow();
    return new Promise((resolve, reject) => this.#waiting.push({ resolve, reject }));
  }

  /** Gives a shell back once its command has ended; a gone or retired one frees its place. */
  release(s: ShellSession, retire = false): void {
    if (retire && !s.gone) s.close();
    if (s.gone) {
      this.#count--;
      const next = this.#waiting.shift();
      if (next) this.#grow().then(next.resolve, next.reject);
      return;
    }
    const next = this.#waiting.shift();
    if (next) next.resolve(s);
    else this.#idle.push(s);
  }

  /** The connection went: every waiting command is told, and no shell is handed out again. */
  fail(err: Error): void {
    this.#failed = err;
    for (const w of this.#waiting.splice(0)) w.reject(err);
    this.#idle.length = 0;
  }

  #grow(): Promise<ShellSession> {
    this.#count++;
    return this.#open().catch((err) => {
      this.#count--;
      throw err;
    });
  }
}
