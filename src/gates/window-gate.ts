/**
 * The window gate the executor asks before each step starts (DESIGN.md "Gates": no step starts
 * outside the window). Outside it, the run waits for "window" at that step boundary, every lane
 * on the same wait, until the window opens; steps in flight when it closes finish. The wait is
 * the run's waiting state, so it shows in status and survives a crash like the others.
 */
import { pause, type WaitingSlot } from "../run/waiting.js";
import { describeWindow, type Window, windowAt } from "./window.js";

/** The longest sleep between looks at the clock, so that a clock set forward is noticed. */
const LOOK_MS = 60_000;

export class WindowGate {
  readonly #window: Window;
  readonly #slot: WaitingSlot;
  /** Until when the window is known open: asked again only after that. */
  #openUntil = Number.NEGATIVE_INFINITY;
  #waiting: Promise<boolean> | undefined;

  constructor(window: Window, slot: WaitingSlot) {
    this.#window = window;
    this.#slot = slot;
  }

  /** True once the window is open (at once when it is); false when the run halts first. */
  open(): Promise<boolean> {
    if (this.#slot.now() < this.#openUntil) return Promise.resolve(true);
    const state = windowAt(this.#window, this.#slot.now());
    if (state.open) {
      this.#openUntil = state.closesAt;
      return Promise.resolve(true);
    }
    this.#waiting ??= this.#wait().finally(() => {
      this.#waiting = undefined;
    });
    return this.#waiting;
  }

  async #wait(): Promise<boolean> {
    const slot = this.#slot;
    let waited = false;
    let how = "the run halts";
    try {
      for (;;) {
        if (slot.halted.aborted) return false;
        const state = windowAt(this.#window, slot.now());
        if (state.open) {
          this.#openUntil = state.closesAt;
          how = `the window opened, until ${new Date(state.closesAt).toISOString()}`;
          return true;
        }
        if (!waited) {
          const opens = new Date(state.opensAt).toISOString();
          await slot.start({
            for: "window",
            detail: `outside the window ${describeWindow(this.#window)}; it opens at ${opens}`,
          });
          waited = true;
        }
        await pause(Math.min(Math.max(0, state.opensAt - slot.now()), LOOK_MS), slot.halted);
      }
    } finally {
      if (waited) await slot.end(how);
    }
  }
}
