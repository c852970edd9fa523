/**
 * The metrics file: one shared counter file holding every metric of a
 * registry, written by every worker of every runtime without locks.
 *
 * Layout (offsets in bytes; `S` is the counter slot size, a cache line):
 *
 * - slot 0: the file's mark (see `claimHeader`), "RDMR" and layout version;
 * - slot 1: the number of worker regions `R`, set once by the creator;
 * - slot 2: cells handed out so far; slot 3: heap bytes handed out so far;
 * - slots 4 to 4+R: the owner word of each region;
 * - at {@link Layout.records}: the record log (`_series_log.ts`): metric
 *   definitions and label sets, each naming its cells;
 * - at {@link Layout.heap}: the strings the records point to;
 * - at {@link Layout.segments}: the cells, in segments. Segment `k` holds
 *   cells `512k` to `512k+511` of every region, region `r`'s 512 cells in
 *   the `r`-th 4 KiB of the segment, so a worker writes only its own pages
 *   and lines. The file grows by one segment when the cells run past it.
 *
 * A cell is a float64 that only the region's owner writes, with plain
 * stores: readers add up the regions. A region's owner word is 0 (never
 * used), {@link RELEASED} (free, its figures kept), or the owning thread's
 * identity (`tid << 41 | start time`, as in `worker_stats.ts`), with
 * {@link CLAIMING} set while a new owner clears its gauges. A dead owner's
 * region keeps its counts where they are and the next worker to claim it
 * adds to them, so counters never move between regions: nothing is folded,
 * nothing counted twice, and the file never needs more regions than workers
 * alive at once.
 *
 * @module
 */
import { claimHeader } from "../file_header.ts";
import { ExhaustedError, ForeignFileError } from "../errors.ts";
import { counterWords, Raindrops } from "../raindrops.ts";
import { alive, currentIdentity } from "../worker_stats.ts";

/** "RDMR" and layout version 1. */
const MAGIC = 0x5244_4d52_0001n;
const MAGIC_MASK = ~0xffffn;
const REGIONS = 1, CELL_TOP = 2, HEAP_TOP = 3, HEADER = 4;
/** Records in the log: metric definitions plus label sets, for every metric of the file. */
export const MAX_RECORDS = 16384;
/** Bytes of the record log entries. */
export const RECORD_BYTES = 32;
/** Bytes of strings (definitions and label values) the file can hold. */
export const HEAP_BYTES = 1 << 21;
/** Cells of one region in one segment: a 4 KiB page of float64s. */
export const SEGMENT_CELLS = 512;
const SEGMENT_BYTES = SEGMENT_CELLS * 8;
const ALIGN = 4096;

/** Owner word of a region freed by its owner; its figures still count. */
export const RELEASED = 1n;
/** Set in an owner word while the new owner zeroes the region's gauges. */
export const CLAIMING = 1n << 63n;

/** Default number of worker regions in a new file. */
export const DEFAULT_WORKER_SLOTS = 128;
/** The most worker regions a file may have (a header saying more is refused). */
export const MAX_WORKER_SLOTS = 4096;

const align = (n: number): number => Math.ceil(n / ALIGN) * ALIGN;

/** Byte offsets of a file's areas, fixed by its region count and slot size. */
export class Layout {
  readonly records: number;
  readonly heap: number;
  readonly segments: number;
  /** Writer regions in the file. */
  readonly regions: number;
  constructor(regions: number, slot: number) {
    this.regions = regions;
    this.records = align((HEADER + regions) * slot);
    this.heap = this.records + MAX_RECORDS * RECORD_BYTES;
    this.segments = align(this.heap + HEAP_BYTES);
  }
  /** Bytes the file needs to hold cells `0..cells-1` of every region. */
  bytesFor(cells: number): number {
    return this.segments + Math.ceil(cells / SEGMENT_CELLS) * this.regions * SEGMENT_BYTES;
  }
  /** The float64 index of `cell` of region `region`. */
  cellIndex(region: number, cell: number): number {
    const segment = Math.floor(cell / SEGMENT_CELLS);
    return (this.segments + (segment * this.regions + region) * SEGMENT_BYTES) / 8 + (cell % SEGMENT_CELLS);
  }
}

/**
 * An open metrics file: its mapping (views renewed whenever it grows, so
 * always read `f64` and friends from here, never keep them) and its
 * regions. Anonymous (no path) for a registry private to this thread.
 */
export class MetricsFile {
  readonly layout: Layout;
  /** The whole mapping as float64s (the cells). */
  f64: Float64Array = new Float64Array(0);
  /** The whole mapping as 64-bit words (the records). */
  u64: BigUint64Array = new BigUint64Array(0);
  /** The whole mapping as bytes (the heap). */
  u8: Uint8Array = new Uint8Array(0);
  readonly #rd: Raindrops;
  /** The mapping as 32-bit words, and the distance between counters in them (see `counterWords`). */
  #words: Int32Array = new Int32Array(0);
  #stride = 0;
  readonly #identity: bigint;
  #closed = false;

  constructor(path: string | undefined, workerSlots: number) {
    this.#rd = new Raindrops(HEADER, path === undefined ? {} : { path });
    try {
      this.layout = this.#claim(workerSlots);
      this.#identity = currentIdentity();
      this.mapCells();
    } catch (e) {
      this.#rd.evaporate();
      throw e;
    }
  }

  /** Marks a blank file or checks the mark; returns the layout of its regions. */
  #claim(workerSlots: number): Layout {
    const rd = this.#rd, where = rd.path ?? "anonymous memory";
    const magic = claimHeader(rd, MAGIC, "raindrops metrics");
    if (magic !== 0n && magic !== MAGIC) {
      const version = (magic & MAGIC_MASK) === (MAGIC & MAGIC_MASK) ? magic & 0xffffn : undefined;
      throw new ForeignFileError(
        where,
        version === undefined
          ? "is not a raindrops metrics file"
          : `is a metrics file of layout version ${version}, but this version reads ${MAGIC & 0xffffn} ` +
            "(stop the workers using it and delete it)",
      );
    }
    // The first opener decides; a racing opener proposes the same value.
    const had = rd.compareExchange(REGIONS, 0, workerSlots);
    if (had > BigInt(MAX_WORKER_SLOTS)) {
      throw new ForeignFileError(where, `claims ${had} worker regions, more than the ${MAX_WORKER_SLOTS} allowed`);
    }
    return new Layout(had === 0n ? workerSlots : Number(had), Raindrops.SIZE);
  }

  /** Maps at least `bytes` of the file and renews the views. */
  #map(bytes: number): void {
    const slots = Math.ceil(bytes / Raindrops.SIZE);
    if (slots > this.#rd.size) this.#rd.size = slots;
    const { words, stride } = counterWords(this.#rd);
    const { buffer } = words;
    if (buffer === this.f64.buffer) return;
    this.#words = words;
    this.#stride = stride;
    this.f64 = new Float64Array(buffer);
    this.u64 = new BigUint64Array(buffer);
    this.u8 = new Uint8Array(buffer);
  }

  /** The file's path; undefined for anonymous memory. */
  get path(): string | undefined {
    return this.#rd.path;
  }

  /** Cells handed out so far (of every region). */
  get cellTop(): number {
    return this.#rd.get(CELL_TOP);
  }

  /** Heap bytes handed out so far. */
  get heapTop(): number {
    return this.#rd.get(HEAP_TOP);
  }

  /**
   * Hands out `count` cells (at most one segment's) that do not cross a
   * segment, growing the file; returns the first. Callers hold the record
   * log's turn (`_series_log.ts`), so no two take cells at once.
   */
  takeCells(count: number): number {
    let first = this.cellTop;
    const room = SEGMENT_CELLS - (first % SEGMENT_CELLS);
    if (count > room) first += room;
    this.#map(this.layout.bytesFor(first + count));
    this.#rd.set(CELL_TOP, first + count);
    return first;
  }

  /** Hands out `bytes` of heap; undefined when the heap is full. Same turn rule as {@link takeCells}. */
  takeHeap(bytes: number): number | undefined {
    const at = this.heapTop;
    if (at + bytes > HEAP_BYTES) return undefined;
    this.#rd.set(HEAP_TOP, at + bytes);
    return this.layout.heap + at;
  }

  /**
   * Maps every cell handed out so far (other processes may have grown the
   * file). A count no writer makes (more than every record could own) is a
   * ForeignFileError: nothing that size is mapped.
   */
  mapCells(): void {
    const top = this.cellTop, heap = this.heapTop;
    if (top > MAX_RECORDS * SEGMENT_CELLS || heap > HEAP_BYTES) {
      throw new ForeignFileError(
        this.path ?? "anonymous memory",
        `claims ${top} cells and ${heap} bytes of names, more than a metrics file holds`,
      );
    }
    this.#map(this.layout.bytesFor(top));
  }

  /** This thread's identity, as owner words hold it. */
  get identity(): bigint {
    return this.#identity;
  }

  /** True when region `r` was ever used (read without a BigInt: scrapes ask for every region). */
  used(r: number): boolean {
    const w = (HEADER + r) * this.#stride;
    return (this.#words[w] | this.#words[w + 1]) !== 0;
  }

  /** The owner word of region `r`. */
  owner(r: number): bigint {
    return this.#rd.getBigInt(HEADER + r);
  }

  /**
   * Claims a region for this thread: a released one, else one whose owner
   * is dead, else one never used, so the regions in use stay as few as the
   * workers alive at once. `clearGauges` zeroes the region's gauge cells
   * while it is marked {@link CLAIMING}, so readers never take a dead
   * owner's gauges for ours.
   */
  claimRegion(clearGauges: (region: number) => void): number {
    const rd = this.#rd, regions = this.layout.regions;
    const wanted = [
      (owner: bigint) => owner === RELEASED,
      (owner: bigint) => owner !== 0n && owner !== RELEASED && !alive(owner),
      (owner: bigint) => owner === 0n,
    ];
    for (const want of wanted) {
      for (let r = 0; r < regions; r++) {
        const owner = rd.getBigInt(HEADER + r);
        if (!want(owner)) continue;
        const mark = CLAIMING | this.#identity;
        if (rd.compareExchange(HEADER + r, owner, mark) !== owner) continue;
        clearGauges(r);
        rd.set(HEADER + r, this.#identity);
        return r;
      }
    }
    throw new ExhaustedError(
      `all ${regions} worker regions of ${this.path ?? "anonymous memory"} are held by live workers; ` +
        "use a new file with a larger `workerSlots`",
    );
  }

  /** Frees region `r` if this thread still owns it; its figures stay. */
  releaseRegion(r: number): void {
    if (!this.#closed) this.#rd.compareExchange(HEADER + r, this.#identity, RELEASED);
  }

  /** Unmaps the file (safe to call twice). Views become empty. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#rd.evaporate();
    this.f64 = new Float64Array(0);
    this.u64 = new BigUint64Array(0);
    this.u8 = new Uint8Array(0);
  }

  get closed(): boolean {
    return this.#closed;
  }
}
