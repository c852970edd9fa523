/**
 * An in-process aggregate of numeric samples: count, min, max, sum, mean,
 * standard deviation, outliers and a histogram.
 *
 * @module
 */
import { BucketLayout, type BucketOptions } from "./histogram.ts";
import { AggregateView } from "./view.ts";

/** Options for {@link Aggregate}. */
export interface AggregateOptions {
  /**
   * Bucket layout: a count of power-of-two buckets (default 32, bucket `i`
   * holds `[2^i, 2^(i+1))`) or linear `{ min, max, width }`.
   */
  buckets?: BucketOptions;
}

/**
 * Statistics over numeric samples in this thread's memory. Any finite
 * number is a sample, negative ones included (with power-of-two buckets a
 * sample below 1 counts as a low outlier). The mean and variance are kept
 * with Welford's method, so they stay accurate for large, close samples.
 * To share an aggregate between processes use {@link SharedAggregate}.
 *
 * @example
 * ```ts
 * const agg = new Aggregate();
 * for (const ms of [3, 5, 5, 12]) agg.add(ms);
 * agg.count;   // 4
 * agg.mean;    // 6.25
 * agg.stddev;  // 3.862...
 * console.log(agg.chart());
 * const lin = new Aggregate({ buckets: { min: 0, max: 100, width: 10 } });
 * ```
 */
export class Aggregate extends AggregateView {
  /** The bucket layout. */
  readonly layout: BucketLayout;
  #counts: Float64Array;
  #count = 0;
  #sum = 0;
  #mean = 0;
  #m2 = 0;
  #min = Infinity;
  #max = -Infinity;
  #low = 0;
  #high = 0;

  /** An empty aggregate; a bad bucket layout throws RangeError (or TypeError for a wrong type). */
  constructor(options: AggregateOptions = {}) {
    super();
    if (options === null || typeof options !== "object") throw new TypeError("options must be an object");
    this.layout = BucketLayout.from(options.buckets);
    this.#counts = new Float64Array(this.layout.size);
  }

  /** Adds a finite sample: TypeError for a non-number, RangeError for NaN or ±Infinity. */
  add(sample: number): void {
    if (typeof sample !== "number") throw new TypeError(`sample must be a number, got ${typeof sample}`);
    if (!Number.isFinite(sample)) throw new RangeError(`sample must be finite, got ${sample}`);
    const n = ++this.#count;
    const delta = sample - this.#mean;
    this.#mean += delta / n;
    this.#m2 += delta * (sample - this.#mean);
    this.#sum += sample;
    if (sample < this.#min) this.#min = sample;
    if (sample > this.#max) this.#max = sample;
    const i = this.layout.index(sample);
    if (i < 0) this.#low++;
    else if (i >= this.#counts.length) this.#high++;
    else this.#counts[i]++;
  }

  /** Forgets every sample. */
  reset(): void {
    this.#counts.fill(0);
    this.#count = this.#low = this.#high = 0;
    this.#sum = this.#mean = this.#m2 = 0;
    this.#min = Infinity;
    this.#max = -Infinity;
  }

  /** Samples added since the last reset. */
  get count(): number {
    return this.#count;
  }
  /** The sum of every sample. */
  get sum(): number {
    return this.#sum;
  }
  /** The smallest sample, undefined before the first. */
  get min(): number | undefined {
    return this.#count === 0 ? undefined : this.#min;
  }
  /** The largest sample, undefined before the first. */
  get max(): number | undefined {
    return this.#count === 0 ? undefined : this.#max;
  }
  /** The mean, undefined before the first sample. */
  get mean(): number | undefined {
    return this.#count === 0 ? undefined : this.#mean;
  }
  /** The sample (n-1) variance, undefined below 2 samples. */
  get variance(): number | undefined {
    return this.#count < 2 ? undefined : this.#m2 / (this.#count - 1);
  }
  /** Samples below the first bucket. */
  get outliersLow(): number {
    return this.#low;
  }
  /** Samples above the last bucket. */
  get outliersHigh(): number {
    return this.#high;
  }
  /** A copy of the count of each bucket, in layout order. */
  protected bucketCounts(): ArrayLike<number> {
    return this.#counts.slice();
  }
}
