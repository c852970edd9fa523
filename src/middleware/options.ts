/**
 * The middleware's options, checked once when `raindrops()` or
 * `withRaindrops()` is called, so a bad option fails at setup and never at
 * request time.
 *
 * @module
 */
import { type AllowOption, compileAllow } from "./access.ts";
import type { CallingWritingCounters } from "./counters.ts";
import { FORMATS, type StatsFormat } from "./format.ts";
import { type PrometheusOptions, type PrometheusStyle, prometheusStyle } from "../exposition/metric_families.ts";
import { checkListeners, kernelListenerStats, type ListenStatsSource } from "../linux/listeners.ts";
import { type Connection, connectionOf } from "../server/connection.ts";
import type { RequestView } from "../server/request_view.ts";
import type { WorkerStats } from "../worker_stats.ts";
import { hostRule } from "../http/host_rule.ts";
import { DEFAULT_BUCKETS } from "../metrics/histogram.ts";

/**
 * Options for `raindrops()` and `withRaindrops()`. `C` is what the `allow`
 * and `connection` callbacks are given: a Hono `Context` under
 * `app.use(raindrops())`, a {@link RequestView} under `withRaindrops`.
 */
export interface RaindropsMiddlewareOptions<C extends RequestView = RequestView> {
  /**
   * Where the counts live: a path of a shared stats file, an open
   * {@link WorkerStats}, or plain {@link CallingWritingCounters}. Default:
   * the file named by `defaultStatsPath` (env `RAINDROPS_STATS`, else
   * `/dev/shm/raindrops-<uid>/<name>`), so workers started separately from
   * the same script share it.
   */
  stats?: string | WorkerStats | CallingWritingCounters;
  /** The `<name>` of the default stats path (see `defaultStatsPath`). */
  name?: string;
  /** Worker slot groups when the middleware creates the stats file (default 128); the JSON's `workers` is the live count. */
  workerSlots?: number;
  /** The stats endpoint (default `/_raindrops`). */
  path?: string;
  /**
   * Listeners to report: `host:port` (`[addr]:port` for IPv6), unix socket
   * paths and abstract `@names` (checked now: a bad one is a RangeError
   * here), or `"auto"` (default): the listener of the server that answers
   * the stats request, found from the request's own connection.
   */
  listeners?: readonly string[] | "auto";
  /**
   * Reads listen-queue figures, given the listeners to report; default: the
   * kernel (`kernelListenerStats`, sock_diag). `false` prints no listener
   * lines.
   */
  listenStats?: ListenStatsSource | false;
  /** Format when neither `?format=` nor `Accept` picks one (default `"text"`). */
  format?: StatsFormat;
  /** Metric-name prefix and constant labels of the Prometheus formats. */
  prometheus?: PrometheusOptions;
  /** Who may read the endpoint (default `"loopback"`); see {@link AllowOption}. */
  allow?: AllowOption<C>;
  /**
   * Host header names the endpoint answers besides IP literals and
   * `localhost`, or `"any"`. A web page that rebinds its own DNS name to
   * 127.0.0.1 reaches a loopback-only endpoint from the user's browser with
   * its name in Host, so with the default `allow: "loopback"` other names
   * get 403 unless listed here. Default: `[]` with the default `allow`,
   * `"any"` when `allow` is given (who may read is then the user's choice,
   * and scrapers address servers by name).
   */
  hosts?: readonly string[] | "any";
  /**
   * The request's connection, whose `remoteAddress` `allow` checks: for
   * servers whose `env` does not carry it, or behind a proxy (e.g.
   * `(c) => ({ remoteAddress: c.req.header("x-real-ip") ?? "", remotePort: 0 })`).
   * Default: read from `env` by shape (`connectionOf`). The own listener of
   * `listeners: "auto"` is still found from `env`, the socket the server
   * holds.
   */
  connection?: (c: C) => Connection | undefined;
  /**
   * How the end of a body is detected. A response counts in `writing` only
   * while an end that JS will see is pending, so `writing` never exceeds
   * the responses that left the app and are not finished. `"auto"`
   * (default), by the shape of the server's `env`:
   * - `env.completed` is a promise (Deno.serve, `deno serve`): `writing`
   *   falls when it settles: for a streamed body once the server has taken
   *   its last chunk (the rest is in the kernel's buffers) or the
   *   connection is gone, but for a fixed-length body (bytes, text) as soon
   *   as the server takes it, before it is sent, so a body the server
   *   takes whole is not counted at all; use `"wrap"` to follow those too;
   * - `env.pendingRequests` is a number (Bun.serve's Server): Bun tells JS
   *   the end of no response, and a body's kind (whole or streamed) only by
   *   converting it, so no body is counted: `writing` stays 0 on Bun; use
   *   `"wrap"` to follow bodies there;
   * - otherwise as `"wrap"`: the body is re-streamed in pieces, each handed
   *   to the server when it asks for more, through a ReadableStream whose
   *   end, error and cancel each release `writing` once; it costs throughput
   *   and follows every body kind on every server.
   */
  bodyTracking?: "auto" | "wrap";
  /**
   * `raindrops_request_duration_seconds`, a histogram of the time each
   * request spends inside the app (until it returns a response or throws;
   * a throw counts as `5xx`), labelled `method` (`GET`, `HEAD`, `POST`,
   * `PUT`, `DELETE`, `PATCH`, `OPTIONS`, else `OTHER`) and `status` class
   * (`2xx`...). `true` or its options turn it on (default off: timing
   * each request costs two clock reads, measured in the README).
   */
  requestDuration?: boolean | RequestDurationOptions;
  /**
   * `raindrops_busy_seconds_total`, the integral of `calling` over time
   * (default `false`; it times each request as `requestDuration` does, and
   * costs little more once that is on): `rate()` of it over the number of
   * workers is their utilization. Each worker adds its requests' time at each request's
   * start and end and on a 1 s tick, so a request still running at a
   * scrape counts up to its worker's last tick.
   */
  busySeconds?: boolean;
  /**
   * Peaks over a recent window, shown the same to every scraper and never
   * reset by a read (default `true`): `raindrops_calling_requests_max`,
   * each live worker's largest `calling` summed (at least the peak of the
   * total, equal when the workers peak together), and
   * `raindrops_listener_queued_connections_max`, the largest `queued` of
   * each listener reported (`listeners`), sampled from the kernel by each
   * worker every `intervalMs`.
   */
  peaks?: boolean | PeaksOptions;
  /**
   * `raindrops_queue_wait_seconds`, the time from a proxy's
   * `X-Request-Start` to the app (default `false`: turn it on only behind
   * a proxy that sets the header, since clients can send it too). Values
   * in the future (clock skew) or above `maxSeconds` are dropped and
   * counted in `raindrops_queue_wait_dropped_total{reason}`.
   */
  queueWait?: boolean | QueueWaitOptions;
  /**
   * At the stats endpoint's Prometheus formats (default `true`, read only
   * when scraped): the network namespace's `raindrops_listen_overflows_total`
   * and `raindrops_listen_drops_total` (`/proc/net/netstat`), and each
   * listener's `raindrops_listener_syn_recv_connections` (sock_diag).
   */
  kernelDrops?: boolean;
}

/** Options of {@link RaindropsMiddlewareOptions.requestDuration}. */
export interface RequestDurationOptions {
  /** Bucket bounds in seconds (default prom-client's, 5 ms to 10 s). */
  buckets?: readonly number[];
  /**
   * Add a `route` label: the route pattern the router matched (Hono's
   * `c.req.routePath`, e.g. `/users/:id`, never the URL), under
   * `app.use(raindrops())` only: `withRaindrops` sees no route and refuses
   * it with a TypeError (default `false`).
   */
  route?: boolean;
  /** The most label sets kept (default 1000); more go to the overflow set (`__overflow__`). */
  maxLabelSets?: number;
}

/** Options of {@link RaindropsMiddlewareOptions.peaks}. */
export interface PeaksOptions {
  /** How far back the peaks reach, in ms (default 60000). */
  windowMs?: number;
  /** How often each worker folds its peaks and samples `queued`, in ms (default 1000). */
  intervalMs?: number;
}

/** Options of {@link RaindropsMiddlewareOptions.queueWait}. */
export interface QueueWaitOptions {
  /** The header (default `x-request-start`). */
  header?: string;
  /** Waits above this many seconds are dropped (default 60). */
  maxSeconds?: number;
  /** Bucket bounds in seconds (default 1 ms to 10 s). */
  buckets?: readonly number[];
}

/** The request metrics turned on, with defaults filled in (`false` for off). */
export interface RequestMetricsSettings {
  readonly duration: false | {
    readonly buckets?: readonly number[];
    readonly route: boolean;
    readonly maxLabelSets?: number;
  };
  readonly busy: boolean;
  readonly peaks: false | { readonly windowMs: number; readonly intervalMs: number };
  readonly queueWait: false | {
    readonly header: string;
    readonly maxSeconds: number;
    readonly buckets: readonly number[];
  };
  readonly kernelDrops: boolean;
}

/** Default buckets of the queue wait, in seconds: the duration's, with two below 5 ms (a queue wait is often shorter). */
export const QUEUE_WAIT_BUCKETS: readonly number[] = Object.freeze([0.001, 0.0025, ...DEFAULT_BUCKETS]);

/** `value` as an options object: `true`/undefined as `{}` when on by default. */
function switchOf<T extends object>(name: string, value: boolean | T | undefined, on: boolean): T | false {
  if (value === undefined) return on ? {} as T : false;
  if (value === true) return {} as T;
  if (value === false) return false;
  if (value === null || typeof value !== "object") {
    throw new TypeError(`${name} must be a boolean or an options object`);
  }
  return value;
}

function positive(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number") throw new TypeError(`${name} must be a number, got ${typeof value}`);
  if (!(value > 0 && value < Infinity)) throw new RangeError(`${name} must be a positive number, got ${value}`);
  return value;
}

/** Checks the request metrics' options. */
function requestMetricsFrom(options: RaindropsMiddlewareOptions<never>): RequestMetricsSettings {
  const d = switchOf<RequestDurationOptions>("requestDuration", options.requestDuration, false);
  if (d && d.route !== undefined && typeof d.route !== "boolean") {
    throw new TypeError("requestDuration.route must be a boolean");
  }
  const duration = d && { buckets: d.buckets, route: d.route ?? false, maxLabelSets: d.maxLabelSets };
  const busy = options.busySeconds ?? false;
  if (typeof busy !== "boolean") throw new TypeError("busySeconds must be a boolean");
  const p = switchOf<PeaksOptions>("peaks", options.peaks, true);
  const peaks = p &&
    {
      windowMs: positive("peaks.windowMs", p.windowMs, 60_000),
      intervalMs: positive("peaks.intervalMs", p.intervalMs, 1000),
    };
  if (peaks && peaks.windowMs < peaks.intervalMs) {
    throw new RangeError("peaks.windowMs must be at least peaks.intervalMs");
  }
  const q = switchOf<QueueWaitOptions>("queueWait", options.queueWait, false);
  if (
    q && q.header !== undefined && (typeof q.header !== "string" || !/^[!#$%&'*+.^_`|~0-9a-zA-Z-]+$/.test(q.header))
  ) {
    throw new TypeError("queueWait.header must be a header name");
  }
  const queueWait = q && {
    header: (q.header ?? "x-request-start").toLowerCase(),
    maxSeconds: positive("queueWait.maxSeconds", q.maxSeconds, 60),
    buckets: q.buckets ?? QUEUE_WAIT_BUCKETS,
  };
  const kernelDrops = options.kernelDrops ?? true;
  if (typeof kernelDrops !== "boolean") throw new TypeError("kernelDrops must be a boolean");
  return { duration, busy, peaks, queueWait, kernelDrops };
}

/** The options checked, with defaults filled in. */
export interface MiddlewareSettings<C extends RequestView> {
  readonly path: string;
  readonly format: StatsFormat;
  readonly prometheus: PrometheusStyle;
  readonly listeners: readonly string[] | "auto";
  readonly listenStats: ListenStatsSource | false;
  readonly connection: (c: C) => Connection | undefined;
  readonly allowed: (address: string | undefined, c: C) => boolean | Promise<boolean>;
  /** Whether a Host header is one the endpoint answers. */
  readonly allowedHost: (host: string | undefined) => boolean;
  readonly bodyTracking: "auto" | "wrap";
  readonly requestMetrics: RequestMetricsSettings;
}

/** Checks `options`: TypeError for a wrong type, RangeError for a bad value. */
export function settingsFrom<C extends RequestView>(options: RaindropsMiddlewareOptions<C>): MiddlewareSettings<C> {
  if (options === null || typeof options !== "object") throw new TypeError("options must be an object");
  const path = options.path ?? "/_raindrops";
  if (typeof path !== "string") throw new TypeError(`path must be a string, got ${typeof path}`);
  if (!path.startsWith("/")) throw new RangeError(`path must start with "/", got "${path}"`);
  const format = options.format ?? "text";
  if (!FORMATS.includes(format)) throw new RangeError(`format must be one of ${FORMATS.join(", ")}`);
  const listeners = options.listeners === undefined || options.listeners === "auto"
    ? "auto"
    : checkListeners(options.listeners);
  const listenStats = options.listenStats === undefined ? kernelListenerStats : options.listenStats;
  if (listenStats !== false && typeof listenStats !== "function") {
    throw new TypeError("listenStats must be a function or false");
  }
  const connection = options.connection ?? connectionOf;
  if (typeof connection !== "function") throw new TypeError("connection must be a function");
  const bodyTracking = options.bodyTracking ?? "auto";
  if (bodyTracking !== "auto" && bodyTracking !== "wrap") {
    throw new RangeError(`bodyTracking must be "auto" or "wrap"`);
  }
  const allowed = compileAllow<C>(options.allow);
  const hosts = options.hosts ?? (options.allow === undefined ? [] : "any");
  const allowedHost = hosts === "any" ? () => true : hostRule(hosts);
  const prometheus = prometheusStyle(options.prometheus);
  const requestMetrics = requestMetricsFrom(options as RaindropsMiddlewareOptions<never>);
  return {
    path,
    format,
    prometheus,
    listeners,
    listenStats,
    connection,
    allowed,
    allowedHost,
    bodyTracking,
    requestMetrics,
  };
}
