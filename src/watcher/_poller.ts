/**
 * The Watcher's poll loop: a timer that runs one poll every `delay`
 * seconds, remembers when the last one succeeded or why it failed, and
 * wakes whoever waits for the next one (the tails).
 *
 * @module
 */

/** Runs `step` now and every `delay` seconds until {@link close}. */
export class Poller {
  /** Seconds between polls. */
  readonly delay: number;
  readonly #step: (now: number) => void;
  readonly #waiters = new Set<(time: number | null) => void>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #lastPoll = 0;
  #lastError: Error | undefined;
  #closed = false;

  /** `step` reads and records one poll; what it throws is kept as {@link lastError}. */
  constructor(delay: number, step: (now: number) => void) {
    this.delay = delay;
    this.#step = step;
  }

  /** Polls once now, then every `delay` seconds. */
  start(): void {
    this.poll();
    this.#timer ??= setInterval(() => this.poll(), this.delay * 1000);
  }

  /** Runs one poll; false, keeping the error in {@link lastError}, if it failed or the poller is closed. */
  poll(): boolean {
    if (this.#closed) return false;
    const now = Date.now();
    try {
      this.#step(now);
    } catch (e) {
      // Runs from a timer: a bad source must never take the process down.
      this.#lastError = e instanceof Error ? e : new Error(String(e));
      return false;
    }
    this.#lastError = undefined;
    this.#lastPoll = now;
    this.#wake(now);
    return true;
  }

  /** ms since the epoch of the last successful poll (0 before it). */
  get lastPoll(): number {
    return this.#lastPoll;
  }

  /** Why the last poll failed, or undefined when it succeeded. */
  get lastError(): Error | undefined {
    return this.#lastError;
  }

  /** True once {@link close} has run. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The time of the next successful poll; null once closed or when `signal` aborts first. */
  nextPoll(signal: AbortSignal): Promise<number | null> {
    if (this.#closed || signal.aborted) return Promise.resolve(null);
    return new Promise((resolve) => {
      const done = (time: number | null) => {
        this.#waiters.delete(done);
        signal.removeEventListener("abort", onAbort);
        resolve(time);
      };
      const onAbort = () => done(null);
      signal.addEventListener("abort", onAbort, { once: true });
      this.#waiters.add(done);
    });
  }

  /** Stops the timer and answers every waiter null; later calls do nothing. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#wake(null);
  }

  #wake(time: number | null): void {
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const w of waiters) w(time);
  }
}
