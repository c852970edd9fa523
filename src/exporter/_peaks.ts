/**
 * The largest `active` and `queued` each listener had over a recent window,
 * from samples the exporter takes on its own clock. Reading changes
 * nothing, so every scraper sees the same peak.
 *
 * @module
 */
import type { ListenStatsSource } from "../linux/listeners.ts";
import type { ListenStats } from "../linux/listen_stats.ts";

/** One listener's peaks. */
export interface Peak {
  active: number;
  queued: number;
}

/** Raises `name`'s peaks in `peaks` to at least `f`'s figures. */
function raise(peaks: Map<string, Peak>, name: string, f: Pick<ListenStats, "active" | "queued">): void {
  const peak = peaks.get(name);
  if (!peak) peaks.set(name, { active: f.active, queued: f.queued });
  else {
    if (f.active > peak.active) peak.active = f.active;
    if (f.queued > peak.queued) peak.queued = f.queued;
  }
}

/** Buckets kept per window: the window slides in steps of 1/BUCKETS (at least 1 s). */
const BUCKETS = 60;

/**
 * Peaks over a sliding window of `windowMs`, kept as up to 60 buckets of
 * per-listener maxima (each at least one second wide): a sample costs one
 * map update per listener, a read one pass over the buckets in the window.
 * A peak stays visible for between `windowMs` and `windowMs` plus one
 * bucket after it was sampled.
 *
 * @example
 * ```ts
 * const peaks = new WindowedPeaks(60_000);
 * peaks.add(new Map([["0.0.0.0:80", { active: 3, queued: 9 }]]), Date.now());
 * peaks.read(Date.now()).get("0.0.0.0:80"); // { active: 3, queued: 9 }
 * ```
 */
export class WindowedPeaks {
  readonly windowMs: number;
  readonly #bucketMs: number;
  /** Bucket start time → per-listener maxima in it, oldest first. */
  readonly #buckets: { start: number; max: Map<string, Peak> }[] = [];

  constructor(windowMs: number) {
    if (!Number.isFinite(windowMs) || windowMs <= 0) {
      throw new RangeError(`the peak window must be a positive number of milliseconds, got ${windowMs}`);
    }
    this.windowMs = windowMs;
    this.#bucketMs = Math.max(1000, Math.ceil(windowMs / BUCKETS));
  }

  /** Folds one sample of every listener's figures, taken at `now` (ms). */
  add(figures: ReturnType<ListenStatsSource>, now: number): void {
    const start = now - (now % this.#bucketMs);
    let last = this.#buckets.at(-1);
    if (!last || last.start < start) this.#buckets.push(last = { start, max: new Map() });
    while (this.#buckets[0].start <= now - this.windowMs - this.#bucketMs) this.#buckets.shift();
    for (const [name, f] of figures) raise(last.max, name, f);
  }

  /** Each listener's peaks over the window ending at `now` (ms); a listener not sampled in it is absent. */
  read(now: number): Map<string, Peak> {
    const out = new Map<string, Peak>();
    for (const { start, max } of this.#buckets) {
      if (start + this.#bucketMs <= now - this.windowMs) continue;
      for (const [name, p] of max) raise(out, name, p);
    }
    return out;
  }
}
