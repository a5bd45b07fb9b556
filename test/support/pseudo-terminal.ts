/**
 * Runs bin/ferry on a pseudo-terminal, through util-linux `script`, so that it sees a real TTY
 * (isTTY, a size, line editing) as an operator's shell would give it. Tests read everything the
 * terminal received and may type into it.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { FERRY, ROOT } from "./run-ferry.js";

const haveScript = spawnSync("script", ["--version"], { encoding: "utf8" }).status === 0;

/** The reason to skip terminal tests here, or false; under CI they must run, so never a reason there. */
export const noPseudoTerminal: string | false =
  haveScript || process.env.CI === "true"
    ? false
    : "util-linux `script` is not installed (apt-get install bsdutils): terminal tests skipped";

export interface Terminal {
  readonly child: ChildProcess;
  /** Everything written to the terminal so far, escape codes included. */
  screen(): string;
  /** Waits until the terminal has received text matching `pattern`, or fails after `ms`. */
  waitFor(pattern: RegExp, ms?: number): Promise<void>;
  /** Types a line, as Enter would end it. */
  type(line: string): void;
  readonly done: Promise<{ code: number | null; screen: string }>;
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export function onTerminal(
  args: readonly string[],
  options: { env?: Record<string, string>; cols?: number; rows?: number; cwd?: string } = {},
): Terminal {
  const { NO_COLOR: _, ...env } = process.env;
  const line = `stty cols ${options.cols ?? 120} rows ${options.rows ?? 40}; exec ${[FERRY, ...args].map(quote).join(" ")}`;
  const child = spawn("script", ["-qfec", line, "/dev/null"], {
    cwd: options.cwd ?? ROOT,
    env: { ...env, TERM: "xterm-256color", ...options.env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let screen = "";
  child.stdout?.on("data", (d) => {
    screen += d;
  });
  child.stderr?.on("data", (d) => {
    screen += d;
  });
  const done = new Promise<{ code: number | null; screen: string }>((resolve) =>
    child.on("close", (code) => {
      child.stdin?.destroy();
      resolve({ code, screen });
    }),
  );
  return {
    child,
    screen: () => screen,
    async waitFor(pattern, ms = 15_000) {
      for (const start = Date.now(); !pattern.test(screen); await sleep(20)) {
        if (Date.now() - start > ms || child.exitCode !== null)
          throw new Error(`the terminal never showed ${pattern}; it shows:\n${screen}`);
      }
    },
    type(text) {
      child.stdin?.write(`${text}\r`);
    },
    done,
  };
}

/** SGR sequences: what colours and styles text. Cursor movement is not colour. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: escape sequences are what it finds
export const COLOUR = /\u001b\[[0-9;]*m/;

/** Any escape sequence at all: colour, cursor movement, anything a pipe should never receive. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: escape sequences are what it finds
export const ESCAPE = /\u001b/;

/** The text a terminal shows, its escape sequences taken out. */
export function withoutEscapes(screen: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: escape sequences are what it removes
  return screen.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, "");
}
