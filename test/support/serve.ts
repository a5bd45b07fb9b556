/**
 * `bin/ferry serve` as a real process on a free port, and a Server-Sent Events reader, for the API
 * and browser tests.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { FERRY, ROOT } from "./run-ferry.js";

export interface Served {
  readonly url: string;
  readonly child: ChildProcess;
  /** What it printed so far, both streams. */
  output(): string;
  /** SIGTERM, then its exit code. */
  stop(): Promise<number | null>;
}

/** Starts `ferry serve --port 0 …` and resolves once it says where it listens. */
export function serveCluster(
  args: readonly string[],
  env: Record<string, string | undefined> = {},
): Promise<Served> {
  const child = spawn(FERRY, ["serve", ...args, "--port", "0"], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`ferry serve did not start:\n${out}`)), 20_000);
    const onData = (d: Buffer) => {
      out += d;
      const m = / on (http:\/\/\S+\/) /.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve({
          url: m[1],
          child,
          output: () => out,
          stop: async () => {
            if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
            return exited;
          },
        });
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", (d) => {
      out += d;
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`ferry serve exited ${code}:\n${out}`));
    });
  });
}

/** The fields of a run event (src/run/events.ts) that tests look at; `hello` has only `cluster`. */
export interface EventData {
  readonly type?: string;
  readonly runId?: string;
  readonly id?: string;
  readonly state?: string;
  readonly status?: string;
  readonly host?: string;
  readonly durationMs?: number;
  readonly message?: string;
}

export interface SseEvent {
  readonly event: string;
  readonly data: EventData;
}

export interface EventReader {
  readonly events: SseEvent[];
  /** Resolves with the first event (already received or to come) that matches. */
  waitFor(match: (e: SseEvent) => boolean, ms?: number): Promise<SseEvent>;
  close(): void;
}

/** Subscribes to `GET /api/events`; resolves once the server's hello has arrived. */
export async function readEvents(url: string): Promise<EventReader> {
  const abort = new AbortController();
  const response = await fetch(new URL("api/events", url), { signal: abort.signal });
  if (!response.ok || !response.body) throw new Error(`GET /api/events: ${response.status}`);
  const events: SseEvent[] = [];
  const waiters = new Set<() => void>();
  const decoder = new TextDecoder();
  let buffer = "";
  void (async () => {
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end = buffer.indexOf("\n\n");
        while (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event && data !== undefined) {
            events.push({ event, data: JSON.parse(data) });
            for (const w of waiters) w();
          }
          end = buffer.indexOf("\n\n");
        }
      }
    } catch {
      // Aborted by close(), or the server went away.
    }
  })();
  const reader: EventReader = {
    events,
    waitFor(match, ms = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = events.find(match);
          if (found) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(found);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(
              `no such event within ${ms} ms; got:\n${events.map((e) => JSON.stringify(e)).join("\n")}`,
            ),
          );
        }, ms);
        waiters.add(check);
        check();
      });
    },
    close: () => abort.abort(),
  };
  await reader.waitFor((e) => e.event === "hello", 10_000);
  return reader;
}
