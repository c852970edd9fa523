/**
 * Crash-safe `calling` and `writing` counters shared by every worker of a
 * server: one slot group per worker thread in a shared {@link Raindrops}
 * file, summed over the workers that are still alive; and a count of
 * finished requests that never goes down, whichever workers die.
 *
 * Layout of the file (each entry is one Raindrops counter, a cache line):
 *
 * - 0: the file's mark (see file_header.ts); 1: number of slot groups;
 *   2 and 3: unused;
 * - then per group: owner, calling, writing, finished.
 *
 * The owner word is `tid << 41 | starttime` of the worker's OS thread (the
 * start time in clock ticks since boot, from `/proc/<tid>/stat`, so a reused
 * thread id is told apart), with bit 63 set while a group is being cleared.
 * A worker claims a free group with compareExchange. Whoever reads the
 * totals and finds an owner that no longer exists clears its group, so a
 * worker killed with SIGKILL mid-request stops counting at once. Clearing
 * zeroes `calling` and `writing` only: a group's finished count stays in
 * the group and its next owner goes on counting from it, so the sum of
 * finished requests only grows, and no count ever moves: a clearer killed
 * or stopped at any point can neither lose nor double one.
 *
 * Thread ids and `/proc` are Linux, and all workers must share one pid
 * namespace (a container per worker would need its own file).
 *
 * @module
 */
import { claimHeader, readHeader } from "./file_header.ts";
import { currentThreadId, threadStartTicks } from "./native/thread.ts";
import { counterWords, Raindrops } from "./raindrops.ts";
import { ExhaustedError, ForeignFileError, RaindropsError } from "./errors.ts";

/** The file's mark: "RDMW" and 2. */
const MAGIC = 0x5244_4d57_0002n;
const KIND = "raindrops worker stats";
const GROUPS = 1;
const HEADER = 4;
const GROUP = 4;
// Offsets of a group's slots (not the public counter indexes below).
const SLOT_OWNER = 0, SLOT_CALLING = 1, SLOT_WRITING = 2, SLOT_FINISHED = 3;
const START_BITS = 41n;
const START_MASK = (1n << START_BITS) - 1n;
const CLEARING = 1n << 63n;
const ID_MASK = CLEARING - 1n;

/** Default number of worker slot groups in a new file. */
export const DEFAULT_WORKERS = 128;
/** The most slot groups a file may have (a header saying more is refused). */
export const MAX_WORKERS = 4096;

/** Options for {@link WorkerStats}. */
export interface WorkerStatsOptions {
  /**
   * Slot groups in a new file: the most worker threads that can count at
   * once (default 128, at most {@link MAX_WORKERS}). An existing file keeps
   * the number it was made with.
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

/** Start time of thread `tid` as an owner word holds it, or undefined once it is gone. */
function threadStart(tid: number): bigint | undefined {
  const start = threadStartTicks(tid);
  return start === undefined ? undefined : BigInt(start) & START_MASK;
}

/** The owner word of the calling OS thread. */
export function currentIdentity(): bigint {
  const tid = currentThreadId();
  const start = threadStart(tid);
  if (start === undefined) throw new RaindropsError(`cannot read /proc/${tid}/task/${tid}/stat`, "ENOENT", 2);
  return (BigInt(tid) << START_BITS) | start;
}

/** True when the thread named by an owner word (without the clearing bit) still runs. */
export function alive(owner: bigint): boolean {
  const id = owner & ID_MASK;
  return threadStart(Number(id >> START_BITS)) === (id & START_MASK);
}

/**
 * The number of slot groups of the worker stats file `d` whose header
 * holds `magic` (as claimHeader or readHeader returned it; 0n: not set up
 * yet, and 0 groups), after checking that it is one. Throws
 * ForeignFileError for another kind of file or a forged group count (too
 * many groups would make us map gigabytes).
 */
function groupsOf(d: Raindrops, magic: bigint, path: string): number {
  if (magic === 0n) return 0;
  if (magic !== MAGIC) throw new ForeignFileError(path, `is not a ${KIND} file (delete it if it is a stale one)`);
  const groups = d.getBigInt(GROUPS);
  if (groups > BigInt(MAX_WORKERS)) {
    throw new ForeignFileError(path, `claims ${groups} worker slot groups, more than the ${MAX_WORKERS} allowed`);
  }
  return Number(groups);
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
 * stats.incr(WorkerStats.FINISHED);
 * stats.finished(); // 1 (plus every other worker's, past and present)
 * ```
 */
export class WorkerStats {
  /** Counter index argument for {@link incr}/{@link decr}: requests in the app. */
  static readonly CALLING = 0;
  /** Counter index argument for {@link incr}/{@link decr}: bodies being written. */
  static readonly WRITING = 1;
  /** Counter index argument for {@link incr}: requests finished (only ever raised). */
  static readonly FINISHED = 2;

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
  /** Counter indices of this worker's calling, writing and finished. */
  readonly #own: [number, number, number];
  /**
   * The low words of those counters in {@link #words}: only this thread
   * writes them (other workers touch a group only once its owner is dead),
   * so a plain store is a whole update for readers, who load all 64 bits at
   * once; a carry or borrow takes the atomic path. Empty once released.
   */
  #ownWords: readonly number[];
  readonly #words: Int32Array;
  #released = false;

  private constructor(path: string, options: WorkerStatsOptions) {
    if (typeof path !== "string") throw new TypeError(`stats path must be a string, got ${typeof path}`);
    if (options === null || typeof options !== "object") throw new TypeError("options must be an object");
    const workers = options.workers ?? DEFAULT_WORKERS;
    if (typeof workers !== "number") throw new TypeError(`workers must be a number, got ${typeof workers}`);
    if (!Number.isInteger(workers) || workers < 1 || workers > MAX_WORKERS) {
      throw new RangeError(`workers must be an integer from 1 to ${MAX_WORKERS}, got ${workers}`);
    }
    this.#drops = new Raindrops(HEADER, { path });
    try {
      groupsOf(this.#drops, claimHeader(this.#drops, MAGIC, KIND), path);
      // The first opener decides the number of groups; a racing opener may
      // see 0 for an instant, so it proposes the same value with compareExchange.
      this.#drops.compareExchange(GROUPS, 0, workers);
      this.#groups = groupsOf(this.#drops, MAGIC, path); // before the mapping grows
    } catch (e) {
      this.#drops.evaporate();
      throw e;
    }
    this.#drops.size = HEADER + this.#groups * GROUP;
    this.#identity = currentIdentity();
    const at = HEADER + this.#claim() * GROUP;
    this.#own = [at + SLOT_CALLING, at + SLOT_WRITING, at + SLOT_FINISHED];
    const { words, stride } = counterWords(this.#drops);
    this.#words = words;
    this.#ownWords = this.#own.map((i) => i * stride);
  }

  /** Claims a free (or dead worker's) group for this thread; returns its number. */
  #claim(): number {
    const d = this.#drops;
    for (let pass = 0; pass < 2; pass++) {
      for (let g = 0; g < this.#groups; g++) {
        const at = HEADER + g * GROUP;
        const owner = d.getBigInt(at + SLOT_OWNER);
        if (owner === this.#identity) return g; // ours already (reopened after a module reload)
        if (owner !== 0n) {
          if (pass === 0 || alive(owner)) continue;
          this.#clear(g, owner);
        }
        if (d.compareExchange(at + SLOT_OWNER, 0, this.#identity) === 0n) {
          d.set(at + SLOT_CALLING, 0);
          d.set(at + SLOT_WRITING, 0);
          return g;
        }
      }
    }
    throw new ExhaustedError(
      `all ${this.#groups} worker slots of ${d.path} are held by live workers; ` +
        `use a new file with a larger \`workers\``,
    );
  }

  /**
   * Zeroes a dead owner's `calling` and `writing` and frees its group,
   * unless another worker got there first. Its finished count stays for the
   * group's next owner to go on from.
   */
  #clear(g: number, owner: bigint): void {
    const d = this.#drops, at = HEADER + g * GROUP;
    const mark = CLEARING | this.#identity;
    if (d.compareExchange(at + SLOT_OWNER, owner, mark) !== owner) return;
    d.set(at + SLOT_CALLING, 0);
    d.set(at + SLOT_WRITING, 0);
    d.compareExchange(at + SLOT_OWNER, mark, 0);
  }

  /**
   * Adds `delta` (default 1) to this worker's {@link WorkerStats.CALLING},
   * {@link WorkerStats.WRITING} or {@link WorkerStats.FINISHED}.
   */
  incr(which: 0 | 1 | 2, delta = 1): void {
    const w = which === 0 || which === 1 || which === 2 ? this.#ownWords[which] : undefined;
    if (w !== undefined && typeof delta === "number" && (delta >>> 0) === delta) {
      const sum = (this.#words[w] >>> 0) + delta;
      if (sum <= 0xffffffff) {
        this.#words[w] = sum;
        return;
      }
    }
    this.#drops.incr(this.#index(which, 3), delta); // a carry, a bad delta or released: the checked path
  }

  /** Subtracts `delta` (default 1) from this worker's {@link WorkerStats.CALLING} or {@link WorkerStats.WRITING}. */
  decr(which: 0 | 1, delta = 1): void {
    const w = which === 0 || which === 1 ? this.#ownWords[which] : undefined;
    if (w !== undefined && typeof delta === "number" && (delta >>> 0) === delta) {
      const diff = (this.#words[w] >>> 0) - delta;
      if (diff >= 0) {
        this.#words[w] = diff;
        return;
      }
    }
    this.#drops.decr(this.#index(which, 2), delta); // a borrow, a bad delta or released: the checked path
  }

  /** The counter index of `which`, one of the first `count` of CALLING, WRITING, FINISHED; RangeError otherwise. */
  #index(which: unknown, count: 2 | 3): number {
    if (which === 0 || which === 1 || (which === 2 && count === 3)) return this.#own[which];
    if (typeof which !== "number") throw new TypeError(`which must be a number, got ${typeof which}`);
    const allowed = count === 3 ? "CALLING, WRITING or FINISHED" : "CALLING or WRITING (finished requests only rise)";
    throw new RangeError(`which must be WorkerStats.${allowed}, got ${which}`);
  }

  /** This worker's own counts. */
  own(): { calling: number; writing: number } {
    return { calling: this.#drops.get(this.#own[0]), writing: this.#drops.get(this.#own[1]) };
  }

  /**
   * Requests finished by every worker that ever used the file: the sum of
   * every group's count, each of which only grows (it stays in its group
   * across owners), so the sum never goes down while the file exists and
   * suits a Prometheus counter.
   */
  finished(): number {
    const d = this.#drops;
    let sum = 0n;
    for (let g = 0; g < this.#groups; g++) sum += d.getBigInt(HEADER + g * GROUP + SLOT_FINISHED);
    return Number(sum);
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
      const owner = d.getBigInt(at + SLOT_OWNER);
      if (owner === 0n) continue;
      if (owner === this.#identity || (!(owner & CLEARING) && alive(owner))) {
        calling += d.get(at + SLOT_CALLING);
        writing += d.get(at + SLOT_WRITING);
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
    this.#ownWords = [];
    const at = this.#own[0] - SLOT_CALLING;
    this.#clear((at - HEADER) / GROUP, this.#identity);
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
   * of another kind is a ForeignFileError.
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
      const groups = groupsOf(d, readHeader(d, MAGIC, KIND), path);
      if (groups === 0) return [];
      d.size = HEADER + groups * GROUP;
      const rows: { tid: number; calling: number; writing: number }[] = [];
      for (let at = HEADER; at < d.size; at += GROUP) {
        const owner = d.getBigInt(at + SLOT_OWNER);
        if (owner === 0n || (owner & CLEARING) !== 0n || !alive(owner)) continue;
        rows.push({
          tid: Number(owner >> START_BITS),
          calling: d.get(at + SLOT_CALLING),
          writing: d.get(at + SLOT_WRITING),
        });
      }
      return rows;
    } finally {
      d.evaporate();
    }
  }
}
