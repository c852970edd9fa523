/**
 * Crash-safe `calling` and `writing` counters shared by every worker of a
 * server: one slot group per worker thread in a shared {@link Raindrops}
 * file, summed over the workers that are still alive.
 *
 * Layout of the file (each entry is one Raindrops counter, a cache line):
 *
 * - 0: magic and layout version; 1: number of slot groups;
 * - then per group: owner, calling, writing.
 *
 * The owner word is `tid << 41 | starttime` of the worker's OS thread (the
 * start time in clock ticks since boot, from `/proc/<tid>/stat`, so a reused
 * thread id is told apart), with bit 63 set while a group is being cleared.
 * A worker claims a free group with compareExchange. Whoever reads the
 * totals and finds an owner that no longer exists clears its group, so a
 * worker killed with SIGKILL mid-request stops counting at once.
 *
 * Thread ids and `/proc` are Linux, and all workers must share one pid
 * namespace (a container per worker would need its own file).
 *
 * @module
 */
import { claimHeader } from "../file_header.ts";
import { native } from "../native/library.ts";
import { Raindrops } from "../raindrops.ts";
import { NativeError, RaindropsError } from "../errors.ts";

/** "RDMW" and layout version 1. */
const MAGIC = 0x5244_4d57_0001n;
const HEADER = 2;
const GROUP = 3;
const OWNER = 0, CALLING = 1, WRITING = 2;
const START_BITS = 41n;
const START_MASK = (1n << START_BITS) - 1n;
const CLEARING = 1n << 63n;
const ID_MASK = CLEARING - 1n;

/** Default number of worker slot groups in a new file. */
export const DEFAULT_WORKERS = 128;

/** Options for {@link WorkerStats}. */
export interface WorkerStatsOptions {
  /**
   * Slot groups in a new file: the most worker threads that can count at
   * once (default 128). An existing file keeps the number it was made with.
   */
  workers?: number;
}

/** The totals over live workers. */
export interface WorkerTotals {
  /** Requests inside the app right now. */
  calling: number;
  /** Responses whose body is still being written. */
  writing: number;
  /** Worker threads holding a slot group. */
  workers: number;
}

/**
 * Start time of thread `tid`, or undefined once it is gone. Read by the
 * native side: Deno grants reading /proc/<pid> paths only with -A.
 */
function threadStart(tid: number): bigint | undefined {
  const start = native().rd_thread_start(tid);
  if (start === -2 /* ENOENT */ || start === -3 /* ESRCH */) return undefined;
  if (start < 0) throw new NativeError("reading a thread's start time", -start);
  return BigInt(start) & START_MASK;
}

/** The owner word of the calling OS thread. */
function currentIdentity(): bigint {
  const tid = native().rd_thread_id();
  const start = threadStart(tid);
  if (start === undefined) throw new RaindropsError(`cannot read /proc/${tid}/task/${tid}/stat`, "ENOENT", 2);
  return (BigInt(tid) << START_BITS) | start;
}

/** True when the thread named by an owner word (without the clearing bit) still runs. */
function alive(owner: bigint): boolean {
  const id = owner & ID_MASK;
  return threadStart(Number(id >> START_BITS)) === (id & START_MASK);
}

/**
 * This worker's counters in a shared stats file, and the totals over every
 * live worker sharing it. Open one per file and thread with
 * {@link WorkerStats.open}; it claims a slot group on creation.
 *
 * @example
 * ```ts
 * const stats = WorkerStats.open("/dev/shm/raindrops-myapp");
 * stats.incr(WorkerStats.CALLING);
 * stats.totals(); // { calling: 1, writing: 0, workers: 1 } (plus other workers)
 * stats.decr(WorkerStats.CALLING);
 * ```
 */
export class WorkerStats {
  /** Counter index argument for {@link incr}/{@link decr}: requests in the app. */
  static readonly CALLING = 0;
  /** Counter index argument for {@link incr}/{@link decr}: bodies being written. */
  static readonly WRITING = 1;

  static #open = new Map<string, WorkerStats>();

  /**
   * The WorkerStats of this thread for `path`, opening the file (created if
   * missing) and claiming a slot group on first use; later calls with the
   * same path return the same object.
   */
  static open(path: string, options: WorkerStatsOptions = {}): WorkerStats {
    let stats = WorkerStats.#open.get(path);
    if (!stats || stats.#released) {
      stats = new WorkerStats(path, options);
      WorkerStats.#open.set(path, stats);
    }
    return stats;
  }

  readonly #drops: Raindrops;
  readonly #identity: bigint;
  readonly #groups: number;
  /** Counter indices of this worker's calling and writing. */
  readonly #own: [number, number];
  #released = false;

  private constructor(path: string, options: WorkerStatsOptions) {
    if (typeof path !== "string") throw new TypeError(`stats path must be a string, got ${typeof path}`);
    if (options === null || typeof options !== "object") throw new TypeError("options must be an object");
    const workers = options.workers ?? DEFAULT_WORKERS;
    if (typeof workers !== "number") throw new TypeError(`workers must be a number, got ${typeof workers}`);
    if (!Number.isInteger(workers) || workers < 1 || workers > 65536) {
      throw new RangeError(`workers must be an integer from 1 to 65536, got ${workers}`);
    }
    this.#drops = new Raindrops(HEADER, { path });
    const magic = claimHeader(this.#drops, MAGIC);
    if (magic === null || (magic !== 0n && magic !== MAGIC)) {
      this.#drops.evaporate();
      throw new RangeError(`${path} is not a raindrops worker stats file (or has another layout version)`);
    }
    // The first opener decides the number of groups; a racing opener may
    // see 0 for an instant, so it proposes the same value with compareExchange.
    const had = this.#drops.compareExchange(1, 0, workers);
    this.#groups = had === 0n ? workers : Number(had);
    this.#drops.size = HEADER + this.#groups * GROUP;
    this.#identity = currentIdentity();
    const g = this.#claim();
    this.#own = [HEADER + g * GROUP + CALLING, HEADER + g * GROUP + WRITING];
  }

  /** Claims a free (or dead worker's) group for this thread; returns its number. */
  #claim(): number {
    const d = this.#drops;
    for (let pass = 0; pass < 2; pass++) {
      for (let g = 0; g < this.#groups; g++) {
        const at = HEADER + g * GROUP;
        const owner = d.getBigInt(at + OWNER);
        if (owner === this.#identity) return g; // ours already (reopened after a module reload)
        if (owner !== 0n) {
          if (pass === 0 || alive(owner)) continue;
          this.#clear(g, owner);
        }
        if (d.compareExchange(at + OWNER, 0, this.#identity) === 0n) {
          d.set(at + CALLING, 0);
          d.set(at + WRITING, 0);
          return g;
        }
      }
    }
    throw new RangeError(
      `all ${this.#groups} worker slots of ${d.path} are held by live workers; ` +
        `use a new file with a larger \`workers\``,
    );
  }

  /** Zeroes a dead owner's group and frees it, unless another worker got there first. */
  #clear(g: number, owner: bigint): void {
    const d = this.#drops, at = HEADER + g * GROUP;
    const mark = CLEARING | this.#identity;
    if (d.compareExchange(at + OWNER, owner, mark) !== owner) return;
    d.set(at + CALLING, 0);
    d.set(at + WRITING, 0);
    d.compareExchange(at + OWNER, mark, 0);
  }

  /** Adds `delta` (default 1) to this worker's {@link WorkerStats.CALLING} or {@link WorkerStats.WRITING}. */
  incr(which: 0 | 1, delta = 1): void {
    this.#drops.incr(this.#own[which], delta);
  }

  /** Subtracts `delta` (default 1) from this worker's {@link WorkerStats.CALLING} or {@link WorkerStats.WRITING}. */
  decr(which: 0 | 1, delta = 1): void {
    this.#drops.decr(this.#own[which], delta);
  }

  /** This worker's own counts. */
  own(): { calling: number; writing: number } {
    return { calling: this.#drops.get(this.#own[0]), writing: this.#drops.get(this.#own[1]) };
  }

  /**
   * Sums over live workers, clearing the groups of workers found dead
   * (each check reads `/proc/<tid>/task/<tid>/stat`).
   */
  totals(): WorkerTotals {
    const d = this.#drops;
    let calling = 0, writing = 0, workers = 0;
    for (let g = 0; g < this.#groups; g++) {
      const at = HEADER + g * GROUP;
      const owner = d.getBigInt(at + OWNER);
      if (owner === 0n) continue;
      if (owner === this.#identity || (!(owner & CLEARING) && alive(owner))) {
        calling += d.get(at + CALLING);
        writing += d.get(at + WRITING);
        workers++;
      } else if (!alive(owner)) {
        this.#clear(g, owner); // a dead owner, or a clearer that died mid-way
      }
    }
    return { calling, writing, workers };
  }

  /** The shared file. */
  get path(): string {
    return this.#drops.path!;
  }

  /** Slot groups in the file. */
  get groups(): number {
    return this.#groups;
  }

  /**
   * Frees this worker's group (for a graceful shutdown) and unmaps the
   * file; a later {@link WorkerStats.open} claims a group again.
   */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    const at = this.#own[0] - CALLING;
    this.#drops.set(this.#own[0], 0);
    this.#drops.set(this.#own[1], 0);
    this.#drops.compareExchange(at + OWNER, this.#identity, 0);
    this.#drops.evaporate();
  }

  /** {@link release}, for `using`. */
  [Symbol.dispose](): void {
    this.release();
  }

  /**
   * Each live worker's counts in the stats file at `path`, read without
   * claiming a slot group or clearing anything, for a reader that is not a
   * worker (the Watcher). A file not yet marked gives no workers; a file
   * of another kind is a RangeError.
   *
   * @example
   * ```ts
   * WorkerStats.perWorker("/dev/shm/raindrops-myapp"); // [{ tid: 4242, calling: 1, writing: 0 }]
   * ```
   */
  static perWorker(path: string): { tid: number; calling: number; writing: number }[] {
    if (typeof path !== "string") throw new TypeError(`stats path must be a string, got ${typeof path}`);
    const d = new Raindrops(HEADER, { path });
    try {
      const magic = d.getBigInt(0);
      if (magic === 0n) return [];
      const groups = d.getBigInt(1);
      if (magic !== MAGIC || groups > 65536n) {
        throw new RangeError(`${path} is not a raindrops worker stats file (or has another layout version)`);
      }
      d.size = HEADER + Number(groups) * GROUP;
      const rows: { tid: number; calling: number; writing: number }[] = [];
      for (let at = HEADER; at < d.size; at += GROUP) {
        const owner = d.getBigInt(at + OWNER);
        if (owner === 0n || (owner & CLEARING) !== 0n || !alive(owner)) continue;
        rows.push({ tid: Number(owner >> START_BITS), calling: d.get(at + CALLING), writing: d.get(at + WRITING) });
      }
      return rows;
    } finally {
      d.evaporate();
    }
  }
}
