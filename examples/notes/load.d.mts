// Types of load.mjs, the notes load generator and verifier, for the TypeScript that drives it
// (ferry demo, the tests).

export interface LoadOptions {
  /** The gateway, on loopback: "http://127.0.0.1:7100". */
  readonly url: string;
  /** Requests a second, over all lanes (default 50). */
  readonly rate?: number;
  /** Requests at once at most (default 4). */
  readonly concurrency?: number;
  /** Sends nothing after this long (default 10 000, at most 10 minutes). */
  readonly durationMs?: number;
  /** Sends at most this many (default 10 000). */
  readonly maxRequests?: number;
  /** Weights of the three kinds of request (default write 0.4, read 0.4, job 0.2). */
  readonly mix?: { readonly write?: number; readonly read?: number; readonly job?: number };
  /** One request's limit (default 5000). */
  readonly timeoutMs?: number;
  /** How long each enqueued job works (default 5). */
  readonly jobWorkMs?: number;
}

export interface LoadRecord {
  readonly kind: "write" | "read" | "job";
  readonly ok: boolean;
  /** HTTP status; 0 when no answer came. */
  readonly status: number;
  readonly ms: number;
  /** Wall clock (Date.now()) when it was sent and when its answer ended. */
  readonly at: number;
  readonly end: number;
  /** The API server that answered, from the gateway's x-notes-backend header. */
  readonly backend?: string;
  readonly error?: string;
}

export interface LoadResult {
  readonly url: string;
  readonly startedAt: number;
  readonly endedAt: number;
  readonly records: readonly LoadRecord[];
  /** Every acknowledged note: id → the text sent. */
  readonly notes: ReadonlyMap<number, string>;
  /** Every acknowledged job id. */
  readonly jobs: readonly number[];
}

export interface LoadRun {
  readonly done: Promise<LoadResult>;
  stop(): void;
  stats(): { sent: number; failed: number; inflight: number; notes: number; jobs: number };
  /** The load as it goes: answers a second and p99 over the last `windowMs` (default 3000), failures so far. */
  live(windowMs?: number): LiveLoad;
}

export interface LiveLoad {
  readonly perS: number;
  readonly failed: number;
  readonly p99Ms: number;
}

export interface LoadReport {
  requests: { sent: number; failed: number };
  latencyMs: { p50: number; p99: number; max: number };
  writes: { acknowledged: number; lost: number };
  jobs: { enqueued: number; completed: number; lost: number };
  /** When each completed job was done, as the product recorded it (epoch ms, ascending). */
  jobsDoneAt: number[];
  /** The first few failures and losses, in words. */
  problems: string[];
}

export interface VerifyOptions {
  /** Where to read back (default: the url the load went to). */
  readonly url?: string;
  readonly timeoutMs?: number;
  /** How long to wait for every job to be done (default 30 000). */
  readonly jobsTimeoutMs?: number;
  readonly concurrency?: number;
  /**
   * Count in `requests` and `latencyMs` only the requests sent from `from` to `to` (Date.now()
   * times); failures outside it are still problems, and every note and job is still checked.
   */
  readonly window?: { readonly from: number; readonly to: number };
}

export function startLoad(options: LoadOptions): LoadRun;
export function runLoad(options: LoadOptions): Promise<LoadResult>;
export function verify(result: LoadResult, options?: VerifyOptions): Promise<LoadReport>;
