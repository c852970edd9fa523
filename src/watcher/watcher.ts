/**
 * The Watcher: a Hono app that polls listener statistics, keeps per
 * listener an aggregate of active and of queued connections with its
 * peaks, streams a live tail and draws live charts.
 *
 * @module
 */
import { type Context, Hono } from "hono";
import type { BucketOptions } from "../aggregate/histogram.ts";
import { InetDiagSocket } from "../linux/diag_socket.ts";
import { checkListeners, isUnixListener, kernelListenerStats, type ListenStatsSource } from "../linux/listeners.ts";
import { statSync } from "node:fs";
import { hostRule } from "../http/host_rule.ts";
import { WorkerStats } from "../worker_stats.ts";
import { aggregateHeaders } from "../aggregate/headers.ts";
import { httpDate } from "./headers.ts";
import { CSP, detailPage, indexPage } from "./_pages.ts";
import { type Kind, ListenerState, type Tracked } from "./_state.ts";
import { WorkersState } from "./_workers.ts";

export type { ListenStatsSource } from "../linux/listeners.ts";

/** Options for {@link Watcher}. */
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
  /** Longest a tail response streams before it ends, in seconds; default 3600 (clients reconnect). */
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
   * Path of a middleware stats file (the `stats` path given to the
   * `raindrops` middleware): the index then also shows the workers' calling and
   * writing, in total and per worker, with charts over time. Read without
   * becoming one of its workers; a missing file shows as such until it
   * appears.
   */
  workerStats?: string;
  /** Replaces the kernel as the source of figures (tests, remote sources). */
  stats?: ListenStatsSource;
}

const KINDS: readonly Kind[] = ["active", "queued"];
const DEFAULT_HISTORY = 600;
const DEFAULT_MAX_LISTENERS = 100;
const MAX_LIMIT = 100_000;
const DEFAULT_MAX_TAILS = 32;
const INDEX_POINTS = 120;
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

/** A listener with connections now sorts first: queued, then active, then TCP before unix. */
function busiestFirst(
  [a, fa]: [string, { readonly active: number; readonly queued: number }],
  [b, fb]: [string, { readonly active: number; readonly queued: number }],
): number {
  return fb.queued - fa.queued || fb.active - fa.active || Number(isUnixListener(a)) - Number(isUnixListener(b));
}

/**
 * True for an absolute path on this host: one leading slash. `//x` and
 * `/\x` would send a browser to the host `x`.
 */
function isLocalPath(path: string): boolean {
  return path.startsWith("/") && path[1] !== "/" && path[1] !== "\\";
}

/** ISO 8601 to the second, as the tail prints it. */
function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** A non-negative integer query parameter, or `fallback` when absent; undefined when malformed. */
function countParam(c: Context, name: string, fallback: number): number | undefined {
  const text = c.req.query(name);
  if (text === undefined || text === "") return fallback;
  if (!/^[0-9]{1,15}$/.test(text)) return undefined;
  return Number(text);
}

/**
 * The absolute path the Watcher app is mounted at, ending in "/", for a
 * handler whose route is `<mount><marker>...`: the mount has as many path
 * segments in the request as in the route (which may hold parameters).
 */
function baseOf(c: Context, marker: string): string {
  // c.req.routePath, not hono/route's helper: that module only exists from Hono 4.8.
  const route = c.req.routePath;
  const prefix = route.slice(0, route.lastIndexOf(marker));
  const depth = prefix === "" ? 0 : prefix.split("/").length - 1;
  return new URL(c.req.url).pathname.split("/").slice(0, depth + 1).join("/") + "/";
}

/**
 * A stand-alone Hono app watching listen queues, after the gem's
 * `Raindrops::Watcher`. It polls every `delay` seconds (default 1) the
 * given listeners (default every TCP and unix listener, at most
 * `maxListeners`) and keeps per listener an aggregate of active and of
 * queued connections, when each peak (a value above 0 reaching the
 * maximum) was first and last seen, and the time of the last reset. With
 * `workerStats` it also follows the workers of a middleware stats file. A
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
 *   client leaves, after `limit` lines, after `tailMaxSeconds`, or on
 *   `close()`. Beyond `maxTails` tails at once, 503 with Retry-After.
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
  readonly #listeners: readonly string[] | undefined;
  readonly #buckets: BucketOptions | undefined;
  readonly #history: number;
  readonly #tailMs: number;
  readonly #source: ListenStatsSource;
  readonly #allowedHost: (host: string | null | undefined) => boolean;
  readonly #states = new Map<string, ListenerState>();
  readonly #workers: WorkersState | undefined;
  #omitted = 0;
  readonly #waiters = new Set<(time: number | null) => void>();
  #socket: InetDiagSocket | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #lastPoll = 0;
  #lastError: Error | undefined;
  #closed = false;
  #tails = 0;

  /**
   * Validates the options (TypeError for wrong types, RangeError for bad
   * values such as an unparsable address or `delay <= 0`), polls once and
   * starts the timer.
   */
  constructor(options: WatcherOptions = {}) {
    if (options === null || typeof options !== "object") throw new TypeError("options must be an object");
    this.#listeners = options.listeners === undefined ? undefined : [...checkListeners(options.listeners)];
    this.delay = positive(options.delay, "delay", 1);
    // Timers take 1 ms to 2^31-1 ms; outside that they fire every 1 ms.
    if (this.delay < 0.001 || this.delay > MAX_TIMER_SECONDS) {
      throw new RangeError(`delay must be from 0.001 to ${MAX_TIMER_SECONDS} seconds, got ${this.delay}`);
    }
    this.#history = count(options.history, "history", DEFAULT_HISTORY, MAX_HISTORY);
    this.maxListeners = count(options.maxListeners, "maxListeners", DEFAULT_MAX_LISTENERS, MAX_LIMIT);
    if (this.#listeners !== undefined && this.#listeners.length > this.maxListeners) {
      throw new RangeError(`${this.#listeners.length} listeners given, more than maxListeners (${this.maxListeners})`);
    }
    this.maxTails = count(options.maxTails, "maxTails", DEFAULT_MAX_TAILS, MAX_LIMIT);
    this.#allowedHost = hostRule(options.hosts);
    if (options.workerStats !== undefined) {
      if (typeof options.workerStats !== "string") throw new TypeError("workerStats must be a path");
      if (options.workerStats === "" || options.workerStats.includes("\0")) {
        throw new RangeError(`bad workerStats path ${JSON.stringify(options.workerStats)}`);
      }
      this.#workers = new WorkersState(options.workerStats, this.#history);
    }
    const tailSeconds = positive(options.tailMaxSeconds, "tailMaxSeconds", 3600);
    if (tailSeconds > MAX_TIMER_SECONDS) {
      throw new RangeError(`tailMaxSeconds must be at most ${MAX_TIMER_SECONDS}, got ${tailSeconds}`);
    }
    this.#tailMs = tailSeconds * 1000;
    if (options.stats !== undefined && typeof options.stats !== "function") {
      throw new TypeError("stats must be a function");
    }
    this.#buckets = options.buckets;
    new ListenerState(this.#buckets, 0, 0); // a bad bucket layout throws here, before any timer
    this.#source = options.stats ?? ((l) => kernelListenerStats(l, this.#socket ??= new InetDiagSocket()));
    const now = Date.now();
    for (const l of this.#listeners ?? []) this.#states.set(l, new ListenerState(this.#buckets, this.#history, now));
    this.app = this.#routes();
    this.fetch = (request: Request, env?: unknown) => this.app.fetch(request, env);
    this.poll();
    this.#timer = setInterval(() => this.poll(), this.delay * 1000);
  }

  /** The app's fetch handler, bound, for `Deno.serve(watcher.fetch)` or `Bun.serve({ fetch: watcher.fetch })`. */
  readonly fetch: (request: Request, env?: unknown) => Response | Promise<Response>;

  /**
   * Reads the figures once now and records them (the timer calls this);
   * returns false, keeping the error in {@link lastError}, if reading failed.
   */
  poll(): boolean {
    if (this.#closed) return false;
    const now = Date.now();
    try {
      const figures = this.#source(this.#listeners);
      if (!(figures instanceof Map)) throw new TypeError("the stats source must return a Map");
      for (const [name, f] of figures) {
        if (!Number.isSafeInteger(f?.active) || !Number.isSafeInteger(f?.queued) || f.active < 0 || f.queued < 0) {
          throw new RangeError(`the stats source gave ${name} non-count figures: ${JSON.stringify(f)}`);
        }
      }
      if (this.#listeners === undefined) this.#follow(figures, now);
      for (const [name, f] of figures) this.#states.get(name)?.record(f.active, f.queued, now);
      this.#lastError = undefined;
    } catch (e) {
      // Runs from a timer: a bad source must never take the process down.
      this.#lastError = e instanceof Error ? e : new Error(String(e));
    }
    if (this.#workers) this.#readWorkers(this.#workers, now);
    if (this.#lastError) return false;
    this.#lastPoll = now;
    this.#wake(now);
    return true;
  }

  /**
   * Watching every listener: drops the closed ones and picks which of the
   * new ones to follow within {@link maxListeners}.
   */
  #follow(figures: ReturnType<ListenStatsSource>, now: number): void {
    for (const name of this.#states.keys()) if (!figures.has(name)) this.#states.delete(name);
    const start = (name: string) => this.#states.set(name, new ListenerState(this.#buckets, this.#history, now));
    if (figures.size > this.#states.size) {
      let room = this.maxListeners - this.#states.size;
      const idle = room > 0 ? [] : [...this.#states].filter(([, st]) => st.idle).map(([name]) => name);
      const busy = [...figures].filter(([name, f]) => f.active + f.queued > 0 && !this.#states.has(name));
      for (const [name] of busy.sort(busiestFirst)) {
        if (room > 0) room--;
        else if (idle.length > 0) this.#states.delete(idle.pop()!);
        else break;
        start(name);
      }
      if (room > 0) {
        const quiet = [...figures].filter(([name]) => !this.#states.has(name));
        for (const [name] of quiet.sort(busiestFirst).slice(0, room)) start(name);
      }
    }
    this.#omitted = figures.size - this.#states.size;
  }

  /** Reads the middleware's stats file; a failure is shown with the workers, never thrown. */
  #readWorkers(workers: WorkersState, now: number): void {
    try {
      if (!statSync(workers.path).isFile()) throw new TypeError(`${workers.path} is not a regular file`);
      workers.record(WorkerStats.perWorker(workers.path), now);
    } catch (e) {
      const code = (e as { code?: unknown } | null)?.code;
      workers.error = code === "ENOENT" ? "no stats file yet" : e instanceof Error ? e.message : String(e);
    }
  }

  /** The watched listeners' names, in the order they were first seen. */
  get listeners(): string[] {
    return [...this.#states.keys()];
  }

  /** Listeners the last poll found but the Watcher does not follow (beyond {@link maxListeners}). */
  get omitted(): number {
    return this.#omitted;
  }

  /** ms since the epoch of the last successful poll (0 before it). */
  get lastPoll(): number {
    return this.#lastPoll;
  }

  /** Why the last poll failed, or undefined when it succeeded. */
  get lastError(): Error | undefined {
    return this.#lastError;
  }

  /** Tail responses streaming now. */
  get tails(): number {
    return this.#tails;
  }

  /** True once {@link close} has run. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Stops polling, ends every tail and closes the netlink socket; later calls do nothing. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#wake(null);
    this.#socket?.close();
    this.#socket = undefined;
  }

  /** Same as {@link close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  #wake(time: number | null): void {
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const w of waiters) w(time);
  }

  /** The time of the next poll; null if closed, aborted or past `deadline` first. */
  #nextPoll(signal: AbortSignal, deadline: number): Promise<number | null> {
    if (this.#closed || signal.aborted) return Promise.resolve(null);
    return new Promise((resolve) => {
      const done = (time: number | null) => {
        this.#waiters.delete(done);
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
        resolve(time);
      };
      const onAbort = () => done(null);
      const timer = setTimeout(onAbort, Math.max(0, deadline - Date.now()));
      signal.addEventListener("abort", onAbort, { once: true });
      this.#waiters.add(done);
    });
  }

  #cacheHeaders(): Record<string, string> {
    const at = this.#lastPoll || Date.now();
    return { "Last-Modified": httpDate(at), "Expires": httpDate(at + this.delay * 1000) };
  }

  #kindHeaders(st: ListenerState, t: Tracked): Record<string, string> {
    const h = aggregateHeaders(t.aggregate, { always: true });
    h["X-Current"] = String(t.current);
    h["X-Last-Reset"] = httpDate(st.lastReset);
    // Before any peak above 0, both name the start of these statistics (the gem's name its start).
    h["X-First-Peak-At"] = httpDate(t.firstPeakAt || st.lastReset);
    h["X-Last-Peak-At"] = httpDate(t.lastPeakAt || st.lastReset);
    return h;
  }

  #kindJSON(t: Tracked) {
    const agg = t.aggregate;
    const rows: { label: string; count: number }[] = [];
    const layout = agg.layout;
    if (agg.outliersLow > 0) rows.push({ label: layout.label(-1), count: agg.outliersLow });
    const buckets = [...agg.buckets()];
    let first = 0, last = buckets.length - 1;
    while (first < buckets.length && buckets[first].count === 0) first++;
    while (last >= first && buckets[last].count === 0) last--;
    for (let i = first; i <= last; i++) rows.push({ label: layout.label(i), count: buckets[i].count });
    if (agg.outliersHigh > 0) rows.push({ label: layout.label(layout.size), count: agg.outliersHigh });
    return {
      ...agg.toJSON(),
      current: t.current,
      firstPeakAt: t.firstPeakAt || null,
      lastPeakAt: t.lastPeakAt || null,
      rows,
      chart: agg.chart(),
    };
  }

  /**
   * The tail body. The server cancels it when the client leaves (both
   * runtimes do, even while no line is due); cancelling aborts the wait.
   */
  #tail(addr: string, activeMin: number, queuedMin: number, limit: number): ReadableStream<Uint8Array> {
    const encoder = new TextEncoder();
    const deadline = Date.now() + this.#tailMs;
    const stop = new AbortController();
    let open = true;
    this.#tails++;
    const cleanup = () => {
      if (!open) return;
      open = false;
      this.#tails--;
      stop.abort();
    };
    let sent = 0;
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        // Each turn waits for one poll; the deadline, close() or the client leaving ends it.
        while (sent < limit) {
          const time = await this.#nextPoll(stop.signal, deadline);
          const st = this.#states.get(addr);
          if (time === null || st === undefined) break;
          const active = st.active.current, queued = st.queued.current;
          if (active >= activeMin && queued >= queuedMin) {
            sent++;
            controller.enqueue(encoder.encode(
              `${isoSeconds(time)} ${addr} ${String(active).padStart(10)} ${String(queued).padStart(10)}\n`,
            ));
            return;
          }
        }
        cleanup();
        controller.close();
      },
      cancel: cleanup,
    }, { highWaterMark: 0 });
  }

  #routes(): Hono {
    const app = new Hono();
    const notFound = (c: Context) => c.text("Not Found\n", 404);
    const html = (c: Context, body: string, headers: Record<string, string>) =>
      c.html(body, 200, { ...headers, "Content-Security-Policy": CSP, "Cache-Control": "no-cache" });
    /** The watched listener named by the route's `name` parameter, minus `suffix`. */
    const named = (c: Context, suffix: string): [string, ListenerState] | undefined => {
      const name = c.req.param("name") ?? "";
      if (!name.endsWith(suffix)) return undefined;
      const addr = name.slice(0, name.length - suffix.length);
      const st = this.#states.get(addr);
      return st === undefined ? undefined : [addr, st];
    };

    const watcherIndex = (c: Context) => {
      const path = new URL(c.req.url).pathname;
      const base = path.endsWith("/") ? path : path + "/";
      const error = this.#lastError?.message;
      const page = indexPage(base, this.delay, this.#states, this.#lastPoll, {
        error,
        omitted: this.#omitted,
        maxListeners: this.maxListeners,
        workers: this.#workers,
      });
      return html(c, page, this.#cacheHeaders());
    };
    app.get("/", watcherIndex);

    const watcherSeries = (c: Context) => {
      const points = countParam(c, "points", INDEX_POINTS);
      const since = countParam(c, "since", 0);
      if (points === undefined || since === undefined) {
        return c.text("points and since must be non-negative integers\n", 400);
      }
      const listeners = [...this.#states].map(([addr, st]) => ({
        addr,
        active: st.active.current,
        queued: st.queued.current,
        lastReset: st.lastReset,
        points: st.points(points, since),
      }));
      const body = {
        time: this.#lastPoll,
        delay: this.delay,
        maxListeners: this.maxListeners,
        omitted: this.#omitted,
        listeners,
        workers: this.#workers?.toJSON(points, since) ?? null,
      };
      return c.json(body, 200, { "Cache-Control": "no-store" });
    };
    app.get("/series.json", watcherSeries);

    const watcherListenerSeries = (c: Context) => {
      const found = named(c, ".json");
      if (!found) return notFound(c);
      const points = countParam(c, "points", Infinity);
      if (points === undefined) return c.text("points must be a non-negative integer\n", 400);
      const [addr, st] = found;
      return c.json(
        {
          addr,
          time: this.#lastPoll,
          delay: this.delay,
          lastReset: st.lastReset,
          points: st.points(points),
          active: this.#kindJSON(st.active),
          queued: this.#kindJSON(st.queued),
        },
        200,
        { "Cache-Control": "no-store" },
      );
    };
    app.get("/series/:name{.+}", watcherListenerSeries);

    for (const kind of KINDS) {
      const marker = `/${kind}/`;
      const watcherDetail = (c: Context) => {
        const txt = named(c, ".txt");
        const found = txt ?? named(c, ".html");
        if (!found) return notFound(c);
        const [addr, st] = found;
        const t = st.get(kind);
        const headers = { ...this.#cacheHeaders(), ...this.#kindHeaders(st, t) };
        if (txt) return c.text(t.aggregate.chart(), 200, headers);
        return html(c, detailPage(baseOf(c, marker), this.delay, kind, addr, st), headers);
      };
      app.get(`${marker}:name{.+}`, watcherDetail);
    }

    const watcherTail = (c: Context) => {
      const found = named(c, ".txt");
      if (!found) return notFound(c);
      const activeMin = countParam(c, "active_min", 0);
      const queuedMin = countParam(c, "queued_min", 0);
      const limit = countParam(c, "limit", Infinity);
      if (activeMin === undefined || queuedMin === undefined || limit === undefined) {
        return c.text("active_min, queued_min and limit must be non-negative integers\n", 400);
      }
      if (this.#tails >= this.maxTails) {
        return c.text(`Too many tails: at most ${this.maxTails} stream at once\n`, 503, {
          "Retry-After": String(Math.ceil(this.delay)),
        });
      }
      const body = this.#tail(found[0], activeMin, queuedMin, limit);
      return c.body(body, 200, {
        "Content-Type": "text/plain; charset=utf-8",
        "Cache-Control": "no-cache, no-transform",
        "Expires": httpDate(0),
        "X-Accel-Buffering": "no",
      });
    };
    app.get("/tail/:name{.+}", watcherTail);

    const watcherReset = (c: Context) => {
      const origin = c.req.header("Origin");
      const hostHeader = c.req.header("Host");
      const host = hostHeader ?? new URL(c.req.url).host;
      if (origin !== undefined) {
        // "null" (sandboxed frames, data: pages, cross-origin redirects) does not parse: refused.
        let originHost = "";
        try {
          originHost = new URL(origin).host;
        } catch { /* malformed: refused below */ }
        if (originHost !== host.toLowerCase()) return c.text("Forbidden: cross-origin reset\n", 403);
      }
      if (!this.#allowedHost(hostHeader)) {
        return c.text(
          `Forbidden: reset under Host ${
            JSON.stringify(hostHeader)
          }; use an IP address, localhost, or a name in \`hosts\`\n`,
          403,
        );
      }
      const found = named(c, "");
      if (!found) return notFound(c);
      found[1].reset(Date.now());
      let back = baseOf(c, "/reset/");
      const referer = c.req.header("Referer");
      if (referer) {
        try {
          const r = new URL(referer);
          if (r.host === host && isLocalPath(r.pathname)) back = r.pathname + r.search;
        } catch { /* malformed: back to the index */ }
      }
      return c.text(`Redirecting to ${back}\n`, 303, { Location: back });
    };
    app.post("/reset/:name{.+}", watcherReset);

    app.notFound(notFound);
    return app;
  }
}
