/**
 * Redundancy groups (StarlingX's storage replicas): a label whose hosts are never out of service
 * together. A lane that takes its host out holds the host's labels until it ends; another host's
 * lane with one of those labels waits, in whichever pool of the stage it is. Two lanes of the same
 * host (two components on it) may hold a label together: that is still one host out.
 */
export class RedundancyGroups {
  /** label → the host out of service under it, and how many of its lanes hold the label. */
  readonly #held = new Map<string, { host: string; lanes: number }>();
  #waiting: (() => void)[] = [];

  /** Takes the labels for `host` and returns true, or takes nothing and returns false. */
  tryTake(host: string, labels: readonly string[]): boolean {
    if (labels.some((l) => this.#held.has(l) && this.#held.get(l)?.host !== host)) return false;
    for (const l of labels) {
      const held = this.#held.get(l);
      this.#held.set(l, { host, lanes: (held?.lanes ?? 0) + 1 });
    }
    return true;
  }

  release(host: string, labels: readonly string[]): void {
    for (const l of labels) {
      const held = this.#held.get(l);
      if (held?.host !== host) continue;
      if (held.lanes > 1) this.#held.set(l, { host, lanes: held.lanes - 1 });
      else this.#held.delete(l);
    }
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const wake of waiting) wake();
  }

  /** Resolves at the next release: the moment a waiting lane may be able to start. */
  released(): Promise<void> {
    return new Promise((resolve) => this.#waiting.push(resolve));
  }
}
