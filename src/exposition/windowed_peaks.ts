/**
 * The largest figures over a recent window, from samples taken on the
 * sampler's own clock (each listener's `active` and `queued` in the
 * exporter; `queued` and a worker's `calling` in the middleware). Reading
 * changes nothing, so every scraper sees the same peak.
 *
 * @module
 */
/** One listener's peaks. */
export interface Peak {
  active: number;
  queued: number;
}

/** Raises `name`'s peaks in `peaks` to at least `f`'s figures. */
function raise<F extends object>(peaks: Map<string, F>, name: string, f: F): void {
  const peak = peaks.get(name) as Record<string, number> | undefined;
  if (!peak) {
    peaks.set(name, { ...f });
    return;
  }
  for (const [k, v] of Object.entries(f)) if (v > peak[k]) peak[k] = v;
}

/** Buckets kept per window: the window slides in steps of 1/BUCKETS (at least 1 s). */
const BUCKETS = 60;

/**
 * Peaks over a sliding window of `windowMs`, kept as up to 60 buckets of
 * per-name maxima of each figure (each bucket at least one second wide): a
 * sample costs one map update per name, a read one pass over the buckets
 * in the window. A peak stays visible for between `windowMs` and
 * `windowMs` plus one bucket after it was sampled. `F` is the figures of a
 * name (default a listener's `active` and `queued`); the figures added are
 * taken as given, only the kept maxima are copies.
 *
 * @example
 * ```ts
 * const peaks = new WindowedPeaks(60_000);
 * peaks.add(new Map([["0.0.0.0:80", { active: 3, queued: 9 }]]), Date.now());
 * peaks.read(Date.now()).get("0.0.0.0:80"); // { active: 3, queued: 9 }
 * ```
 */
export class WindowedPeaks<F extends object = Peak> {
  readonly windowMs: number;
  readonly #bucketMs: number;
  /** Bucket start time → per-name maxima in it, oldest first. */
  readonly #buckets: { start: number; max: Map<string, F> }[] = [];

  constructor(windowMs: number) {
    if (!Number.isFinite(windowMs) || windowMs <= 0) {
      throw new RangeError(`the peak window must be a positive number of milliseconds, got ${windowMs}`);
    }
    this.windowMs = windowMs;
    this.#bucketMs = Math.max(1000, Math.ceil(windowMs / BUCKETS));
  }

  /** Folds one sample of every name's figures, taken at `now` (ms). */
  add(figures: ReadonlyMap<string, F>, now: number): void {
    const start = now - (now % this.#bucketMs);
    let last = this.#buckets.at(-1);
    if (!last || last.start < start) this.#buckets.push(last = { start, max: new Map() });
    while (this.#buckets[0].start <= now - this.windowMs - this.#bucketMs) this.#buckets.shift();
    for (const [name, f] of figures) raise(last.max, name, f);
  }

  /** Each name's peaks over the window ending at `now` (ms); a name not sampled in it is absent. */
  read(now: number): Map<string, F> {
    const out = new Map<string, F>();
    for (const { start, max } of this.#buckets) {
      if (start + this.#bucketMs <= now - this.windowMs) continue;
      for (const [name, p] of max) raise(out, name, p);
    }
    return out;
  }
}
