/**
 * Lock-free unsigned 64-bit counters in shared memory, one per cache line.
 *
 * @module
 */
import { EvaporatedError } from "./errors.ts";
import { cString, growFile, mapFile, type Mapping, pageSize, slotSize, unmap } from "./native/memory.ts";

/** Options for {@link Raindrops}. */
export interface RaindropsOptions {
  /**
   * Back the counters with this file (created mode 0600) so that any Deno or
   * Bun process or thread opening the same path shares them, e.g.
   * `/dev/shm/myapp.raindrops`. An existing file must be a regular file of
   * this user that no one else may write, with no other name (hard link),
   * not reached through a symlink (else `ForeignFileError`). Without a path the memory is ordinary
   * garbage-collected memory, private to this thread.
   *
   * Without the native library (`RAINDROPS_NATIVE=optional`, the default
   * off Linux) a path names memory of this thread's own instead of a file:
   * every Raindrops on the path in this thread shares it, nothing else does.
   *
   * Never truncate or shrink a file while any process has it open: the
   * kernel kills every process that then touches a counter past the new
   * end (SIGBUS). Reset counters with `zero: true` or `set()` instead.
   */
  path?: string;
  /** Clear the counters of an existing file; by default its values are kept. */
  zero?: boolean;
}

const TWO_32 = 4294967296;
const MAX_U64 = 0xffff_ffff_ffff_ffffn;

/** Unmaps a file whose Raindrops was garbage-collected without evaporate(). */
const finalizer = new FinalizationRegistry<number>((address) => {
  try {
    unmap(address);
  } catch { /* nothing to report to at GC time */ }
});

function checkSize(size: unknown): number {
  if (typeof size !== "number") throw new TypeError(`size must be a number, got ${typeof size}`);
  if (!Number.isInteger(size) || size < 1 || size > 2 ** 26) {
    throw new RangeError(`size must be an integer from 1 to ${2 ** 26}, got ${size}`);
  }
  return size;
}

/** Checks a delta or value and returns it as a bigint in [0, 2^64). */
function toU64(value: unknown, what: string): bigint {
  if (typeof value === "bigint") {
    if (value < 0n || value > MAX_U64) throw new RangeError(`${what} must be within 0..2^64-1, got ${value}`);
    return value;
  }
  if (typeof value !== "number") throw new TypeError(`${what} must be a number or bigint, got ${typeof value}`);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${what} must be a non-negative safe integer (or a bigint), got ${value}`);
  }
  return BigInt(value);
}

/**
 * Adds `delta` (0 to 2^32-1) to the counter whose low word is `words[w]`
 * with one 32-bit compare-and-swap, and returns the new low word; returns
 * -1, having added nothing, when the low word would carry (the caller then
 * takes the counter's 64-bit path). Internal, for formats built on a
 * counter file.
 */
export function addWithoutCarry(words: Int32Array, w: number, delta: number): number {
  for (;;) {
    const low = words[w];
    const sum = (low >>> 0) + delta;
    if (sum > 0xffffffff) return -1;
    if (Atomics.compareExchange(words, w, low, sum | 0) === low) return sum;
  }
}

/**
 * Internal, for formats built on a counter file that must read a counter
 * without a BigInt: the memory as 32-bit words, counter `i`'s low word at
 * `words[i * stride]` and its high word next. Invalid after evaporate().
 */
export let counterWords: (rd: Raindrops) => { words: Int32Array; stride: number };

/**
 * A set of unsigned 64-bit counters, each alone on a cache line, updated
 * atomically from any number of threads and processes.
 *
 * Numbers: `incr`, `decr`, `get` and `toArray` return a `number`, exact up
 * to `Number.MAX_SAFE_INTEGER` (2^53-1); above that it is the nearest double.
 * `getBigInt` and `toBigIntArray` are exact over the whole 0..2^64-1 range,
 * and `incr`, `decr` and `set` accept a bigint. Counters wrap modulo 2^64:
 * decrementing 0 by 1 gives 2^64-1, as in the Ruby gem.
 *
 * @example
 * ```ts
 * using stats = new Raindrops(2, { path: "/dev/shm/app.raindrops" });
 * stats.incr(0);        // 1
 * stats.incr(1, 5);     // 5
 * stats.decr(1);        // 4
 * stats.toArray();      // [1, 4]
 * ```
 */
export class Raindrops {
  /** Bytes per counter slot: the CPU's cache line size. */
  static get SIZE(): number {
    return slotSize();
  }
  /** The system page size; mappings are whole pages. */
  static get PAGE_SIZE(): number {
    return pageSize();
  }
  /** The largest counter value, 2^64-1. */
  static readonly MAX: bigint = MAX_U64;
  static {
    counterWords = (rd) => ({ words: rd.#i32, stride: rd.#stride32 });
  }

  /** The counters' memory; null once evaporated. */
  #buffer: ArrayBuffer | null = null;
  /** The file mapping behind #buffer; null for anonymous memory. */
  #file: Mapping | null = null;
  #path: Uint8Array | null;
  #size: number;
  #capa = 0;
  /** Int32 view: the fast path compares-and-swaps the low word. */
  #i32 = new Int32Array(0);
  /** Uint32 view, for the high word. */
  #u32 = new Uint32Array(0);
  /** BigUint64 view, for exact 64-bit operations. */
  #u64 = new BigUint64Array(0);
  /** Distance between counters in 32-bit words (slot size / 4). */
  #stride32 = 0;
  readonly #slot: number;
  readonly #token = {};

  /**
   * Creates `size` counters, anonymous or shared through `options.path`.
   * Capacity is rounded up to whole pages: `new Raindrops(4).capa` is 64 with
   * 4 KiB pages and 64-byte lines. Anonymous sets are plain JS memory, so
   * forgotten ones cost no mapping and the garbage collector reclaims them.
   */
  constructor(size: number, options: RaindropsOptions = {}) {
    this.#size = checkSize(size);
    if (options === null || typeof options !== "object") throw new TypeError("options must be an object");
    this.#path = options.path === undefined ? null : cString(options.path);
    this.#slot = slotSize();
    const bytes = this.#bytesFor(this.#size);
    if (this.#path) this.#attachFile(mapFile(bytes, this.#path, options.zero === true));
    else this.#attach(new ArrayBuffer(bytes));
  }

  #bytesFor(size: number): number {
    const page = pageSize();
    return Math.ceil((size * this.#slot) / page) * page;
  }

  /** Uses `bytes` of `buffer` (all of it unless said: in-process memory may be longer than the mapping). */
  #attach(buffer: ArrayBuffer, bytes = buffer.byteLength): void {
    this.#buffer = buffer;
    this.#capa = bytes / this.#slot;
    this.#stride32 = this.#slot / 4;
    this.#i32 = new Int32Array(buffer);
    this.#u32 = new Uint32Array(buffer);
    this.#u64 = new BigUint64Array(buffer);
  }

  #attachFile(mapping: Mapping): void {
    if (this.#file) finalizer.unregister(this.#token);
    this.#file = mapping;
    this.#attach(mapping.buffer, mapping.bytes);
    finalizer.register(this, mapping.address, this.#token);
  }

  /** Grows the memory to `bytes`, keeping every value. */
  #grow(bytes: number): void {
    if (this.#file && this.#path) return this.#attachFile(growFile(this.#file, bytes, this.#path));
    const grown = new ArrayBuffer(bytes);
    new Uint8Array(grown).set(new Uint8Array(this.#buffer!));
    this.#attach(grown);
  }

  /** Throws the right error for a bad index (called only off the fast path). */
  #badIndex(index: unknown): never {
    if (!this.#buffer) throw new EvaporatedError();
    if (typeof index !== "number") throw new TypeError(`index must be a number, got ${typeof index}`);
    throw new RangeError(`index ${index} out of range: expected an integer from 0 to ${this.#size - 1}`);
  }

  /** Word offset of counter `index`, after checking it. */
  #word(index: number): number {
    // `>>> 0` round-trips only for integers in 0..2^32-1; #size is 0 once evaporated.
    if ((index >>> 0) !== index || index >= this.#size) this.#badIndex(index);
    return index * this.#stride32;
  }

  /**
   * Adds `delta` (default 1) to counter `index` and returns the new value.
   * When another process carries the same counter across a multiple of 2^32
   * at the same instant, the returned value may already include its update;
   * the stored value is always exact.
   */
  incr(index: number, delta: number | bigint = 1): number {
    const w = this.#word(index);
    if (typeof delta !== "number" || (delta >>> 0) !== delta) return this.#add64(index, toU64(delta, "delta"));
    const sum = addWithoutCarry(this.#i32, w, delta);
    return sum < 0 ? this.#add64(index, BigInt(delta)) : this.#u32[w + 1] * TWO_32 + sum;
  }

  /** Subtracts `delta` (default 1) from counter `index`, wrapping below 0; returns the new value. */
  decr(index: number, delta: number | bigint = 1): number {
    const w = this.#word(index);
    if (typeof delta !== "number" || (delta >>> 0) !== delta) {
      return this.#add64(index, (MAX_U64 + 1n - toU64(delta, "delta")) & MAX_U64);
    }
    const i32 = this.#i32;
    for (;;) {
      const lo = i32[w];
      const diff = (lo >>> 0) - delta;
      if (diff < 0) return this.#add64(index, (MAX_U64 + 1n - BigInt(delta)) & MAX_U64);
      const hi = this.#u32[w + 1];
      if (Atomics.compareExchange(i32, w, lo, diff | 0) === lo) return hi * TWO_32 + diff;
    }
  }

  /** Full 64-bit add modulo 2^64 (the carry/borrow path). */
  #add64(index: number, delta: bigint): number {
    const i = index * (this.#stride32 >> 1);
    return Number((Atomics.add(this.#u64, i, delta) + delta) & MAX_U64);
  }

  /** The value of counter `index` as a number (exact up to 2^53-1). */
  get(index: number): number {
    return Number(this.getBigInt(index));
  }

  /** The exact value of counter `index`. */
  getBigInt(index: number): bigint {
    return Atomics.load(this.#u64, this.#word(index) >> 1);
  }

  /** Sets counter `index` to `value` (0..2^64-1, number or bigint). */
  set(index: number, value: number | bigint): void {
    const w = this.#word(index);
    Atomics.store(this.#u64, w >> 1, toU64(value, "value"));
  }

  /**
   * Atomically replaces counter `index` with `replacement` if it holds
   * `expected`; returns the value it held (equal to `expected` on success).
   * The building block for claiming a slot across processes.
   */
  compareExchange(index: number, expected: number | bigint, replacement: number | bigint): bigint {
    const w = this.#word(index);
    return Atomics.compareExchange(this.#u64, w >> 1, toU64(expected, "expected"), toU64(replacement, "replacement"));
  }

  /** Every counter in use, as numbers. */
  toArray(): number[] {
    return this.toBigIntArray().map(Number);
  }

  /** Every counter in use, exactly. */
  toBigIntArray(): bigint[] {
    if (!this.#buffer) throw new EvaporatedError();
    const out: bigint[] = new Array(this.#size);
    const step = this.#stride32 >> 1;
    for (let i = 0; i < this.#size; i++) out[i] = Atomics.load(this.#u64, i * step);
    return out;
  }

  /** Counters in use. */
  get size(): number {
    if (!this.#buffer) throw new EvaporatedError();
    return this.#size;
  }

  /**
   * Changes the number of counters in use. Within {@link capa} this is free;
   * beyond it the memory (and its file) grows, keeping every value. Other
   * processes keep their own size until they grow theirs. Growing a file
   * that was deleted, replaced or truncated since it was opened throws
   * `ForeignFileError`.
   */
  set size(size: number) {
    if (!this.#buffer) throw new EvaporatedError();
    checkSize(size);
    if (size > this.#capa) this.#grow(this.#bytesFor(size));
    this.#size = size;
  }

  /** Counters that fit in the current mapping without growing it. */
  get capa(): number {
    if (!this.#buffer) throw new EvaporatedError();
    return this.#capa;
  }

  /** The backing file, or undefined for anonymous memory. */
  get path(): string | undefined {
    return this.#path ? new TextDecoder().decode(this.#path.subarray(0, -1)) : undefined;
  }

  /** True once {@link evaporate} has run. */
  get evaporated(): boolean {
    return this.#buffer === null;
  }

  /** An independent copy in fresh anonymous memory, with the same size and values. */
  dup(): Raindrops {
    const values = this.toBigIntArray();
    const copy = new Raindrops(this.#size);
    values.forEach((v, i) => copy.set(i, v));
    return copy;
  }

  /**
   * Releases the counters now (unmapping a file). Any later use throws
   * {@link EvaporatedError}, including a second evaporate(). A backing file
   * stays on disk.
   */
  evaporate(): void {
    if (!this.#buffer) throw new EvaporatedError();
    const m = this.#file;
    this.#buffer = null;
    this.#file = null;
    this.#size = 0;
    this.#capa = 0;
    this.#i32 = new Int32Array(0);
    this.#u32 = new Uint32Array(0);
    this.#u64 = new BigUint64Array(0);
    if (m) {
      finalizer.unregister(this.#token);
      unmap(m.address);
    }
  }

  /** Evaporates unless already evaporated, for `using`. */
  [Symbol.dispose](): void {
    if (this.#buffer) this.evaporate();
  }
}
