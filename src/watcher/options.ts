/**
 * The options of the Watcher.
 *
 * @module
 */
import type { BucketOptions } from "../aggregate/histogram.ts";
import type { ListenStatsSource } from "../linux/listeners.ts";
import type { WorkerStats } from "../worker_stats.ts";

/**
 * Options for `Watcher`.
 *
 * @example
 * ```ts
 * import { Watcher, type WatcherOptions } from "@raindrops/raindrops/hono";
 *
 * const options: WatcherOptions = { listeners: ["127.0.0.1:8080"], delay: 1, maxTails: 8 };
 * using watcher = new Watcher(options);
 * ```
 */
export interface WatcherOptions {
  /**
   * The listeners to watch: TCP `host:port` (`0.0.0.0:8080`, `[::1]:8080`)
   * or unix socket paths (`/run/app.sock`, abstract `@name`). By default
   * every TCP and every unix listener on the machine, looked up again at
   * each poll: new listeners appear, closed ones (and their statistics) go,
   * up to `maxListeners`.
   */
  listeners?: readonly string[];
  /**
   * Most listeners held and drawn, default 100. Watching every listener on
   * a machine with more, the Watcher keeps those it already follows, takes
   * new ones while there is room (busiest first, TCP before unix), and
   * makes room for a listener with connections by dropping one that has had
   * none; the index and `/series.json` say how many are left out. A longer
   * `listeners` list is a RangeError.
   */
  maxListeners?: number;
  /** Seconds between polls, default 1. */
  delay?: number;
  /** Bucket layout of the active and queued aggregates; default 32 power-of-two buckets. */
  buckets?: BucketOptions;
  /** Polls kept per listener for the charts and the JSON series, default 600. */
  history?: number;
  /**
   * Longest a tail response streams before it ends, in seconds; default
   * 3600 (clients reconnect). A timer ends it then, whether or not its
   * client reads.
   */
  tailMaxSeconds?: number;
  /** Most tail responses streaming at once, default 32; beyond it a tail request gets 503. */
  maxTails?: number;
  /**
   * Host names (without port) under which `POST /reset` is accepted besides
   * IP addresses and `localhost`, e.g. `["watcher.example.com"]`. A reset
   * under any other Host is refused, so a page reaching the Watcher through
   * DNS rebinding cannot reset it.
   */
  hosts?: readonly string[];
  /**
   * The middleware's stats file (the `stats` given to the `raindrops`
   * middleware), as a path or an open `WorkerStats`: the index then also
   * shows the workers' calling and writing, in total and per worker, with
   * charts over time. Read without becoming one of its workers; a missing
   * file shows as such until it appears.
   */
  stats?: string | WorkerStats;
  /**
   * The source of listener figures, default the kernel (through
   * sock_diag); another source for tests or remote figures.
   */
  listenStats?: ListenStatsSource;
}
