/**
 * The Watcher's options checked once, before any timer starts: TypeError
 * for a wrong type, RangeError for a bad value, each naming the option.
 *
 * @module
 */
import { BucketLayout, type BucketOptions } from "../aggregate/histogram.ts";
import { hostRule } from "../http/host_rule.ts";
import { checkListeners, type ListenStatsSource } from "../linux/listeners.ts";
import { WorkerStats } from "../worker_stats.ts";
import type { WatcherOptions } from "./options.ts";

/** The options checked, with their defaults filled in. */
export interface WatcherSettings {
  /** The listeners given, or undefined to watch every listener. */
  readonly listeners: readonly string[] | undefined;
  readonly maxListeners: number;
  /** Seconds between polls. */
  readonly delay: number;
  readonly buckets: BucketOptions | undefined;
  readonly history: number;
  readonly tailMaxSeconds: number;
  readonly maxTails: number;
  /** Whether a Host header may reset. */
  readonly allowedHost: (host: string | null | undefined) => boolean;
  /** The path of the stats file to read workers from. */
  readonly stats: string | undefined;
  /** The figures source given, or undefined for the kernel. */
  readonly listenStats: ListenStatsSource | undefined;
}

const DEFAULT_HISTORY = 600;
const DEFAULT_MAX_LISTENERS = 100;
const DEFAULT_MAX_TAILS = 32;
const DEFAULT_TAIL_SECONDS = 3600;
const MAX_LIMIT = 100_000;
const MAX_HISTORY = 1_000_000;
/** The longest delay a JS timer honours, in seconds. */
const MAX_TIMER_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

function positive(value: unknown, what: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number") throw new TypeError(`${what} must be a number, got ${typeof value}`);
  if (!(value > 0) || !Number.isFinite(value)) {
    throw new RangeError(`${what} must be a positive finite number, got ${value}`);
  }
  return value;
}

function count(value: unknown, what: string, fallback: number, max: number): number {
  const n = positive(value, what, fallback);
  if (!Number.isInteger(n) || n > max) throw new RangeError(`${what} must be an integer from 1 to ${max}, got ${n}`);
  return n;
}

function statsPath(value: unknown, what: string): string | undefined {
  if (value === undefined) return undefined;
  if (value instanceof WorkerStats) return value.path;
  if (typeof value !== "string") throw new TypeError(`${what} must be a path or a WorkerStats`);
  if (value === "" || value.includes("\0")) throw new RangeError(`bad ${what} path ${JSON.stringify(value)}`);
  return value;
}

/** Checks `options` and fills in the defaults. */
export function watcherSettings(options: WatcherOptions): WatcherSettings {
  if (options === null || typeof options !== "object") throw new TypeError("options must be an object");
  const listeners = options.listeners === undefined ? undefined : checkListeners(options.listeners);
  const delay = positive(options.delay, "delay", 1);
  // Timers take 1 ms to 2^31-1 ms; outside that they fire every 1 ms.
  if (delay < 0.001 || delay > MAX_TIMER_SECONDS) {
    throw new RangeError(`delay must be from 0.001 to ${MAX_TIMER_SECONDS} seconds, got ${delay}`);
  }
  const history = count(options.history, "history", DEFAULT_HISTORY, MAX_HISTORY);
  const maxListeners = count(options.maxListeners, "maxListeners", DEFAULT_MAX_LISTENERS, MAX_LIMIT);
  if (listeners !== undefined && listeners.length > maxListeners) {
    throw new RangeError(`${listeners.length} listeners given, more than maxListeners (${maxListeners})`);
  }
  const maxTails = count(options.maxTails, "maxTails", DEFAULT_MAX_TAILS, MAX_LIMIT);
  const allowedHost = hostRule(options.hosts);
  const stats = statsPath(options.stats, "stats");
  const tailMaxSeconds = positive(options.tailMaxSeconds, "tailMaxSeconds", DEFAULT_TAIL_SECONDS);
  if (tailMaxSeconds > MAX_TIMER_SECONDS) {
    throw new RangeError(`tailMaxSeconds must be at most ${MAX_TIMER_SECONDS}, got ${tailMaxSeconds}`);
  }
  if (options.listenStats !== undefined && typeof options.listenStats !== "function") {
    throw new TypeError("listenStats must be a function");
  }
  BucketLayout.from(options.buckets); // a bad layout throws here, before any timer
  return {
    listeners,
    maxListeners,
    delay,
    buckets: options.buckets,
    history,
    tailMaxSeconds,
    maxTails,
    allowedHost,
    stats,
    listenStats: options.listenStats,
  };
}
