/**
 * An in-process aggregate of numeric samples: count, min, max, sum, mean,
 * standard deviation, outliers and a histogram.
 *
 * @module
 */
import { BucketLayout, type BucketOptions } from "./histogram.ts";
import { FloatMoments } from "./float_moments.ts";
import { exactMean, exactVariance } from "./moments.ts";
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
 * sample below 1 counts as a low outlier). While every sample is a safe
 * integer the sum and the sum of squares are exact integers, and the mean
 * and variance come from them exactly as in {@link SharedAggregate}, so
 * both give the same figures for the same samples. After a sample that is
 * not a safe integer, the sum is compensated and the variance follows
 * Welford's method, which stays accurate for large, close samples.
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
  // Exact sums while every sample is a safe integer: each number part stays
  // a safe integer, and what would not fit moves to its bigint part.
  #sum = 0;
  #sumCarried = 0n;
  #squares = 0;
  #squaresCarried = 0n;
  /** Running figures once a sample is not a safe integer; null until then. */
  #float: FloatMoments | null = null;
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
    if (this.#float === null && Number.isSafeInteger(sample)) {
      const sum = this.#sum + sample;
      if (sum > Number.MAX_SAFE_INTEGER || sum < -Number.MAX_SAFE_INTEGER) this.#carrySum(sample);
      else this.#sum = sum;
      // A square above 2^53 may be rounded, but then the total is too big as well.
      const squares = this.#squares + sample * sample;
      if (squares > Number.MAX_SAFE_INTEGER) this.#carrySquare(sample);
      else this.#squares = squares;
    } else {
      if (typeof sample !== "number") throw new TypeError(`sample must be a number, got ${typeof sample}`);
      if (!Number.isFinite(sample)) throw new RangeError(`sample must be finite, got ${sample}`);
      (this.#float ??= FloatMoments.fromExact(this.#count, this.#sumBigInt(), this.#squaresBigInt())).add(sample);
    }
    this.#count++;
    if (sample < this.#min) this.#min = sample;
    if (sample > this.#max) this.#max = sample;
    const i = this.layout.index(sample);
    if (i < 0) this.#low++;
    else if (i >= this.#counts.length) this.#high++;
    else this.#counts[i]++;
  }

  #carrySum(sample: number): void {
    this.#sumCarried += BigInt(this.#sum) + BigInt(sample);
    this.#sum = 0;
  }

  #carrySquare(sample: number): void {
    this.#squaresCarried += BigInt(this.#squares) + BigInt(sample) ** 2n;
    this.#squares = 0;
  }

  #sumBigInt(): bigint {
    return this.#sumCarried + BigInt(this.#sum);
  }

  #squaresBigInt(): bigint {
    return this.#squaresCarried + BigInt(this.#squares);
  }

  /** Forgets every sample. */
  reset(): void {
    this.#counts.fill(0);
    this.#count = this.#low = this.#high = 0;
    this.#sum = this.#squares = 0;
    this.#sumCarried = this.#squaresCarried = 0n;
    this.#float = null;
    this.#min = Infinity;
    this.#max = -Infinity;
  }

  /** Samples added since the last reset. */
  get count(): number {
    return this.#count;
  }
  /** The sum of every sample. */
  get sum(): number {
    return this.#float === null ? Number(this.#sumBigInt()) : this.#float.sum;
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
    if (this.#count === 0) return undefined;
    return this.#float === null ? exactMean(this.#count, this.#sumBigInt()) : this.#float.mean;
  }
  /** The sample (n-1) variance, undefined below 2 samples. */
  get variance(): number | undefined {
    if (this.#count < 2) return undefined;
    return this.#float === null
      ? exactVariance(this.#count, this.#sumBigInt(), this.#squaresBigInt())
      : this.#float.variance;
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
