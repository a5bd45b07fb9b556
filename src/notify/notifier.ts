/**
 * Notifications of a cluster's runs, through the outbox in its journal. A side concern: it listens
 * to a run's typed events and never holds the run up.
 *
 * - **Recording.** Each `run` event (a status written to the journal) is appended to the outbox at
 *   once, from inside the event, so it joins the state store's next group commit: by the time the
 *   journal's next write is durable, so is the notice. Only a crash right after the status write
 *   itself can lose one, and `catchUp()`, which every delivering command runs first, records what
 *   the newest run's journal says and its outbox does not.
 * - **Delivering.** In the background: the pending deliveries are read from the outbox and POSTed,
 *   each receiver's in order (one at a time), receivers side by side. A 2xx answer marks it
 *   delivered; anything else is tried again after a backoff (1 s, doubling, at most 5 min), for up
 *   to a day. A receiver that is down or slow delays only its own deliveries.
 * - **Closing.** `close(budgetMs)` gives what is pending one more try each (backoff aside), stops
 *   at the budget's end, and says what is left: the next command sends it, under the same key.
 */
import type { NotifyReceiver } from "../cluster/cluster.js";
import { envReferences, expandEnv } from "../cluster/env-references.js";
import { type Plan, planSteps } from "../plan/plan.js";
import type { RunEvent, RunEvents } from "../run/events.js";
import { type Faults, NO_FAULTS } from "../run/faults.js";
import type { Delivery, RunStatus, StateStore, StepState } from "../store/state-store.js";
import { decideNotice, type RunCondition } from "./decide-notice.js";
import { postWebhook } from "./post-webhook.js";

/** How long `apply` and `resume` spend at most, once the run is over, delivering (DESIGN.md). */
export const EXIT_BUDGET_MS = 5000;
/** The longest one attempt may take while the run goes on. */
const REQUEST_TIMEOUT_MS = 10_000;
const BACKOFF_FIRST_MS = 1000;
const BACKOFF_MAX_MS = 5 * 60_000;
/** A delivery not made within this long after its event is given up. */
const EXPIRE_AFTER_MS = 24 * 3_600_000;

export interface NotifierOptions {
  readonly store: StateStore;
  /** The cluster's name: its runs' deliveries are this notifier's. */
  readonly cluster: string;
  /** Who receives new events (the cluster file's `notify`); pending ones go where they were meant. */
  readonly receivers: readonly NotifyReceiver[];
  /** Who runs this process (`user@host`), named as `who` in what it records. */
  readonly who: string;
  /** Where `${env:NAME}` references are read, when sending. */
  readonly env?: NodeJS.ProcessEnv;
  readonly faults?: Faults;
  /** Problems worth a line (a receiver that fails, an unset variable), once each. */
  readonly warn?: (message: string) => void;
  readonly userAgent?: string;
  readonly now?: () => number;
}

/** What `close` left undelivered, per receiver (its webhook as written, no secret expanded). */
export interface NotifySummary {
  readonly delivered: number;
  readonly left: readonly {
    readonly webhook: string;
    readonly count: number;
    readonly error: string | null;
  }[];
}

interface TrackedRun {
  readonly plan: Plan;
  readonly states: Map<string, StepState>;
}

interface ReceiverSpec {
  readonly webhook: string;
  readonly headers: Readonly<Record<string, string>>;
}

export class Notifier {
  readonly #o: NotifierOptions;
  readonly #env: NodeJS.ProcessEnv;
  readonly #now: () => number;
  readonly #faults: Faults;
  readonly #runs = new Map<string, TrackedRun>();
  /** Receivers (by their spec's JSON) with a worker sending to them now. */
  readonly #busy = new Map<string, Promise<void>>();
  /** Receivers that got new deliveries while their worker was busy. */
  readonly #dirty = new Set<string>();
  readonly #warned = new Set<string>();
  readonly #writes = new Set<Promise<unknown>>();
  #pump: Promise<void> | undefined;
  #again = false;
  #timer: { at: number; handle: NodeJS.Timeout } | undefined;
  /** Set by close(): one more try each, no waiting for backoffs. */
  #closing = false;
  /** Aborted when close()'s budget is spent: every attempt in flight is given up. */
  readonly #cutOff = new AbortController();
  /** No new work: close() is over, or its budget spent. */
  #stopped = false;
  #sent = 0;
  #delivered = 0;

  constructor(options: NotifierOptions) {
    this.#o = options;
    this.#env = options.env ?? process.env;
    this.#now = options.now ?? Date.now;
    this.#faults = options.faults ?? NO_FAULTS;
    for (const r of options.receivers) {
      const unset = [r.webhook, ...Object.values(r.headers)]
        .flatMap(envReferences)
        .filter((name) => this.#env[name] === undefined);
      for (const name of new Set(unset))
        this.#warnOnce(
          `unset:${name}`,
          `${name} is not set, so events for ${r.webhook} wait for a ferry command that has it`,
        );
    }
  }

  /**
   * Records, from the run's events, each change of a run's condition in the outbox, and sends what
   * it gives rise to. `only` picks the runs to follow (a server follows the runs it started).
   */
  listen(events: RunEvents, only: (runId: string) => boolean = () => true): () => void {
    return events.on((event) => {
      if (!only(event.runId)) return;
      this.#follow(event);
    });
  }

  /**
   * Records what the newest run's journal says and its outbox does not yet (its process died
   * right after writing its status), then starts sending what is pending.
   */
  async catchUp(): Promise<void> {
    if (this.#o.receivers.length > 0) {
      const { store, cluster } = this.#o;
      const [newest] = await store.listRuns(cluster);
      const run = newest && (await store.getRun(newest.id));
      if (run) {
        const states = new Map((await store.steps(run.id)).map((s) => [s.id, s.state] as const));
        const condition = this.#condition(run.id, run.plan as Plan, states, run.status, {
          message: run.error,
          who: null,
          startedBy: run.startedBy,
          recovered: true,
          awaiting:
            run.waiting?.for === "approval" && run.status === "running"
              ? { step: run.waiting.step ?? "", detail: run.waiting.detail }
              : null,
        });
        await store.appendNotice(run.id, decideNotice(condition, this.#o.receivers, this.#now()));
      }
    }
    this.#kick();
  }

  /**
   * Stops following runs and spends at most `budgetMs` delivering what is pending: each delivery
   * gets one more try (a receiver's stop at its first failure), then whatever is in flight is
   * given up. Resolves with what is left for the next command.
   */
  async close(budgetMs: number = EXIT_BUDGET_MS): Promise<NotifySummary> {
    this.#closing = true;
    if (this.#timer) clearTimeout(this.#timer.handle);
    this.#timer = undefined;
    const cutOff = this.#cutOff;
    const deadline = setTimeout(() => cutOff.abort(), budgetMs);
    deadline.unref();
    try {
      const flush = (async () => {
        await Promise.allSettled([...this.#writes]);
        // Workers in flight finish (or are cut off), then one pass with backoffs waived.
        await this.#settled();
        if (cutOff.signal.aborted) return;
        this.#kick();
        await this.#settled();
      })();
      const spent = new Promise((resolve) =>
        cutOff.signal.addEventListener("abort", resolve, { once: true }),
      );
      await Promise.race([flush, spent]);
      this.#stopped = true;
      cutOff.abort();
      await flush;
    } finally {
      clearTimeout(deadline);
    }
    const left = new Map<string, { webhook: string; count: number; error: string | null }>();
    for (const d of await this.#o.store.pendingDeliveries(this.#o.cluster)) {
      const { webhook } = d.receiver as ReceiverSpec;
      const entry = left.get(webhook) ?? { webhook, count: 0, error: null };
      entry.count++;
      entry.error = d.lastError ?? entry.error;
      left.set(webhook, entry);
    }
    return { delivered: this.#delivered, left: [...left.values()] };
  }

  #follow(event: RunEvent): void {
    // Nothing to tell anyone: not even the plan is kept.
    if (this.#o.receivers.length === 0) return;
    if (event.type === "start") {
      this.#runs.set(event.runId, { plan: event.plan, states: new Map(event.states) });
    } else if (event.type === "step") {
      this.#runs.get(event.runId)?.states.set(event.id, event.state);
    } else if (event.type === "run" || (event.type === "wait" && event.waiting.for === "approval")) {
      const run = this.#runs.get(event.runId);
      if (!run) return;
      // A run waits only while it runs; what it waits for is part of its condition, so a wait
      // noticed again (a resume that waits anew at the same step) sends nothing more.
      const waiting = event.waiting?.for === "approval" ? event.waiting : undefined;
      const awaiting = waiting ? { step: waiting.step ?? "", detail: waiting.detail } : null;
      const condition = this.#condition(
        event.runId,
        run.plan,
        run.states,
        event.type === "run" ? event.status : "running",
        {
          message: event.type === "run" ? (event.message ?? null) : null,
          who: event.type === "run" ? (event.by ?? this.#o.who) : null,
          startedBy: this.#o.who,
          recovered: false,
          awaiting,
        },
      );
      // Called now, not after an await: the notice joins the write queue ahead of the journal's next write.
      const write = this.#o.store
        .appendNotice(event.runId, decideNotice(condition, this.#o.receivers, this.#now()))
        .then(
          (seq) => {
            if (seq !== null) this.#kick();
          },
          (err: unknown) =>
            this.#warnOnce("record", `cannot record an event in the journal: ${messageOf(err)}`),
        )
        .finally(() => this.#writes.delete(write));
      this.#writes.add(write);
    }
  }

  #condition(
    runId: string,
    plan: Plan,
    states: ReadonlyMap<string, StepState>,
    status: RunStatus,
    about: Pick<RunCondition, "message" | "who" | "startedBy" | "recovered" | "awaiting">,
  ): RunCondition {
    let hop: RunCondition["hop"] = null;
    let failed: RunCondition["failed"] = null;
    let last: RunCondition["hop"] = null;
    for (const { hop: h, step } of planSteps(plan)) {
      last = { from: h.from, to: h.to };
      const state = states.get(step.id);
      if (hop === null && state !== "done") hop = last;
      if (failed === null && state === "failed") failed = { step: step.id, host: step.host ?? null };
    }
    return {
      runId,
      cluster: plan.cluster,
      from: plan.from,
      to: plan.to,
      status,
      hop: hop ?? last,
      failed,
      ...about,
    };
  }

  /** Starts a pass over the pending deliveries, or asks the one under way for another. */
  #kick(): void {
    if (this.#stopped) return;
    if (this.#pump) {
      this.#again = true;
      return;
    }
    this.#pump = (async () => {
      do {
        this.#again = false;
        try {
          await this.#pass();
        } catch (err) {
          this.#warnOnce("read", `cannot read the outbox: ${messageOf(err)}`);
        }
      } while (this.#again && !this.#stopped);
    })().finally(() => {
      this.#pump = undefined;
    });
  }

  /** One look at the outbox: a worker for each receiver with something pending and none at work. */
  async #pass(): Promise<void> {
    const byReceiver = new Map<string, Delivery[]>();
    for (const d of await this.#o.store.pendingDeliveries(this.#o.cluster)) {
      const key = JSON.stringify(d.receiver);
      byReceiver.set(key, [...(byReceiver.get(key) ?? []), d]);
    }
    for (const [key, deliveries] of byReceiver) {
      if (this.#busy.has(key)) {
        this.#dirty.add(key);
        continue;
      }
      const worker = this.#drain(deliveries)
        .catch((err: unknown) => {
          this.#warnOnce("write", `cannot record a delivery in the journal: ${messageOf(err)}`);
          return false;
        })
        .then((all) => {
          this.#busy.delete(key);
          // Delivered all it had: look again for what came meanwhile. Stopped on a failure: its
          // backoff timer looks again.
          if (all && this.#dirty.delete(key)) this.#kick();
        });
      this.#busy.set(key, worker);
    }
  }

  /** Sends one receiver's deliveries in order; true when all went out. */
  async #drain(deliveries: readonly Delivery[]): Promise<boolean> {
    for (const d of deliveries) {
      if (this.#stopped) return false;
      if (this.#now() - d.createdAt > EXPIRE_AFTER_MS) {
        await this.#o.store.updateDelivery(d.key, { state: "expired" });
        this.#warnOnce(
          `expired:${d.key}`,
          `gave up on the ${d.event} event of run ${d.runId}: not delivered within a day`,
        );
        continue;
      }
      if (d.nextAt > this.#now() && !this.#closing) {
        this.#retryAt(d.nextAt);
        return false;
      }
      if (!(await this.#send(d))) return false;
    }
    return true;
  }

  async #send(d: Delivery): Promise<boolean> {
    const spec = d.receiver as ReceiverSpec;
    const target = this.#target(spec);
    const result =
      "error" in target
        ? ({ ok: false, error: target.error } as const)
        : await postWebhook(
            target.url,
            { ...target.headers, ...this.#ownHeaders(d) },
            JSON.stringify(d.body),
            {
              timeoutMs: REQUEST_TIMEOUT_MS,
              signal: this.#cutOff.signal,
            },
          );
    const attempts = d.attempts + 1;
    if (result.ok) {
      this.#faults.hit(`notify-sent#${++this.#sent}`);
      await this.#o.store.updateDelivery(d.key, {
        state: "delivered",
        attempts,
        deliveredAt: this.#now(),
        lastError: null,
      });
      this.#delivered++;
      return true;
    }
    const error = "error" in target ? target.error : this.#scrub(result.error, spec);
    const nextAt = this.#now() + Math.min(BACKOFF_FIRST_MS * 2 ** (attempts - 1), BACKOFF_MAX_MS);
    await this.#o.store.updateDelivery(d.key, { attempts, nextAt, lastError: error });
    if (!this.#closing) {
      this.#warnOnce(
        `fail:${spec.webhook}`,
        `${spec.webhook}: ${error}; ferry tries again with backoff, and the next apply, resume or rollback sends what is left`,
      );
      this.#retryAt(nextAt);
    }
    return false;
  }

  /** The receiver's URL and headers with their `${env:NAME}` references expanded now. */
  #target(spec: ReceiverSpec): { url: URL; headers: Record<string, string> } | { error: string } {
    const missing = new Set<string>();
    const expand = (text: string) => {
      const r = expandEnv(text, this.#env);
      if ("missing" in r) for (const name of r.missing) missing.add(name);
      return "value" in r ? r.value : "";
    };
    const webhook = expand(spec.webhook);
    const headers = Object.fromEntries(Object.entries(spec.headers).map(([k, v]) => [k, expand(v)]));
    if (missing.size > 0) return { error: `${[...missing].join(", ")} not set in ferry's environment` };
    let url: URL;
    try {
      url = new URL(webhook);
    } catch {
      return { error: `the webhook is not a URL once its \${env:…} references are filled in` };
    }
    if (url.protocol !== "http:" && url.protocol !== "https:")
      return { error: `the webhook is not an http(s) URL once filled in (${url.protocol})` };
    return { url, headers };
  }

  #ownHeaders(d: Delivery): Record<string, string> {
    return {
      "Content-Type": "application/json",
      "Idempotency-Key": d.key,
      "X-Ferry-Event": d.event,
      "User-Agent": this.#o.userAgent ?? "ferry",
    };
  }

  /** An error in words without the values the receiver's references expand to (secrets). */
  #scrub(text: string, spec: ReceiverSpec): string {
    let out = text;
    const names = [spec.webhook, ...Object.values(spec.headers)].flatMap(envReferences);
    for (const name of names) {
      const value = this.#env[name];
      if (value && value.length >= 3) out = out.replaceAll(value, "***");
    }
    return out;
  }

  #retryAt(at: number): void {
    if (this.#stopped || this.#closing) return;
    if (this.#timer && this.#timer.at <= at) return;
    if (this.#timer) clearTimeout(this.#timer.handle);
    const handle = setTimeout(
      () => {
        this.#timer = undefined;
        this.#kick();
      },
      Math.max(0, at - this.#now()),
    );
    // A retry never keeps a finished command alive: close() makes the last try.
    handle.unref();
    this.#timer = { at, handle };
  }

  /** Resolves once no pass and no worker is under way. */
  async #settled(): Promise<void> {
    while (this.#pump || this.#busy.size > 0) {
      await Promise.allSettled([this.#pump, ...this.#busy.values()]);
    }
  }

  #warnOnce(key: string, message: string): void {
    if (this.#warned.has(key)) return;
    this.#warned.add(key);
    this.#o.warn?.(message);
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
