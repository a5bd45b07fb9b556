/**
 * A real webhook receiver on loopback for the notification tests: records every request (headers,
 * body, Idempotency-Key), and answers as told: `ok` (200), `hang` (reads the request, never
 * answers: a receiver that is up but stuck), or an HTTP status. Requests it hangs are remembered
 * with whether the client gave up on them.
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly body: Record<string, unknown>;
  readonly key: string;
  readonly event: string;
  /** The answer it got; null when it was hung. */
  readonly answered: number | null;
}

export type Mode = "ok" | "hang" | number;

export interface Receiver {
  readonly url: string;
  readonly port: number;
  readonly received: Received[];
  mode: Mode;
  /** Requests held without an answer, and how many of them the client closed. */
  readonly hung: { readonly held: number; readonly closedByClient: number };
  /** Resolves once `n` requests have come in (answered or not). */
  until(n: number): Promise<void>;
  /** Resolves once every request it held has been closed by its client; rejects after `ms`. */
  untilLetGo(ms?: number): Promise<void>;
  /** The events by Idempotency-Key: each key once, with its event. */
  byKey(): Map<string, string>;
  close(): Promise<void>;
}

export async function startReceiver(mode: Mode = "ok", port = 0): Promise<Receiver> {
  const received: Received[] = [];
  const held = new Set<ServerResponse>();
  const waiters: { n: number; resolve: () => void }[] = [];
  const hung = { held: 0, closedByClient: 0 };
  const letGo: (() => void)[] = [];
  const state = { mode };
  const server = createServer((req, res) => {
    let text = "";
    req.setEncoding("utf8");
    req.on("data", (c: string) => {
      text += c;
    });
    req.on("end", () => {
      const now = state.mode;
      const answered = now === "hang" ? null : now === "ok" ? 200 : now;
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(text) as Record<string, unknown>;
      } catch {}
      received.push({
        headers: req.headers,
        body,
        key: String(req.headers["idempotency-key"] ?? ""),
        event: String(body.event ?? ""),
        answered,
      });
      for (const w of waiters.filter((w) => received.length >= w.n)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
      if (answered === null) {
        hung.held++;
        held.add(res);
        res.on("close", () => {
          if (held.delete(res)) hung.closedByClient++;
          if (held.size === 0) for (const w of letGo.splice(0)) w();
        });
        return;
      }
      res.writeHead(answered, { "Content-Type": "text/plain" }).end(answered === 200 ? "ok" : "nope");
    });
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const actual = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${actual}/hook`,
    port: actual,
    received,
    get mode() {
      return state.mode;
    },
    set mode(m: Mode) {
      state.mode = m;
    },
    hung,
    until(n) {
      if (received.length >= n) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ n, resolve }));
    },
    untilLetGo(ms = 10_000) {
      if (held.size === 0) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`${held.size} request(s) still held after ${ms} ms`)),
          ms,
        );
        letGo.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
    byKey() {
      const out = new Map<string, string>();
      for (const r of received) {
        const seen = out.get(r.key);
        if (seen !== undefined && seen !== r.event)
          throw new Error(`key ${r.key} came as ${seen} and ${r.event}`);
        out.set(r.key, r.event);
      }
      return out;
    },
    async close() {
      for (const res of held) {
        held.delete(res);
        res.destroy();
      }
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A loopback port nothing listens on: connecting to it is refused. */
export async function refusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
