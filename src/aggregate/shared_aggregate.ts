/**
 * An aggregate kept in a shared counter file, so that any number of Deno
 * and Bun processes add samples and read the totals with no master process
 * and no queue.
 *
 * @module
 */
import { claimHeader } from "../file_header.ts";
import { EvaporatedError, RaindropsError } from "../errors.ts";
import { Raindrops } from "../raindrops.ts";
import { BucketLayout, type BucketOptions } from "./histogram.ts";
import { AggregateView } from "./view.ts";

/** Options for {@link SharedAggregate}. */
export interface SharedAggregateOptions {
  /** The shared file, e.g. `/dev/shm/app.latency`; created mode 0600 when missing. */
  path: string;
  /** Clear the file (samples and stored layout) before use; by default its samples are kept. */
  zero?: boolean;
  /**
   * Bucket layout: a count of power-of-two buckets (default 32, bucket `i`
   * holds `[2^i, 2^(i+1))`) or linear `{ min, max, width }`. Every process
   * opening the file must give the same layout.
   */
  buckets?: BucketOptions;
}

/**
 * A process opened a {@link SharedAggregate} file that holds another bucket
 * layout, or that is not an aggregate file at all. Code `AGGREGATE_MISMATCH`.
 *
 * @example
 * ```ts
 * import { AggregateMismatchError, SharedAggregate } from "@raindrops/raindrops";
 * const path = "/dev/shm/app.latency";
 * try { new SharedAggregate({ path, buckets: { min: 0, max: 100, width: 10 } }); }
 * catch (e) { if (e instanceof AggregateMismatchError) console.log(e.message); }
 * ```
 */
export class AggregateMismatchError extends RaindropsError {
  /** `message` says which layout the file holds and which was asked for. */
  constructor(message: string) {
    super(message, "AGGREGATE_MISMATCH");
  }
}

// Slot layout of the file. Slots 0-5 describe the layout; the rest is data.
// Counter 0 is the file's mark (claimHeader): MAGIC << 48 | 48-bit fingerprint of the layout key.
const KIND = 1; // 0 power-of-two, 1 linear
const SIZE = 2; // bucket count
const LOW_EDGE = 3; // float64 bits of the linear min
const HIGH_EDGE = 4; // float64 bits of the linear max
const WIDTH = 5; // float64 bits of the linear width
const SUM = 6;
const SQ_LO = 7; // sum of squares = SQ_LO + SQ_MID * 2^26 + SQ_HI * 2^64 (mod 2^128)
const SQ_MID = 8;
const SQ_HI = 9;
const MIN = 10; // smallest sample + 1; 0 = none yet
const MAX = 11; // largest sample + 1; 0 = none yet
const LOW = 12; // low outliers; the count is LOW + HIGH + every bucket, so add() keeps no separate one
const HIGH = 13; // high outliers
const BUCKETS = 14; // first bucket
const FIRST_DATA = SUM;

const MAGIC = 0xa661n;
const MASK48 = (1n << 48n) - 1n;
const MAX64 = (1n << 64n) - 1n;
const TWO_26 = 67108864;

const f64 = new Float64Array(1);
const u64 = new BigUint64Array(f64.buffer);
function bitsOf(x: number): bigint {
  f64[0] = x;
  return u64[0];
}
function numberOf(bits: bigint): number {
  u64[0] = bits;
  return f64[0];
}

/** MAGIC in the top 16 bits, a 64-bit FNV-1a hash of the layout key folded to 48 bits below. */
function headerOf(layout: BucketLayout): bigint {
  let h = 0xcbf29ce484222325n;
  for (const byte of new TextEncoder().encode(layout.key)) h = ((h ^ BigInt(byte)) * 0x100000001b3n) & MAX64;
  return (MAGIC << 48n) | ((h ^ (h >> 48n)) & MASK48);
}

/**
 * One aggregate shared by path between every Deno and Bun process (and
 * thread) that opens it: each `add()` is a handful of atomic counter
 * updates on a {@link Raindrops} file, and every reader sees the totals of
 * all writers. Crashing writers lose nothing already added.
 *
 * Samples are non-negative safe integers (0 to 2^53-1), e.g. milliseconds;
 * anything else throws (TypeError for a non-number, RangeError otherwise).
 * Count, sum and bucket counts are exact unsigned 64-bit counters (read as
 * numbers, exact below 2^53); the sum of squares is exact below 2^128, so
 * the standard deviation is computed from exact integers.
 *
 * The bucket layout is stored in the file: opening it with another layout
 * throws {@link AggregateMismatchError} (open with `zero: true` to start
 * over with a new one). Reads while other processes add are not one atomic
 * snapshot (count may already include a sample whose sum is not yet in),
 * and a `reset()` racing with `add()` may keep part of a sample.
 *
 * @example
 * ```ts
 * // in any number of processes at once:
 * using agg = new SharedAggregate({ path: "/dev/shm/app.latency", buckets: 16 });
 * agg.add(12);                 // ms
 * // in any one of them:
 * console.log(agg.count, agg.mean, agg.stddev);
 * console.log(agg.chart());
 * ```
 */
export class SharedAggregate extends AggregateView {
  /** The bucket layout. */
  readonly layout: BucketLayout;
  #rd: Raindrops | null;
  readonly #size: number;

  /**
   * Opens (creating when missing) the aggregate file at `options.path`.
   * Throws RangeError for a bad layout, {@link AggregateMismatchError} when
   * the file holds another layout, NativeError when the file cannot be
   * opened.
   */
  constructor(options: SharedAggregateOptions) {
    super();
    if (options === null || typeof options !== "object") throw new TypeError("options must be an object");
    if (options.path === undefined) throw new TypeError("options.path is required");
    this.layout = BucketLayout.from(options.buckets);
    this.#size = this.layout.size;
    const rd = new Raindrops(BUCKETS + this.#size, { path: options.path, zero: options.zero === true });
    try {
      this.#claim(rd);
    } catch (e) {
      rd.evaporate();
      throw e;
    }
    this.#rd = rd;
  }

  /** Writes our layout into a fresh file, or checks the one already there. */
  #claim(rd: Raindrops): void {
    const header = headerOf(this.layout);
    const found = claimHeader(rd, header);
    if (found === null) throw new AggregateMismatchError(`${rd.path} holds other data: not a SharedAggregate file`);
    if (found === header) return;
    if (found === 0n) {
      const l = this.layout;
      rd.set(KIND, l.linear ? 1 : 0);
      rd.set(SIZE, l.size);
      if (l.linear) {
        rd.set(LOW_EDGE, bitsOf(l.low));
        rd.set(HIGH_EDGE, bitsOf(l.high));
        rd.set(WIDTH, bitsOf(l.width));
      }
      return;
    }
    const where = rd.path;
    if (found >> 48n !== MAGIC) throw new AggregateMismatchError(`${where} is not a SharedAggregate file`);
    const size = rd.get(SIZE);
    let theirs = "another bucket layout";
    try {
      const other = rd.get(KIND) === 1
        ? BucketLayout.from({
          min: numberOf(rd.getBigInt(LOW_EDGE)),
          max: numberOf(rd.getBigInt(HIGH_EDGE)),
          width: numberOf(rd.getBigInt(WIDTH)),
        })
        : BucketLayout.from(size);
      theirs = String(other);
    } catch { /* layout slots not written yet by the creator: keep the vague text */ }
    throw new AggregateMismatchError(`${where} holds an aggregate with ${theirs}, not ${this.layout}`);
  }

  #live(): Raindrops {
    if (this.#rd === null) throw new EvaporatedError("SharedAggregate");
    return this.#rd;
  }

  #badSample(sample: unknown): never {
    if (typeof sample !== "number") throw new TypeError(`sample must be a number, got ${typeof sample}`);
    throw new RangeError(`sample must be a non-negative safe integer, got ${sample}`);
  }

  /** Adds a sample, a non-negative safe integer, for every process to see. */
  add(sample: number): void {
    const rd = this.#rd;
    if (rd === null) throw new EvaporatedError("SharedAggregate");
    if (!Number.isSafeInteger(sample) || sample < 0) this.#badSample(sample);
    const i = this.layout.index(sample);
    rd.incr(i < 0 ? LOW : i >= this.#size ? HIGH : BUCKETS + i);
    if (sample !== 0) rd.incr(SUM, sample);
    const sq = sample * sample;
    if (sq <= Number.MAX_SAFE_INTEGER) {
      // Split so both parts usually take the counters' 32-bit fast path; a
      // new value below the part added means the counter wrapped past 2^64.
      const mid = Math.floor(sq / TWO_26);
      const lo = sq - mid * TWO_26;
      if (lo !== 0 && rd.incr(SQ_LO, lo) < lo) rd.incr(SQ_HI, 1);
      if (mid !== 0 && rd.incr(SQ_MID, mid) < mid) rd.incr(SQ_HI, TWO_26);
    } else {
      this.#addBigSquare(rd, BigInt(sample) * BigInt(sample));
    }
    const stored = sample + 1; // MIN and MAX hold value + 1 so that 0 means "none"
    const min = rd.get(MIN);
    if (min === 0 || stored < min) this.#lowerMin(rd, BigInt(stored));
    if (stored > rd.get(MAX)) this.#raiseMax(rd, BigInt(stored));
  }

  /** The sum-of-squares update for samples whose square exceeds 2^53. */
  #addBigSquare(rd: Raindrops, sq: bigint): void {
    const low64 = sq & MAX64;
    const lo = Number(low64 & BigInt(TWO_26 - 1));
    const mid = Number(low64 >> 26n);
    if (lo !== 0 && rd.incr(SQ_LO, lo) < lo) rd.incr(SQ_HI, 1);
    if (mid !== 0 && rd.incr(SQ_MID, mid) < mid) rd.incr(SQ_HI, TWO_26);
    rd.incr(SQ_HI, sq >> 64n);
  }

  #lowerMin(rd: Raindrops, stored: bigint): void {
    for (;;) {
      const cur = rd.getBigInt(MIN);
      if (cur !== 0n && cur <= stored) return;
      if (rd.compareExchange(MIN, cur, stored) === cur) return;
    }
  }

  #raiseMax(rd: Raindrops, stored: bigint): void {
    for (;;) {
      const cur = rd.getBigInt(MAX);
      if (cur >= stored) return;
      if (rd.compareExchange(MAX, cur, stored) === cur) return;
    }
  }

  /** Clears every sample for every process; the stored layout stays. */
  reset(): void {
    const rd = this.#live();
    for (let slot = FIRST_DATA; slot < BUCKETS + this.#size; slot++) rd.set(slot, 0);
  }

  /** Samples added by every process: the outliers plus every bucket (one read per bucket). */
  get count(): number {
    return Number(this.#countBigInt());
  }
  #countBigInt(): bigint {
    const rd = this.#live();
    let n = rd.getBigInt(LOW) + rd.getBigInt(HIGH);
    for (let slot = BUCKETS; slot < BUCKETS + this.#size; slot++) n += rd.getBigInt(slot);
    return n;
  }
  /** Sum of every sample, exact below 2^53 (see {@link sumBigInt}). */
  get sum(): number {
    return this.#live().get(SUM);
  }
  /** The exact sum of every sample (modulo 2^64). */
  get sumBigInt(): bigint {
    return this.#live().getBigInt(SUM);
  }
  /** The exact sum of the squares of every sample (modulo 2^128). */
  get sumOfSquares(): bigint {
    const rd = this.#live();
    const total = rd.getBigInt(SQ_LO) + (rd.getBigInt(SQ_MID) << 26n) + (rd.getBigInt(SQ_HI) << 64n);
    return total & ((1n << 128n) - 1n);
  }
  /** The smallest sample, undefined before the first. */
  get min(): number | undefined {
    const m = this.#live().get(MIN);
    return m === 0 ? undefined : m - 1;
  }
  /** The largest sample, undefined before the first. */
  get max(): number | undefined {
    const m = this.#live().get(MAX);
    return m === 0 ? undefined : m - 1;
  }
  /** The mean, undefined before the first sample. */
  get mean(): number | undefined {
    const n = this.count;
    return n === 0 ? undefined : Number(this.sumBigInt) / n;
  }
  /** The sample (n-1) variance, undefined below 2 samples. */
  get variance(): number | undefined {
    const n = this.#countBigInt();
    if (n < 2n) return undefined;
    const s = this.sumBigInt;
    // n * Σx² - (Σx)² is exact; it can dip below 0 only in a read racing with add().
    const scaled = n * this.sumOfSquares - s * s;
    return scaled <= 0n ? 0 : Number(scaled) / (Number(n) * Number(n - 1n));
  }
  /** Samples below the first bucket. */
  get outliersLow(): number {
    return this.#live().get(LOW);
  }
  /** Samples above the last bucket. */
  get outliersHigh(): number {
    return this.#live().get(HIGH);
  }
  /** The count of each bucket as read now, in layout order. */
  protected bucketCounts(): ArrayLike<number> {
    const rd = this.#live();
    const counts = new Float64Array(this.#size);
    for (let i = 0; i < counts.length; i++) counts[i] = rd.get(BUCKETS + i);
    return counts;
  }

  /** The backing file. */
  get path(): string {
    return this.#live().path!;
  }

  /** True once {@link evaporate} has run. */
  get evaporated(): boolean {
    return this.#rd === null;
  }

  /**
   * Unmaps the file in this process (it stays on disk with its samples).
   * Any later use, a second evaporate() included, throws EvaporatedError.
   */
  evaporate(): void {
    this.#live().evaporate();
    this.#rd = null;
  }

  /** Evaporates unless already evaporated, for `using`. */
  [Symbol.dispose](): void {
    if (this.#rd !== null) this.evaporate();
  }
}
