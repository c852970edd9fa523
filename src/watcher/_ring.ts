/**
 * A fixed-size history of polls for the Watcher's charts: per poll a time
 * and a few counts, the oldest dropped once full, so memory stays what the
 * `history` option sets.
 *
 * @module
 */

/** The last `capacity` polls, each a time (ms) and `channels` counts. */
export class PollRing {
  readonly #times: Float64Array;
  readonly #values: Uint32Array;
  readonly #channels: number;
  #next = 0;
  #length = 0;

  constructor(capacity: number, channels: number) {
    this.#times = new Float64Array(capacity);
    this.#values = new Uint32Array(capacity * channels);
    this.#channels = channels;
  }

  /** Records one poll; `values` has one count per channel. */
  push(time: number, ...values: number[]): void {
    const cap = this.#times.length;
    if (cap === 0) return;
    this.#times[this.#next] = time;
    this.#values.set(values, this.#next * this.#channels);
    this.#next = (this.#next + 1) % cap;
    if (this.#length < cap) this.#length++;
  }

  /** Forgets every poll. */
  clear(): void {
    this.#length = 0;
    this.#next = 0;
  }

  /**
   * The last `max` polls taken after `since` (ms), oldest first, as
   * `[time ms, ...counts]`.
   */
  points(max = Infinity, since = -Infinity): number[][] {
    const cap = this.#times.length;
    const n = Math.min(this.#length, max);
    const out: number[][] = [];
    for (let k = this.#length - n; k < this.#length; k++) {
      const i = (this.#next - this.#length + k + cap) % cap;
      if (this.#times[i] <= since) continue;
      const row = [this.#times[i]];
      for (let c = 0; c < this.#channels; c++) row.push(this.#values[i * this.#channels + c]);
      out.push(row);
    }
    return out;
  }
}
