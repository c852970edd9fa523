/**
 * The two counts the middleware keeps (`calling`, `writing`), over either
 * a crash-safe per-worker stats file or plain shared counters.
 *
 * @module
 */
import { defaultStatsPath } from "../stats_path.ts";
import { WorkerStats } from "../worker_stats.ts";
import { placeDefaultRegistry, register, Registry } from "../metrics/registry.ts";

/**
 * Counters the middleware can use instead of a stats file: anything with
 * `incr`/`decr`/`get` of `"calling"` and `"writing"`, such as an instance of
 * `Struct(["calling", "writing"])`. Such counters are shared but not crash
 * safe (as in the gem): a worker that dies mid-request leaves them raised.
 */
export interface CallingWritingCounters {
  /** Raises a count by `delta` (default 1). */
  incr(member: "calling" | "writing", delta?: number): unknown;
  /** Lowers a count by `delta` (default 1). */
  decr(member: "calling" | "writing", delta?: number): unknown;
  /** A count's current value. */
  get(member: "calling" | "writing"): number;
}

/** Indices of the counts, as {@link WorkerStats} numbers them (finished requests only rise). */
export const CALLING = WorkerStats.CALLING, WRITING = WorkerStats.WRITING, FINISHED = WorkerStats.FINISHED;

/** The counting operations the middleware needs. */
export interface Counters {
  incr(which: typeof CALLING | typeof WRITING | typeof FINISHED, delta?: number): void;
  decr(which: typeof CALLING | typeof WRITING, delta?: number): void;
  totals(): { calling: number; writing: number; workers?: number };
  /** Finished requests, ever (stats files only). */
  finished?(): number;
  /** The stats file (stats files only). */
  readonly path?: string;
}

/** Where the counts live, as the `stats`, `name` and `workerSlots` options say. */
export interface CountersOptions {
  stats?: string | WorkerStats | CallingWritingCounters;
  name?: string;
  workerSlots?: number;
}

/** Opens or adapts the counters the options name; TypeError for anything else. */
export function countersFrom(options: CountersOptions): Counters {
  const s = options.stats;
  // The default registry (your own metrics) lives beside the stats file, so
  // the stats endpoint shows both.
  if (s instanceof WorkerStats) {
    placeDefaultRegistry(s.path);
    return s;
  }
  if (s === undefined || typeof s === "string") {
    const path = s ?? defaultStatsPath(options.name);
    placeDefaultRegistry(path);
    return WorkerStats.open(path, { workers: options.workerSlots });
  }
  if (typeof s === "object" && s !== null && typeof s.incr === "function" && typeof s.get === "function") {
    const names = ["calling", "writing"] as const;
    return {
      incr: (w, delta = 1) => {
        if (w === FINISHED) return; // plain counters keep no finished count
        if (delta === 1) s.incr(names[w]);
        else s.incr(names[w], delta);
      },
      decr: (w, delta = 1) => {
        if (delta === 1) s.decr(names[w]);
        else s.decr(names[w], delta);
      },
      totals: () => ({ calling: s.get("calling"), writing: s.get("writing") }),
    };
  }
  throw new TypeError("stats must be a path, a WorkerStats or an object with incr/decr/get of calling and writing");
}

/** Registries of this thread for stats files the default registry is not beside, by metrics file path. */
const beside = new Map<string, Registry>();

/**
 * The registry of the metrics file beside `counters`' stats file
 * (`<stats>.metrics`): the default registry when it is there, else one
 * registry per file for this thread; the default registry for plain
 * counters (no file).
 */
export function registryOf(counters: Counters): Registry {
  if (!(counters instanceof WorkerStats)) return register;
  const path = `${counters.path}.metrics`;
  if (placeDefaultRegistry(counters.path)) return register;
  let registry = beside.get(path);
  if (registry === undefined) beside.set(path, registry = new Registry({ path }));
  return registry;
}
