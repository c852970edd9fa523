/**
 * The Watcher: a Hono app that polls listener statistics, keeps per
 * listener an aggregate of active and of queued connections with its
 * peaks, streams a live tail and draws live charts. This class ties its
 * parts together: checked options, the poller, the followed listeners, the
 * workers of a stats file, the tails and the routes.
 *
 * @module
 */
import type { Hono } from "hono";
import { InetDiagSocket } from "../linux/diag_socket.ts";
import { kernelListenerStats, type ListenStatsSource, nothingListens } from "../linux/listeners.ts";
import { type Unlistened, WatchedListeners } from "./_listeners.ts";
import { Poller } from "./_poller.ts";
import { watcherRoutes } from "./_routes.ts";
import { watcherSettings } from "./_settings.ts";
import { Tailer } from "./_tail.ts";
import { WatchedWorkers } from "./_workers.ts";
import type { WatcherOptions } from "./options.ts";

export type { WatcherOptions } from "./options.ts";
// Transitional, for hono.ts until it exports ListenStatsSource from src/linux/listeners.ts: remove then.
export type { ListenStatsSource } from "../linux/listeners.ts";

/**
 * A stand-alone Hono app watching listen queues, after the gem's
 * `Raindrops::Watcher`. It polls every `delay` seconds (default 1) the
 * given listeners (default every TCP and unix listener, at most
 * `maxListeners`) and keeps per listener an aggregate of active and of
 * queued connections, when each peak (a value above 0 reaching the
 * maximum) was first and last seen, and the time of the last reset. With
 * `stats` it also follows the workers of a middleware stats file. A
 * timer drives the polls: `close()` (or `using`) stops it and ends every
 * tail.
 *
 * Endpoints (ADDR URL-escaped, e.g. `127.0.0.1%3A8080`):
 * - `GET /`: HTML table of every listener (active, queued, a live chart,
 *   links, a reset button), how many listeners are left out, and the
 *   workers' calling and writing (total and per worker, live charts) when
 *   a stats file is read; Last-Modified and Expires headers.
 * - `GET /active/ADDR.txt|.html`, `GET /queued/ADDR.txt|.html`: summary and
 *   histogram with every one of X-Count, X-Min, X-Max, X-Mean, X-Std-Dev,
 *   X-Outliers-Low, X-Outliers-High (`NaN` where undefined: X-Std-Dev
 *   below two polls, the others without any), X-Current, X-Last-Reset,
 *   X-First-Peak-At, X-Last-Peak-At (HTTP dates; both peak times are the
 *   last reset until a peak); the HTML page draws live charts over time
 *   and of the histogram.
 * - `GET /tail/ADDR.txt?active_min=N&queued_min=N[&limit=N]`: streamed,
 *   one line per poll `TIMESTAMP ADDR ACTIVE QUEUED` when
 *   `active >= active_min` and `queued >= queued_min`; it ends when the
 *   client leaves, after `limit` lines, after `tailMaxSeconds` (a timer,
 *   whether or not the client reads), or on `close()`. Beyond `maxTails`
 *   tails at once, 503 with Retry-After. `HEAD` answers the headers and
 *   takes no slot.
 *   (Bun 1.4 holds back a streamed response's head until its first chunk,
 *   so there a tail's headers arrive with its first line.)
 * - `POST /reset/ADDR`: clears that listener's statistics and answers 303
 *   to the Referer's path (same host, one leading slash) or the index.
 *   403 for an Origin other than the Host (`Origin: null` included) and
 *   for a Host that is not an IP address, `localhost` or in `hosts`.
 * - `GET /series.json?points=N[&since=MS]`, `GET /series/ADDR.json?points=N`:
 *   the JSON the pages' charts are drawn from (the index's also carries
 *   `omitted`, `maxListeners` and `workers`; with `since`, only the polls
 *   after that time, so the index fetches each point once).
 *
 * A watched address no listening socket takes connections for (a typo'd
 * port) is marked on the index and has `listening: false` in the JSON.
 * An address that is not watched answers 404 and creates no state. Every
 * name shown in HTML is escaped; pages carry their CSS, script and SVG
 * inline and a Content-Security-Policy that forbids loading anything else.
 *
 * @example
 * ```ts
 * import { Watcher } from "@raindrops/raindrops/hono";
 * // Polls every second until watcher.close() (a top-level `using` would close it at once).
 * const watcher = new Watcher({ listeners: ["127.0.0.1:8080"], delay: 1 });
 * Deno.serve({ hostname: "127.0.0.1", port: 9418 }, watcher.fetch);
 * // or mount it: app.route("/watcher", watcher.app);
 * ```
 */
export class Watcher implements Disposable {
  /** The Hono app serving every endpoint; mount it with `app.route(path, watcher.app)`. */
  readonly app: Hono;
  /** Seconds between polls. */
  readonly delay: number;
  /** Most listeners held and drawn. */
  readonly maxListeners: number;
  /** Most tails streaming at once. */
  readonly maxTails: number;
  /** The app's fetch handler, bound, for `Deno.serve(watcher.fetch)` or `Bun.serve({ fetch: watcher.fetch })`. */
  readonly fetch: (request: Request, env?: unknown) => Response | Promise<Response>;
  readonly #listeners: WatchedListeners;
  readonly #poller: Poller;
  readonly #tailer: Tailer;
  #socket: InetDiagSocket | undefined;

  /**
   * Validates the options (TypeError for wrong types, RangeError for bad
   * values such as an unparsable address or `delay <= 0`), polls once and
   * starts the timer.
   */
  constructor(options: WatcherOptions = {}) {
    const settings = watcherSettings(options);
    this.delay = settings.delay;
    this.maxListeners = settings.maxListeners;
    this.maxTails = settings.maxTails;
    const socket = () => this.#socket ??= new InetDiagSocket();
    const source: ListenStatsSource = settings.listenStats ?? ((l) => kernelListenerStats(l, socket()));
    // A source's word is taken as given; the kernel is asked whether a wildcard takes the address.
    const unlistened: Unlistened = settings.listenStats
      ? (_, f) => f.listeners === 0
      : (name, f) => nothingListens(name, f, socket());
    const listeners = this.#listeners = new WatchedListeners(settings.listeners, settings, Date.now());
    const workers = settings.stats === undefined ? undefined : new WatchedWorkers(settings.stats, settings.history);
    this.#poller = new Poller(settings.delay, (now) => {
      try {
        listeners.record(source(listeners.asked), now, unlistened);
      } finally {
        workers?.read(now);
      }
    });
    this.#tailer = new Tailer(settings.maxTails, settings.tailMaxSeconds, this.#poller, listeners);
    this.app = watcherRoutes({ settings, listeners, workers, poller: this.#poller, tailer: this.#tailer });
    this.fetch = (request: Request, env?: unknown) => this.app.fetch(request, env);
    this.#poller.start();
  }

  /**
   * Reads the figures once now and records them (the timer calls this);
   * returns false, keeping the error in {@link lastError}, if reading failed.
   */
  poll(): boolean {
    return this.#poller.poll();
  }

  /** The watched listeners' names, in the order they were first seen. */
  get listeners(): string[] {
    return [...this.#listeners.entries()].map(([name]) => name);
  }

  /** Listeners the last poll found but the Watcher does not follow (beyond {@link maxListeners}). */
  get omitted(): number {
    return this.#listeners.omitted;
  }

  /** ms since the epoch of the last successful poll (0 before it). */
  get lastPoll(): number {
    return this.#poller.lastPoll;
  }

  /** Why the last poll failed, or undefined when it succeeded. */
  get lastError(): Error | undefined {
    return this.#poller.lastError;
  }

  /** Tail responses streaming now. */
  get tails(): number {
    return this.#tailer.count;
  }

  /** True once {@link close} has run. */
  get closed(): boolean {
    return this.#poller.closed;
  }

  /** Stops polling, ends every tail and closes the netlink socket; later calls do nothing. */
  close(): void {
    if (this.#poller.closed) return;
    this.#poller.close();
    this.#tailer.close();
    this.#socket?.close();
    this.#socket = undefined;
  }

  /** Same as {@link close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}
