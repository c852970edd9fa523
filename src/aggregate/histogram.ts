/**
 * Histogram bucket layouts (power-of-two or linear) and the 80-column ASCII
 * bar chart, shared by {@link Aggregate} and {@link SharedAggregate}.
 *
 * @module
 */

/** Linear buckets: `[min, min + width)`, `[min + width, min + 2 * width)`, ... up to `max`. */
export interface LinearBuckets {
  /** Lower edge of the first bucket; smaller samples are low outliers. */
  min: number;
  /** Upper edge of the last bucket; samples at or above it are high outliers. */
  max: number;
  /** Width of every bucket; `(max - min) / width` must be a whole number. */
  width: number;
}

/**
 * A bucket layout: a number `n` means `n` power-of-two buckets (bucket `i`
 * holds `[2^i, 2^(i+1))`, from 1 to 64 buckets); an object means
 * {@link LinearBuckets}.
 */
export type BucketOptions = number | LinearBuckets;

/** One histogram bucket as yielded by `buckets()`: samples in `[lower, upper)`. */
export interface Bucket {
  /** Position of the bucket, from 0. */
  readonly index: number;
  /** Inclusive lower edge. */
  readonly lower: number;
  /** Exclusive upper edge. */
  readonly upper: number;
  /** Samples counted in the bucket. */
  readonly count: number;
}

/** One row of a histogram as its chart draws it: a bucket or a kind of outlier. */
export interface HistogramRow {
  /** `[lower, upper)` for a bucket, `< low` or `>= high` for outliers. */
  readonly label: string;
  /** Samples counted in the row. */
  readonly count: number;
}

/** Power-of-two buckets used when none are given: [1, 2) up to [2^31, 2^32). */
export const DEFAULT_BUCKETS = 32;
/** Most power-of-two buckets: the last holds [2^63, 2^64). */
export const MAX_POWER_OF_TWO_BUCKETS = 64;
/** Most linear buckets. */
export const MAX_LINEAR_BUCKETS = 10_000;
/** Width of every line of {@link BucketLayout.chart}. */
export const CHART_WIDTH = 80;

const TWO_32 = 4294967296;

function finiteNumber(value: unknown, what: string): number {
  if (typeof value !== "number") throw new TypeError(`${what} must be a number, got ${typeof value}`);
  if (!Number.isFinite(value)) throw new RangeError(`${what} must be finite, got ${value}`);
  return value;
}

/** floor(log2(v)) for v >= 1, exact at powers of two whatever Math.log2 rounds to. */
function log2Floor(v: number): number {
  if (v < TWO_32) return 31 - Math.clz32(v);
  let e = Math.floor(Math.log2(v));
  if (2 ** e > v) e--;
  else if (2 ** (e + 1) <= v) e++;
  return e;
}

/** A number printed with at most 12 significant digits (so 0.1 * 3 prints as 0.3). */
function short(x: number): string {
  return String(Number(x.toPrecision(12)));
}

/**
 * Where samples go: a validated power-of-two or linear bucket layout.
 * `index(sample)` is -1 for a low outlier, `size` for a high outlier, and
 * the bucket otherwise.
 *
 * @example
 * ```ts
 * const log = BucketLayout.from(4);         // [1,2) [2,4) [4,8) [8,16)
 * log.index(0);  // -1 (low outlier)
 * log.index(3);  // 1
 * log.index(16); // 4 (high outlier)
 * const lin = BucketLayout.from({ min: 0, max: 100, width: 25 });
 * lin.index(50); // 2
 * ```
 */
export class BucketLayout {
  /** Number of buckets. */
  readonly size: number;
  /** True for linear buckets, false for power-of-two. */
  readonly linear: boolean;
  /** Lower edge of bucket 0: 1, or the linear `min`. */
  readonly low: number;
  /** Upper edge of the last bucket: 2^size, or the linear `max`. */
  readonly high: number;
  /** Linear bucket width; 0 for power-of-two buckets. */
  readonly width: number;

  private constructor(size: number, linear: boolean, low: number, high: number, width: number) {
    this.size = size;
    this.linear = linear;
    this.low = low;
    this.high = high;
    this.width = width;
  }

  /**
   * Checks `options` (default {@link DEFAULT_BUCKETS} power-of-two buckets).
   * Throws TypeError for a wrong type and RangeError for a bucket count that
   * is not a whole number, too many buckets, `width <= 0` or `max <= min`.
   */
  static from(options: BucketOptions = DEFAULT_BUCKETS): BucketLayout {
    if (typeof options === "number") {
      if (!Number.isInteger(options) || options < 1 || options > MAX_POWER_OF_TWO_BUCKETS) {
        throw new RangeError(
          `power-of-two bucket count must be an integer from 1 to ${MAX_POWER_OF_TWO_BUCKETS}, got ${options}`,
        );
      }
      return new BucketLayout(options, false, 1, 2 ** options, 0);
    }
    if (options === null || typeof options !== "object") {
      throw new TypeError(
        `buckets must be a number or { min, max, width }, got ${options === null ? "null" : typeof options}`,
      );
    }
    const min = finiteNumber(options.min, "buckets.min");
    const max = finiteNumber(options.max, "buckets.max");
    const width = finiteNumber(options.width, "buckets.width");
    if (width <= 0) throw new RangeError(`buckets.width must be positive, got ${width}`);
    if (max <= min) throw new RangeError(`buckets.max (${max}) must be greater than buckets.min (${min})`);
    const ratio = (max - min) / width;
    const size = Math.round(ratio);
    if (Math.abs(ratio - size) > 1e-9 * Math.max(1, size) || size < 1) {
      throw new RangeError(`(max - min) / width must be a whole number of buckets, got ${ratio}`);
    }
    if (size > MAX_LINEAR_BUCKETS) {
      throw new RangeError(`too many linear buckets: ${size} (at most ${MAX_LINEAR_BUCKETS})`);
    }
    return new BucketLayout(size, true, min, max, width);
  }

  /** The bucket for a finite sample: -1 below the range, `size` at or above it. */
  index(sample: number): number {
    if (!(sample >= this.low)) return -1;
    if (sample >= this.high) return this.size;
    if (!this.linear) return log2Floor(sample);
    let i = Math.floor((sample - this.low) / this.width);
    if (i >= this.size) i = this.size - 1;
    // Keep index() consistent with lower() when the division rounds across an edge.
    if (sample < this.lower(i)) i--;
    else if (sample >= this.lower(i + 1)) i++;
    return i;
  }

  /** Lower edge of bucket `i` (and upper edge of bucket `i - 1`); `lower(size)` is {@link high}. */
  lower(i: number): number {
    if (i >= this.size) return this.high;
    // (max - min) * i / size rather than min + i * width: 0.3 stays 0.3, not 0.30000000000000004.
    return this.linear ? this.low + ((this.high - this.low) * i) / this.size : 2 ** i;
  }

  /** A canonical text of the layout, equal for equal layouts, e.g. `log2:32` or `linear:0:100:10`. */
  get key(): string {
    return this.linear ? `linear:${this.low}:${this.high}:${this.width}` : `log2:${this.size}`;
  }

  /** Human description, e.g. `32 power-of-two buckets` or `10 linear buckets of width 10 from 0 to 100`. */
  toString(): string {
    return this.linear
      ? `${this.size} linear buckets of width ${this.width} from ${this.low} to ${this.high}`
      : `${this.size} power-of-two buckets`;
  }

  #edge(i: number): string {
    if (this.linear) return short(this.lower(i));
    return (1n << BigInt(i)).toString();
  }

  /** Row label of bucket `i`, `-1` (low outliers) or `size` (high outliers). */
  label(i: number): string {
    if (i < 0) return `< ${this.#edge(0)}`;
    if (i >= this.size) return `>= ${this.#edge(this.size)}`;
    return `[${this.#edge(i)}, ${this.#edge(i + 1)})`;
  }

  /**
   * The rows a chart draws: one per bucket from the first to the last
   * non-empty one (empty ones between included), and one for each kind of
   * outlier when there are any, in order.
   */
  rows(counts: ArrayLike<number>, outliersLow: number, outliersHigh: number): HistogramRow[] {
    const rows: HistogramRow[] = [];
    if (outliersLow > 0) rows.push({ label: this.label(-1), count: outliersLow });
    let first = 0, last = this.size - 1;
    while (first < this.size && counts[first] === 0) first++;
    while (last >= first && counts[last] === 0) last--;
    for (let i = first; i <= last; i++) rows.push({ label: this.label(i), count: counts[i] });
    if (outliersHigh > 0) rows.push({ label: this.label(this.size), count: outliersHigh });
    return rows;
  }

  /**
   * An 80-column ASCII bar chart: one `range | bars count` row per bucket
   * from the first to the last non-empty one, a row for each kind of outlier
   * when there are any, then a `Total` row with `total`. Bars are scaled to
   * the largest row; no line is longer than 80 characters.
   */
  chart(counts: ArrayLike<number>, outliersLow: number, outliersHigh: number, total: number): string {
    const rows = [...this.rows(counts, outliersLow, outliersHigh), { label: "Total", count: total }];
    let labelWidth = 0, countWidth = 0, peak = 0;
    for (const { label, count } of rows) {
      labelWidth = Math.max(labelWidth, label.length);
      countWidth = Math.max(countWidth, String(count).length);
    }
    for (let r = 0; r < rows.length - 1; r++) peak = Math.max(peak, rows[r].count);
    const barWidth = Math.max(1, CHART_WIDTH - labelWidth - countWidth - 4);
    return rows.map(({ label, count }, r) => {
      const n = r === rows.length - 1 || count === 0 ? 0 : Math.max(1, Math.round((count / peak) * barWidth));
      const line = `${label.padStart(labelWidth)} | ${"#".repeat(n).padEnd(barWidth)} ${
        String(count).padStart(countWidth)
      }`;
      return line.length > CHART_WIDTH ? line.slice(0, CHART_WIDTH) : line;
    }).join("\n") + "\n";
  }
}
