/**
 * Writer regions of a {@link SharedAggregate} file: each open aggregate
 * that adds samples claims a region of its own and updates it with plain
 * stores, no atomic operation, as only it writes there; readers add up
 * every region. Atomic operations cost a runtime call each on V8, which is
 * what would make a shared add several times an in-process one.
 *
 * @module
 */

/** Regions per file: writers beyond this many at once use the file's atomic counters. */
export const REGIONS = 32;

// Fields of a region, in float64 words. Each holds an integer, exact as
// long as it stays a safe integer: COUNT never passes 2^53 - 1, and SUM and
// SQUARES carry into the file's atomic counters before they would. COUNT
// is the writer's own: readers count LOW + HIGH + the buckets, so that the
// count and the buckets agree whenever a writer stopped.
const CLAIM = 0; // the owner's token in the low 32 bits; 0 = free
const EPOCH = 1; // the file's reset epoch the figures belong to
const COUNT = 2;
const SUM = 3;
const SQUARES = 4;
const MIN = 5; // valid when COUNT > 0
const MAX = 6;
const LOW = 7;
const HIGH = 8;
const BUCKETS = 9;
const LINE_WORDS = 16; // regions start on 128-byte boundaries: writers do not share cache lines

/** What a region moves into the file's atomic counters before it would lose exactness. */
export interface Carry {
  /** Adds `sum` (a safe integer) to the atomic sum. */
  sum(sum: number): void;
  /** Adds `squares` to the atomic sum of squares. */
  squares(squares: number | bigint): void;
}

/** Totals of the live regions, read with plain loads. */
export interface RegionTotals {
  count: number;
  sum: bigint;
  squares: bigint;
  min: number;
  max: number;
  low: number;
  high: number;
}

/**
 * One writer's region: `add()` is a few plain float64 updates. It returns
 * false, having added nothing, when the region is no longer ours (the file
 * was zeroed and someone else claimed it) or its count is full.
 *
 * @example
 * ```ts
 * import { SharedAggregate } from "@raindrops/raindrops";
 * using agg = new SharedAggregate({ path: "/dev/shm/app.latency" });
 * agg.add(12); // the first add claims a region; later adds are plain stores to it
 * agg.count;   // every region of the file added up
 * ```
 */
export class WriterRegion {
  readonly #fields: Float64Array;
  readonly #claimWord: Int32Array;
  readonly #token: number;
  readonly #size: number;
  readonly #carry: Carry;

  constructor(fields: Float64Array, token: number, size: number, carry: Carry) {
    this.#fields = fields;
    this.#claimWord = new Int32Array(fields.buffer, fields.byteOffset + CLAIM * 8, 1);
    this.#token = token;
    this.#size = size;
    this.#carry = carry;
  }

  /**
   * Adds a non-negative safe integer that falls in `bucket` (-1 low, `size`
   * high); false when the caller must add it elsewhere.
   */
  add(sample: number, bucket: number, epoch: number): boolean {
    const f = this.#fields;
    if (this.#claimWord[0] !== this.#token) return false;
    if (f[EPOCH] !== epoch) this.#restart(epoch);
    let n = f[COUNT];
    // Also false for a NaN or a negative count that someone wrote into the file.
    if (!(n >= 0 && n < Number.MAX_SAFE_INTEGER)) {
      n = this.#recount();
      if (!(n < Number.MAX_SAFE_INTEGER)) return false;
    }
    const sum = f[SUM] + sample;
    if (sum > Number.MAX_SAFE_INTEGER) {
      this.#carry.sum(f[SUM]);
      f[SUM] = sample;
    } else {
      f[SUM] = sum;
    }
    const square = sample * sample;
    const squares = f[SQUARES] + square;
    if (squares <= Number.MAX_SAFE_INTEGER) f[SQUARES] = squares;
    else if (square > Number.MAX_SAFE_INTEGER) this.#carry.squares(BigInt(sample) * BigInt(sample));
    else {
      this.#carry.squares(f[SQUARES]);
      f[SQUARES] = square;
    }
    if (n === 0 || sample < f[MIN]) f[MIN] = sample;
    if (n === 0 || sample > f[MAX]) f[MAX] = sample;
    f[bucket < 0 ? LOW : bucket >= this.#size ? HIGH : BUCKETS + bucket]++;
    f[COUNT] = n + 1;
    return true;
  }

  /**
   * Sets a count that is not a whole number below 2^53 - 1 back to the
   * outliers plus the buckets, which it always equals, and returns it; NaN,
   * changing nothing, when those are not whole numbers either.
   */
  #recount(): number {
    const n = regionCount(this.#fields, this.#size);
    if (!Number.isSafeInteger(n) || n < 0) return NaN;
    this.#fields[COUNT] = n;
    return n;
  }

  /** Clears figures of an earlier epoch, then marks the region as this epoch's. */
  #restart(epoch: number): void {
    this.#fields.fill(0, COUNT, BUCKETS + this.#size);
    this.#fields[EPOCH] = epoch;
  }

  /** Frees the region for another writer; its figures stay and still count. */
  release(): void {
    Atomics.compareExchange(this.#claimWord, 0, this.#token, 0);
  }
}

/** The samples a region holds: its outliers plus its buckets. */
function regionCount(f: Float64Array, size: number): number {
  let n = f[LOW] + f[HIGH];
  for (let i = 0; i < size; i++) n += f[BUCKETS + i];
  return n;
}

/**
 * The region area of a file: claims regions for writers and adds up the
 * live ones (those of the current reset epoch) for readers.
 *
 * @example
 * ```ts
 * import { SharedAggregate } from "@raindrops/raindrops";
 * using agg = new SharedAggregate({ path: "/dev/shm/app.latency" });
 * agg.add(12); // the first add claims a region; later adds are plain stores to it
 * agg.count;   // every region of the file added up
 * ```
 */
export class WriterRegions {
  readonly #fields: Float64Array;
  readonly #words: Int32Array;
  readonly #stride: number;
  readonly #size: number;

  /** Bytes the area takes for `size` buckets. */
  static bytes(size: number): number {
    return REGIONS * WriterRegions.#strideOf(size) * 8;
  }

  static #strideOf(size: number): number {
    return Math.ceil((BUCKETS + size) / LINE_WORDS) * LINE_WORDS;
  }

  /** The area at `byteOffset` (a multiple of 8) of `buffer`, for `size` buckets. */
  constructor(buffer: ArrayBufferLike, byteOffset: number, size: number) {
    this.#stride = WriterRegions.#strideOf(size);
    this.#size = size;
    this.#fields = new Float64Array(buffer, byteOffset, REGIONS * this.#stride);
    this.#words = new Int32Array(buffer, byteOffset, REGIONS * this.#stride * 2);
  }

  /** Claims a free region, or returns null when all are taken. */
  claim(carry: Carry): WriterRegion | null {
    // Any non-zero token will do; a random one tells a writer whose region
    // was cleared under it (zero: true) that another writer took it since.
    const token = (Math.random() * 0xfffffffe + 1) | 0 || 1;
    for (let r = 0; r < REGIONS; r++) {
      const start = r * this.#stride;
      if (Atomics.compareExchange(this.#words, (start + CLAIM) * 2, 0, token) === 0) {
        return new WriterRegion(this.#fields.subarray(start, start + this.#stride), token, this.#size, carry);
      }
    }
    return null;
  }

  /** Count, sums, extremes and outliers of the regions of `epoch`. */
  totals(epoch: number): RegionTotals {
    const t: RegionTotals = { count: 0, sum: 0n, squares: 0n, min: Infinity, max: -Infinity, low: 0, high: 0 };
    for (const f of this.#live(epoch)) {
      t.count += regionCount(f, this.#size);
      t.sum += BigInt(f[SUM]);
      t.squares += BigInt(f[SQUARES]);
      t.min = Math.min(t.min, f[MIN]);
      t.max = Math.max(t.max, f[MAX]);
      t.low += f[LOW];
      t.high += f[HIGH];
    }
    return t;
  }

  /** Adds the live regions' bucket counts to `counts`. */
  addBuckets(counts: Float64Array, epoch: number): void {
    for (const f of this.#live(epoch)) for (let i = 0; i < this.#size; i++) counts[i] += f[BUCKETS + i];
  }

  /** The fields of every region of `epoch` holding a sample. */
  *#live(epoch: number): IterableIterator<Float64Array> {
    for (let r = 0; r < REGIONS; r++) {
      const f = this.#fields.subarray(r * this.#stride, (r + 1) * this.#stride);
      if (f[EPOCH] === epoch && regionCount(f, this.#size) > 0) yield f;
    }
  }
}
