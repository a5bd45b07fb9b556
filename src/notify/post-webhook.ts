/**
 * One POST of a notification to a webhook, with node's own http client rather than fetch: every
 * attempt has its own connection (no keep-alive pool), is destroyed when it times out or is
 * aborted, and so leaves nothing behind that would keep a finished `ferry apply` from exiting.
 */
import { type ClientRequest, request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";

export type PostResult =
  | { readonly ok: true; readonly status: number }
  | { readonly ok: false; readonly error: string };

export interface PostOptions {
  /** The longest the whole attempt may take, from connecting to the end of the answer. */
  readonly timeoutMs: number;
  /** Aborts the attempt at once (the exit's budget has run out). */
  readonly signal?: AbortSignal;
}

/** How much of an answer's body is read for an error message. */
const ANSWER_KEEP = 200;

/**
 * POSTs `body` to `url`; ok for any 2xx answer, otherwise an error in words (the status and the
 * start of the answer, or what went wrong on the way). Never throws.
 */
export function postWebhook(
  url: URL,
  headers: Readonly<Record<string, string>>,
  body: string,
  options: PostOptions,
): Promise<PostResult> {
  return new Promise((resolve) => {
    let settled = false;
    let req: ClientRequest | undefined;
    let timer: NodeJS.Timeout | undefined;
    const done = (result: PostResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
      req?.destroy();
      resolve(result);
    };
    const onAbort = () => done({ ok: false, error: "given up: ferry was exiting" });
    if (options.signal?.aborted) return onAbort();
    const payload = Buffer.from(body);
    const send = url.protocol === "https:" ? httpsRequest : httpRequest;
    try {
      req = send(url, {
        method: "POST",
        agent: false,
        headers: { ...headers, "Content-Length": String(payload.length), Connection: "close" },
      });
    } catch (err) {
      // A header value node refuses (a character not allowed in HTTP).
      return done({ ok: false, error: (err as Error).message });
    }
    timer = setTimeout(
      () => done({ ok: false, error: `no answer within ${options.timeoutMs / 1000} s` }),
      options.timeoutMs,
    );
    timer.unref();
    options.signal?.addEventListener("abort", onAbort, { once: true });
    req.on("error", (err: NodeJS.ErrnoException) => done({ ok: false, error: describeError(err) }));
    req.on("response", (res: IncomingMessage) => {
      const status = res.statusCode ?? 0;
      let answer = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        if (answer.length < ANSWER_KEEP) answer += chunk;
      });
      res.on("error", (err) => done({ ok: false, error: describeError(err) }));
      res.on("end", () => {
        if (status >= 200 && status < 300) done({ ok: true, status });
        else {
          const said = answer.trim().replace(/\s+/g, " ").slice(0, ANSWER_KEEP);
          done({ ok: false, error: `HTTP ${status}${said ? `: ${said}` : ""}` });
        }
      });
    });
    req.end(payload);
  });
}

function describeError(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case "ECONNREFUSED":
      return "connection refused";
    case "ECONNRESET":
      return "connection reset";
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return "host name not found";
    case "ETIMEDOUT":
      return "connection timed out";
    default:
      return err.message || String(err.code ?? err);
  }
}
