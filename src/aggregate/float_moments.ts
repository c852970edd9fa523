/**
 * Running sum, mean and variance of arbitrary finite samples, for an
 * {@link Aggregate} once a sample is not a safe integer.
 *
 * @module
 */

/** A sum with Neumaier's compensation: the rounding error of every addition is kept aside. */
class CompensatedSum {
  #sum: number;
  #compensation: number;

  constructor(exact: bigint) {
    this.#sum = Number(exact);
    this.#compensation = Number(exact - BigInt(this.#sum));
  }

  add(x: number): void {
    const s = this.#sum;
    const t = s + x;
    this.#compensation += Math.abs(s) >= Math.abs(x) ? (s - t) + x : (x - t) + s;
    this.#sum = t;
  }

  get value(): number {
    return this.#sum + this.#compensation;
  }
}

/**
 * Count, sum, mean and variance of floating-point samples from compensated
 * sums of the samples' offsets `y = x - shift` and of `y²`, where the shift
 * is near the samples (their integer mean so far, or the first sample):
 * the offsets are small, so `Σy² - (Σy)²/n` cancels little even for large
 * samples close together.
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
  #shift: number;
  #offsets: CompensatedSum;
  #squares: CompensatedSum;

  private constructor(count: number, shift: number, offsets: bigint, squares: bigint) {
    this.#count = count;
    this.#shift = shift;
    this.#offsets = new CompensatedSum(offsets);
    this.#squares = new CompensatedSum(squares);
  }

  /** Continues from `count` integer samples with exact `sum` and sum of `squares`. */
  static fromExact(count: number, sum: bigint, squares: bigint): FloatMoments {
    if (count === 0) return new FloatMoments(0, NaN, 0n, 0n);
    const n = BigInt(count);
    const shift = sum / n;
    // Σ(x - k) = Σx - nk and Σ(x - k)² = Σx² - 2kΣx + nk², exactly.
    return new FloatMoments(count, Number(shift), sum - n * shift, squares - 2n * shift * sum + n * shift * shift);
  }

  /** Adds a finite sample. */
  add(x: number): void {
    if (this.#count++ === 0) this.#shift = x;
    const y = x - this.#shift;
    this.#offsets.add(y);
    this.#squares.add(y * y);
  }

  /** The sum of the samples. */
  get sum(): number {
    return this.#shift * this.#count + this.#offsets.value;
  }

  /** The mean; NaN without samples. */
  get mean(): number {
    return this.#shift + this.#offsets.value / this.#count;
  }

  /** The sample variance (n-1); NaN for fewer than 2 samples. */
  get variance(): number {
    if (this.#count < 2) return NaN;
    const s = this.#offsets.value;
    return Math.max(0, this.#squares.value - (s * s) / this.#count) / (this.#count - 1);
  }
}
