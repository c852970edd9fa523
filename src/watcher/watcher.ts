/**
 * The Watcher: a Hono app that polls listener statistics, keeps per
 * listener an aggregate of active and of queued connections with its
 * peaks, streams a live tail and draws live charts (SPEC section 7).
 *
 * @module
 */
import { type Context, Hono } from "hono";
import type { BucketOptions } from "../aggregate/histogram.ts";
import { InetDiagSocket } from "../linux/diag_socket.ts";
import { checkListeners, kernelListenerStats, type ListenerStatsSource } from "../linux/listeners.ts";
import { aggregateHeaders, httpDate } from "./headers.ts";
import { CSP, detailPage, indexPage } from "./_pages.ts";
import { type Kind, ListenerState, type Tracked } from "./_state.ts";

export type { ListenerFigures, ListenerStatsSource } from "../linux/listeners.ts";

/** Options for {@link Watcher}. */
export interface WatcherOptions {
  /**
   * The listeners to watch: TCP `host:port` (`0.0.0.0:8080`, `[::1]:8080`)
   * or unix socket paths (`/run/app.sock`, abstract `@name`). By default
   * every TCP listener on the machine, looked up again at each poll: new
   * listeners appear, closed ones (and their statistics) go.
   */
  listeners?: readonly string[];
  /** Seconds between polls, default 1. */
  delay?: number;
  /** Bucket layout of the active and queued aggregates; default 32 power-of-two buckets. */
  buckets?: BucketOptions;
  /** Polls kept per listener for the charts and the JSON series, default 600. */
  history?: number;
  /** Longest a tail response streams before it ends, in seconds; default 3600 (clients reconnect). */
  tailMaxSeconds?: number;
  /** Replaces the kernel as the source of figures (tests, remote sources). */
  stats?: ListenerStatsSource;
}

const KINDS: readonly Kind[] = ["active", "queued"];
const DEFAULT_HISTORY = 600;
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
 * given listeners (default every TCP listener) and keeps per listener an
 * aggregate of active and of queued connections, when each peak was
 * first and last reached, and the time of the last reset. A timer drives
 * the polls: `close()` (or `using`) stops it and ends every tail.
 *
 * Endpoints (ADDR URL-escaped, e.g. `127.0.0.1%3A8080`):
 * - `GET /`: HTML table of every listener (active, queued, a live chart,
 *   links, a reset button); Last-Modified and Expires headers.
 * - `GET /active/ADDR.txt|.html`, `GET /queued/ADDR.txt|.html`: summary and
 *   histogram with X-Count, X-Min, X-Max, X-Mean, X-Std-Dev,
 *   X-Outliers-Low, X-Outliers-High (each once defined: X-Std-Dev needs
 *   two polls), X-Current, X-Last-Reset, X-First-Peak-At, X-Last-Peak-At
 *   (HTTP dates); the HTML page draws live charts over time and of the
 *   histogram.
 * - `GET /tail/ADDR.txt?active_min=N&queued_min=N[&limit=N]`: streamed,
 *   one line per poll `TIMESTAMP ADDR ACTIVE QUEUED` when
 *   `active >= active_min` and `queued >= queued_min`; it ends when the
 *   client leaves, after `limit` lines, after `tailMaxSeconds`, or on
 *   `close()`. (Bun 1.4 holds back a streamed response's head until its
 *   first chunk, so there a tail's headers arrive with its first line.)
 * - `POST /reset/ADDR`: clears that listener's statistics and answers 303
 *   to the Referer (same origin) or the index. A request whose Origin
 *   header names another host gets 403.
 * - `GET /series.json?points=N`, `GET /series/ADDR.json?points=N`: the
 *   JSON the pages' charts are drawn from.
 *
 * An address that is not watched answers 404 and creates no state. Every
 * name shown in HTML is escaped; pages carry their CSS, script and SVG
 * inline and a Content-Security-Policy that forbids loading anything else.
 *
 * @example
 * ```ts
 * using watcher = new Watcher({ listeners: ["127.0.0.1:8080"], delay: 1 });
 * Deno.serve({ hostname: "127.0.0.1", port: 9418 }, watcher.fetch);
 * // or mount it: app.route("/watcher", watcher.app);
 * ```
 */
export class Watcher implements Disposable {
  /** The Hono app serving every endpoint; mount it with `app.route(path, watcher.app)`. */
  readonly app: Hono;
  /** Seconds between polls. */
  readonly delay: number;
  readonly #listeners: readonly string[] | undefined;
  readonly #buckets: BucketOptions | undefined;
  readonly #history: number;
  readonly #tailMs: number;
  readonly #source: ListenerStatsSource;
  readonly #states = new Map<string, ListenerState>();
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
    const history = positive(options.history, "history", DEFAULT_HISTORY);
    if (!Number.isInteger(history) || history > MAX_HISTORY) {
      throw new RangeError(`history must be an integer from 1 to ${MAX_HISTORY}, got ${history}`);
    }
    this.#history = history;
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
      if (this.#listeners === undefined) {
        for (const name of this.#states.keys()) if (!figures.has(name)) this.#states.delete(name);
      }
      for (const [name, f] of figures) {
        let st = this.#states.get(name);
        if (st === undefined) {
          if (this.#listeners !== undefined) continue; // only what was asked for
          st = new ListenerState(this.#buckets, this.#history, now);
          this.#states.set(name, st);
        }
        st.record(f.active, f.queued, now);
      }
      this.#lastError = undefined;
    } catch (e) {
      // Runs from a timer: a bad source must never take the process down.
      this.#lastError = e instanceof Error ? e : new Error(String(e));
      return false;
    }
    this.#lastPoll = now;
    this.#wake(now);
    return true;
  }

  /** The watched listeners' names, in the order they were first seen. */
  get listeners(): string[] {
    return [...this.#states.keys()];
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
    const h = aggregateHeaders(t.aggregate, { eager: true });
    h["X-Current"] = String(t.current);
    h["X-Last-Reset"] = httpDate(st.lastReset);
    if (t.firstPeakAt) h["X-First-Peak-At"] = httpDate(t.firstPeakAt);
    if (t.lastPeakAt) h["X-Last-Peak-At"] = httpDate(t.lastPeakAt);
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
      return html(c, indexPage(base, this.delay, this.#states, this.#lastPoll, error), this.#cacheHeaders());
    };
    app.get("/", watcherIndex);

    const watcherSeries = (c: Context) => {
      const points = countParam(c, "points", INDEX_POINTS);
      if (points === undefined) return c.text("points must be a non-negative integer\n", 400);
      const listeners = [...this.#states].map(([addr, st]) => ({
        addr,
        active: st.active.current,
        queued: st.queued.current,
        points: st.points(points),
      }));
      return c.json({ time: this.#lastPoll, delay: this.delay, listeners }, 200, { "Cache-Control": "no-store" });
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
      const host = c.req.header("Host") ?? new URL(c.req.url).host;
      if (origin !== undefined && origin !== "null") {
        let originHost = "";
        try {
          originHost = new URL(origin).host;
        } catch { /* malformed: refused below */ }
        if (originHost !== host) return c.text("Forbidden: cross-origin reset\n", 403);
      }
      const found = named(c, "");
      if (!found) return notFound(c);
      found[1].reset(Date.now());
      let back = baseOf(c, "/reset/");
      const referer = c.req.header("Referer");
      if (referer) {
        try {
          const r = new URL(referer);
          if (r.host === host) back = r.pathname + r.search;
        } catch { /* malformed: back to the index */ }
      }
      return c.text(`Redirecting to ${back}\n`, 303, { Location: back });
    };
    app.post("/reset/:name{.+}", watcherReset);

    app.notFound(notFound);
    return app;
  }
}
