/**
 * An aggregate kept in a shared counter file, so that any number of Deno
 * and Bun processes add samples and read the totals with no master process
 * and no queue.
 *
 * @module
 */
import { claimHeader } from "../file_header.ts";
import { AggregateMismatchError, EvaporatedError, ForeignFileError } from "../errors.ts";
import { addWithoutCarry, counterWords, Raindrops } from "../raindrops.ts";
import { BucketLayout, type BucketOptions } from "./histogram.ts";
import { maxHigh, maxKey, minHigh, minKey, sampleOfMaxKey, sampleOfMinKey } from "./extreme_keys.ts";
import { exactMean, exactVariance } from "./moments.ts";
import { AggregateView } from "./view.ts";
import { type Carry, REGIONS, type RegionTotals, type WriterRegion, WriterRegions } from "./writer_regions.ts";

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

// Slot layout of the file. Slots 0-5 describe the layout; the rest is data.
// Counter 0 is the file's mark (claimHeader): MAGIC << 48 | 48-bit fingerprint of the layout key.
const KIND = 1; // 0 power-of-two, 1 linear
const SIZE = 2; // bucket count
const LOW_EDGE = 3; // float64 bits of the linear min
const HIGH_EDGE = 4; // float64 bits of the linear max
const WIDTH = 5; // float64 bits of the linear width
const SUM = 6;
const SQ_LO = 7; // sum of squares = SQ_LO + SQ_MID * 2^32 + SQ_HI * 2^64 (mod 2^128)
const SQ_MID = 8;
const SQ_HI = 9;
const MIN = 10; // key of the smallest sample (see extreme_keys.ts); 0 = none yet
const MAX = 11; // key of the largest sample; 0 = none yet
const LOW = 12; // low outliers; the count is LOW + HIGH + every bucket, so add() keeps no separate one
const HIGH = 13; // high outliers
const BUCKETS = 14; // first bucket
// Then, after the buckets: the reset epoch (a counter), and from the next
// slot on the writer regions (writer_regions.ts), which hold most samples;
// the counters above take those of writers that found no free region.
const FIRST_DATA = SUM;

const MAGIC = 0xa662n;
const MASK48 = (1n << 48n) - 1n;
const MAX64 = (1n << 64n) - 1n;
const TWO_32 = 4294967296;

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
 * thread) that opens it, with no master process and no queue; every reader
 * sees the totals of all writers, and crashing writers lose nothing
 * already added.
 *
 * Each open aggregate that adds claims a region of the file at its first
 * `add()` and updates it with plain stores, as it is the only writer there,
 * so an add costs little more than an in-process one; readers add up every
 * region. `evaporate()` (or `using`) frees the region for the next writer,
 * its figures still counting. A writer that finds every region taken (32
 * writers at once, or regions kept by writers that ended without
 * evaporating) updates the file's atomic counters instead: slower, as
 * exact.
 *
 * Samples are non-negative safe integers (0 to 2^53-1), e.g. milliseconds;
 * anything else throws (TypeError for a non-number, RangeError otherwise).
 * Count, sum and bucket counts are exact integers (read as numbers, exact
 * below 2^53); the sum of squares is exact too, so the mean and standard
 * deviation come from exact integers, as in {@link Aggregate}.
 *
 * The bucket layout is stored in the file: opening it with another layout
 * throws {@link AggregateMismatchError} (open with `zero: true` to start
 * over with a new one). Reads while other processes add are not one atomic
 * snapshot (count may already include a sample whose sum is not yet in),
 * and a `reset()` or `zero: true` racing with `add()` may keep part of a
 * sample. A writer killed in the middle of an `add()` (SIGKILL) may leave
 * that one sample partly added (in the sum but not yet counted, or the
 * reverse): at most one sample per killed writer. The count is always the
 * outliers plus the buckets, whenever a writer stopped.
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
  /**
   * Writers of one file that get a region of their own (plain stores);
   * writers beyond them add with atomics.
   */
  static readonly WRITER_REGIONS: number = REGIONS;
  /** The bucket layout. */
  readonly layout: BucketLayout;
  #rd: Raindrops | null;
  /** The file as 32-bit words, to read the high words of MIN and MAX without a BigInt. */
  #words: Int32Array;
  #stride: number;
  #minHighWord: number;
  #maxHighWord: number;
  #epochWord: number;
  readonly #size: number;
  readonly #regions: WriterRegions;
  /** This writer's region, claimed at the first add(); null without one. */
  #region: WriterRegion | null = null;
  #claimed = false;

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
    const areaSlot = BUCKETS + this.#size + 1;
    const counters = areaSlot + Math.ceil(WriterRegions.bytes(this.#size) / Raindrops.SIZE);
    const rd = new Raindrops(counters, { path: options.path, zero: options.zero === true });
    try {
      this.#claim(rd);
    } catch (e) {
      rd.evaporate();
      throw e;
    }
    this.#rd = rd;
    const { words, stride } = counterWords(rd);
    this.#words = words;
    this.#stride = stride;
    this.#minHighWord = MIN * stride + 1;
    this.#maxHighWord = MAX * stride + 1;
    this.#epochWord = (BUCKETS + this.#size) * stride;
    this.#regions = new WriterRegions(words.buffer, words.byteOffset + areaSlot * stride * 4, this.#size);
  }

  /** Writes our layout into a fresh file, or checks the one already there. */
  #claim(rd: Raindrops): void {
    const header = headerOf(this.layout);
    const found = claimHeader(rd, header, "SharedAggregate");
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
    if (found >> 48n !== MAGIC) throw new ForeignFileError(where!, "is not a SharedAggregate file");
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
    const bucket = this.layout.index(sample);
    const region = this.#region;
    if (region !== null && region.add(sample, bucket, this.#words[this.#epochWord])) return;
    if (!this.#claimed) {
      this.#claimed = true;
      this.#region = this.#regions.claim(this.#carry(rd));
      if (this.#region?.add(sample, bucket, this.#words[this.#epochWord])) return;
    }
    this.#addAtomically(rd, sample, bucket);
  }

  /** Where this writer's region moves what it can no longer hold exactly. */
  #carry(rd: Raindrops): Carry {
    return {
      sum: (sum) => void rd.incr(SUM, sum),
      squares: (squares) =>
        typeof squares === "bigint" ? this.#addBigSquare(rd, squares) : this.#addSquare(rd, squares),
    };
  }

  /** Adds a sample to the atomic counters, for writers without a region. */
  #addAtomically(rd: Raindrops, sample: number, bucket: number): void {
    const words = this.#words, stride = this.#stride;
    const slot = bucket < 0 ? LOW : bucket >= this.#size ? HIGH : BUCKETS + bucket;
    if (addWithoutCarry(words, slot * stride, 1) < 0) rd.incr(slot);
    if (sample !== 0 && (sample > 0xffffffff || addWithoutCarry(words, SUM * stride, sample) < 0)) rd.incr(SUM, sample);
    const sq = sample * sample;
    if (sq <= Number.MAX_SAFE_INTEGER) this.#addSquare(rd, sq);
    else this.#addBigSquare(rd, BigInt(sample) * BigInt(sample));
    // A high word read alone is one the key really held, and keys only grow:
    // when it is greater than the sample's, the sample changes nothing.
    const high = maxHigh(sample);
    if (!(this.#words[this.#maxHighWord] > high)) this.#raise(rd, MAX, maxKey(sample));
    if (!(this.#words[this.#minHighWord] > minHigh(high))) this.#raise(rd, MIN, minKey(sample));
  }

  /** Adds a square up to 2^53 to the atomic sum of squares. */
  #addSquare(rd: Raindrops, sq: number): void {
    // 32-bit parts mostly go in without a carry; a carry takes the
    // counters' 64-bit path, where a new value below the part added means
    // the counter wrapped past 2^64.
    const words = this.#words, stride = this.#stride;
    const lo = sq % TWO_32;
    const mid = (sq - lo) / TWO_32;
    if (lo !== 0 && addWithoutCarry(words, SQ_LO * stride, lo) < 0 && rd.incr(SQ_LO, lo) < lo) rd.incr(SQ_HI, 1);
    if (mid !== 0 && addWithoutCarry(words, SQ_MID * stride, mid) < 0 && rd.incr(SQ_MID, mid) < mid) {
      rd.incr(SQ_HI, TWO_32);
    }
  }

  /** The sum-of-squares update for samples whose square exceeds 2^53. */
  #addBigSquare(rd: Raindrops, sq: bigint): void {
    const lo = sq & 0xffffffffn;
    const mid = (sq >> 32n) & 0xffffffffn;
    if (lo !== 0n && rd.incr(SQ_LO, lo) < lo) rd.incr(SQ_HI, 1);
    if (mid !== 0n && rd.incr(SQ_MID, mid) < mid) rd.incr(SQ_HI, TWO_32);
    rd.incr(SQ_HI, sq >> 64n);
  }

  /** Raises the key in `slot` (MIN or MAX) to `key` unless it is already as high. */
  #raise(rd: Raindrops, slot: number, key: bigint): void {
    for (;;) {
      const cur = rd.getBigInt(slot);
      if (cur >= key) return;
      if (rd.compareExchange(slot, cur, key) === cur) return;
    }
  }

  /**
   * Clears every sample for every process; the stored layout stays. The
   * writer regions of the previous epoch stop counting at once, and each
   * writer clears its own at its next add().
   */
  reset(): void {
    const rd = this.#live();
    rd.incr(BUCKETS + this.#size);
    for (let slot = FIRST_DATA; slot < BUCKETS + this.#size; slot++) rd.set(slot, 0);
  }

  /** The writer regions' totals of the current epoch. */
  #regionTotals(): RegionTotals {
    this.#live();
    return this.#regions.totals(this.#words[this.#epochWord]);
  }

  /** Samples added by every process: the outliers plus every bucket. */
  get count(): number {
    const rd = this.#live();
    let n = rd.get(LOW) + rd.get(HIGH) + this.#regionTotals().count;
    for (let slot = BUCKETS; slot < BUCKETS + this.#size; slot++) n += rd.get(slot);
    return n;
  }
  /** Sum of every sample, exact below 2^53 (see {@link sumBigInt}). */
  get sum(): number {
    return Number(this.sumBigInt);
  }
  /** The exact sum of every sample, below 2^64. */
  get sumBigInt(): bigint {
    return this.#live().getBigInt(SUM) + this.#regionTotals().sum;
  }
  /** The exact sum of the squares of every sample, below 2^128. */
  get sumOfSquares(): bigint {
    const rd = this.#live();
    const atomic = rd.getBigInt(SQ_LO) + (rd.getBigInt(SQ_MID) << 32n) + (rd.getBigInt(SQ_HI) << 64n);
    return (atomic & ((1n << 128n) - 1n)) + this.#regionTotals().squares;
  }
  /** The smallest sample, undefined before the first. */
  get min(): number | undefined {
    const atomic = sampleOfMinKey(this.#live().getBigInt(MIN)) ?? Infinity;
    const min = Math.min(atomic, this.#regionTotals().min);
    return min === Infinity ? undefined : min;
  }
  /** The largest sample, undefined before the first. */
  get max(): number | undefined {
    const atomic = sampleOfMaxKey(this.#live().getBigInt(MAX)) ?? -Infinity;
    const max = Math.max(atomic, this.#regionTotals().max);
    return max === -Infinity ? undefined : max;
  }
  /** The mean, undefined before the first sample. */
  get mean(): number | undefined {
    const n = this.count;
    return n === 0 ? undefined : exactMean(n, this.sumBigInt);
  }
  /** The sample (n-1) variance, undefined below 2 samples. */
  get variance(): number | undefined {
    const n = this.count;
    return n < 2 ? undefined : exactVariance(n, this.sumBigInt, this.sumOfSquares);
  }
  /** Samples below the first bucket. */
  get outliersLow(): number {
    return this.#live().get(LOW) + this.#regionTotals().low;
  }
  /** Samples above the last bucket. */
  get outliersHigh(): number {
    return this.#live().get(HIGH) + this.#regionTotals().high;
  }
  /** The count of each bucket as read now, in layout order. */
  protected bucketCounts(): ArrayLike<number> {
    const rd = this.#live();
    const counts = new Float64Array(this.#size);
    for (let i = 0; i < counts.length; i++) counts[i] = rd.get(BUCKETS + i);
    this.#regions.addBuckets(counts, this.#words[this.#epochWord]);
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
    const rd = this.#live();
    this.#region?.release(); // its figures stay and keep counting
    this.#region = null;
    rd.evaporate();
    this.#rd = null;
    this.#words = new Int32Array(0);
  }

  /** Evaporates unless already evaporated, for `using`. */
  [Symbol.dispose](): void {
    if (this.#rd !== null) this.evaporate();
  }
}
