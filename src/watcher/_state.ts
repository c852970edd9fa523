/**
 * Per-listener bookkeeping of the Watcher: an aggregate of active and of
 * queued counts, when each peak was first and last reached, the last reset
 * and a bounded history of recent polls for the charts.
 *
 * @module
 */
import { Aggregate } from "../aggregate/aggregate.ts";
import type { BucketOptions } from "../aggregate/histogram.ts";

/** The two figures the Watcher follows per listener. */
export type Kind = "active" | "queued";

/** One figure of one listener: its aggregate, current value and peak times. */
export class Tracked {
  readonly aggregate: Aggregate;
  current = 0;
  /** ms since the epoch when the peak (aggregate max) was first / last seen; 0 = never. */
  firstPeakAt = 0;
  lastPeakAt = 0;

  constructor(buckets: BucketOptions | undefined) {
    this.aggregate = new Aggregate({ buckets });
  }

  add(value: number, now: number): void {
    const peak = this.aggregate.max;
    this.aggregate.add(value);
    this.current = value;
    if (peak === undefined || value > peak) this.firstPeakAt = this.lastPeakAt = now;
    else if (value === peak) this.lastPeakAt = now;
  }

  reset(): void {
    this.aggregate.reset();
    this.firstPeakAt = this.lastPeakAt = 0;
  }
}

/** Everything kept about one listener; memory is bounded by `history`. */
export class ListenerState {
  readonly active: Tracked;
  readonly queued: Tracked;
  /** ms since the epoch of the last reset (creation counts as one). */
  lastReset: number;
  /** Ring buffer of the last polls: time (ms), active, queued. */
  readonly #times: Float64Array;
  readonly #actives: Uint32Array;
  readonly #queueds: Uint32Array;
  #next = 0;
  #length = 0;

  constructor(buckets: BucketOptions | undefined, history: number, now: number) {
    this.active = new Tracked(buckets);
    this.queued = new Tracked(buckets);
    this.lastReset = now;
    this.#times = new Float64Array(history);
    this.#actives = new Uint32Array(history);
    this.#queueds = new Uint32Array(history);
  }

  get(kind: Kind): Tracked {
    return kind === "active" ? this.active : this.queued;
  }

  record(active: number, queued: number, now: number): void {
    this.active.add(active, now);
    this.queued.add(queued, now);
    const cap = this.#times.length;
    if (cap === 0) return;
    this.#times[this.#next] = now;
    this.#actives[this.#next] = active;
    this.#queueds[this.#next] = queued;
    this.#next = (this.#next + 1) % cap;
    if (this.#length < cap) this.#length++;
  }

  reset(now: number): void {
    this.active.reset();
    this.queued.reset();
    this.lastReset = now;
    this.#length = 0;
    this.#next = 0;
  }

  /** The last `max` polls, oldest first, as `[time ms, active, queued]`. */
  points(max = Infinity): [number, number, number][] {
    const cap = this.#times.length;
    const n = Math.min(this.#length, max);
    const out: [number, number, number][] = [];
    for (let k = this.#length - n; k < this.#length; k++) {
      const i = (this.#next - this.#length + k + cap) % cap;
      out.push([this.#times[i], this.#actives[i], this.#queueds[i]]);
    }
    return out;
  }
}
