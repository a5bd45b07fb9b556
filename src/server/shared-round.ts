/**
 * One answer for many askers: the server's look at the hosts (their version commands, health and
 * role probes), which every read of status, plan and metrics needs. Asking the hosts per request
 * would let anyone who can reach the server make it run commands on every host as fast as they
 * can send requests; here a round runs only when nobody is running one, at most once per `everyMs`,
 * and every request in between shares its answer.
 *
 * A round's answer is fresh for `everyMs` from its start, unless `invalidate()` says the cluster
 * changed since (a run moved a step): then the next request waits for a round that starts after
 * the change, still no sooner than `everyMs` after the previous one, so that a client that reloads
 * on a run's last event sees where the run left the cluster.
 */

export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) =>
    new Promise((resolve) => {
      // A waiting request holds its connection open; the timer alone keeps nothing alive.
      setTimeout(resolve, ms).unref();
    }),
};

interface Round<T> {
  readonly startedAt: number;
  /** The invalidations seen when it started: an answer from before a change is not reused after it. */
  readonly generation: number;
  readonly answer: Promise<T>;
  running: boolean;
}

export class SharedRound<T> {
  readonly #take: () => Promise<T>;
  readonly #everyMs: number;
  readonly #clock: Clock;
  #generation = 0;
  #last: Round<T> | undefined;
  /** The next round, waiting for the last to end or for its turn. */
  #next: Promise<T> | undefined;

  constructor(take: () => Promise<T>, options: { everyMs: number; clock?: Clock }) {
    this.#take = take;
    this.#everyMs = options.everyMs;
    this.#clock = options.clock ?? realClock;
  }

  /** The answer of the round in progress or of a fresh one, else of the next round to start. */
  get(): Promise<T> {
    const last = this.#last;
    if (
      last &&
      last.generation === this.#generation &&
      (last.running || this.#clock.now() - last.startedAt < this.#everyMs)
    ) {
      return last.answer;
    }
    this.#next ??= this.#startAfter(last);
    return this.#next;
  }

  /** The cluster may have changed: answers from rounds started before now are not given again. */
  invalidate(): void {
    this.#generation++;
  }

  async #startAfter(last: Round<T> | undefined): Promise<T> {
    // One round at a time, and none sooner than everyMs after the last one started. (This await
    // comes before anything else even without a last round: get() stores the promise as #next first.)
    await last?.answer.catch(() => {});
    if (last) {
      const wait = last.startedAt + this.#everyMs - this.#clock.now();
      if (wait > 0) await this.#clock.sleep(wait);
    }
    this.#next = undefined;
    const round: Round<T> = {
      startedAt: this.#clock.now(),
      generation: this.#generation,
      // A take that throws at once is a failed round like any other.
      answer: Promise.resolve().then(this.#take),
      running: true,
    };
    this.#last = round;
    void round.answer.then(
      () => {
        round.running = false;
      },
      () => {
        round.running = false;
      },
    );
    return round.answer;
  }
}
