/**
 * Running sum, mean and variance of arbitrary finite samples, for an
 * {@link Aggregate} once a sample is not a safe integer.
 *
 * @module
 */

/**
 * Count, sum and variance of floating-point samples: the sum is
 * compensated (Neumaier), so the mean is the compensated sum over the
 * count, and the variance follows Welford's method, which stays accurate
 * for large samples close together.
 *
 * @example
 * ```ts
 * const m = FloatMoments.fromExact(2, 3n, 5n); // samples 1 and 2 so far
 * m.add(0.5);
 * m.mean;     // 1.1666666666666667
 * m.variance; // 0.5833333333333334
 * ```
 */
export class FloatMoments {
  #count: number;
  #sum: number;
  #compensation: number;
  #mean: number;
  #m2: number;

  private constructor(count: number, sum: number, compensation: number, mean: number, m2: number) {
    this.#count = count;
    this.#sum = sum;
    this.#compensation = compensation;
    this.#mean = mean;
    this.#m2 = m2;
  }

  /** Continues from `count` integer samples with exact `sum` and sum of `squares`. */
  static fromExact(count: number, sum: bigint, squares: bigint): FloatMoments {
    if (count === 0) return new FloatMoments(0, 0, 0, 0, 0);
    const rounded = Number(sum);
    const n = BigInt(count);
    // Σ(x - mean)² = (n·Σx² - (Σx)²) / n, exact before the last two roundings.
    const m2 = Number(n * squares - sum * sum) / count;
    return new FloatMoments(count, rounded, Number(sum - BigInt(rounded)), rounded / count, m2);
  }

  /** Adds a finite sample. */
  add(x: number): void {
    const n = ++this.#count;
    const s = this.#sum;
    const t = s + x;
    this.#compensation += Math.abs(s) >= Math.abs(x) ? (s - t) + x : (x - t) + s;
    this.#sum = t;
    const delta = x - this.#mean;
    this.#mean += delta / n;
    this.#m2 += delta * (x - this.#mean);
  }

  /** The compensated sum. */
  get sum(): number {
    return this.#sum + this.#compensation;
  }

  /** The compensated sum over the count; NaN without samples. */
  get mean(): number {
    return this.sum / this.#count;
  }

  /** The sample variance (n-1); NaN for fewer than 2 samples. */
  get variance(): number {
    return this.#count < 2 ? NaN : Math.max(0, this.#m2) / (this.#count - 1);
  }
}
