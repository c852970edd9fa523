/**
 * Per-listener bookkeeping of the Watcher: an aggregate of active and of
 * queued counts, when each peak was first and last reached, the last reset
 * and a bounded history of recent polls for the charts.
 *
 * @module
 */
import { Aggregate } from "../aggregate/aggregate.ts";
import type { BucketOptions } from "../aggregate/histogram.ts";
import { PollRing } from "./_ring.ts";

/** The two figures the Watcher follows per listener. */
export type Kind = "active" | "queued";

/** One figure of one listener: its aggregate, current value and peak times. */
export class WatchedFigure {
  readonly aggregate: Aggregate;
  current = 0;
  /**
   * ms since the epoch when the peak (aggregate max) was first / last seen;
   * 0 = no peak yet. Only a value above 0 is a peak: an idle listener's
   * zeros leave these alone.
   */
  firstPeakAt = 0;
  lastPeakAt = 0;

  constructor(buckets: BucketOptions | undefined) {
    this.aggregate = new Aggregate({ buckets });
  }

  add(value: number, now: number): void {
    const peak = this.aggregate.max;
    this.aggregate.add(value);
    this.current = value;
    if (value <= 0 || (peak !== undefined && value < peak)) return;
    if (peak === undefined || value > peak || this.firstPeakAt === 0) this.firstPeakAt = now;
    this.lastPeakAt = now;
  }

  reset(): void {
    this.aggregate.reset();
    this.firstPeakAt = this.lastPeakAt = 0;
  }
}

/** Everything kept about one listener; memory is bounded by `history`. */
export class WatchedListener {
  readonly active: WatchedFigure;
  readonly queued: WatchedFigure;
  /** False while the last poll found no listening socket for this name (a typo'd port, a stopped server). */
  listening = true;
  /** ms since the epoch of the last reset (creation counts as one). */
  lastReset: number;
  /** The last polls: time (ms), active, queued. */
  readonly #history: PollRing;

  constructor(buckets: BucketOptions | undefined, history: number, now: number) {
    this.active = new WatchedFigure(buckets);
    this.queued = new WatchedFigure(buckets);
    this.lastReset = now;
    this.#history = new PollRing(history, 2);
  }

  /** The figure of that kind. */
  get(kind: Kind): WatchedFigure {
    return kind === "active" ? this.active : this.queued;
  }

  /** True while neither figure has been above 0 since tracking (re)started. */
  get idle(): boolean {
    return !(this.active.aggregate.max! > 0) && !(this.queued.aggregate.max! > 0);
  }

  /** Records one poll's figures. */
  record(active: number, queued: number, now: number, listening = true): void {
    this.listening = listening;
    this.active.add(active, now);
    this.queued.add(queued, now);
    this.#history.push(now, active, queued);
  }

  /** Forgets every figure and the history; `now` is the new start. */
  reset(now: number): void {
    this.active.reset();
    this.queued.reset();
    this.lastReset = now;
    this.#history.clear();
  }

  /** The last `max` polls after `since` (ms), oldest first, as `[time ms, active, queued]`. */
  points(max = Infinity, since = -Infinity): number[][] {
    return this.#history.points(max, since);
  }
}
