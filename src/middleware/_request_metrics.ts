/**
 * The request metrics the middleware records in its registry (beside its
 * stats file): the duration histogram, the busy-time integral of
 * `calling`, the windowed peaks of `calling` and of the listeners'
 * `queued`, and the queue wait told by a proxy. Every figure is kept per
 * worker in the registry's shared file and summed (or, for peaks,
 * combined) by whoever reads it, so all are exact across workers.
 *
 * @module
 */
import { clearInterval, setInterval } from "node:timers";
import { Counter, type CounterChild } from "../metrics/counter.ts";
import { Gauge, type GaugeChild } from "../metrics/gauge.ts";
import { Histogram, type HistogramChild } from "../metrics/histogram.ts";
import type { Registry } from "../metrics/registry.ts";
import { checkBuckets, type Metric } from "../metrics/metric.ts";
import { DEFAULT_BUCKETS } from "../metrics/histogram.ts";
import { WindowedPeaks } from "../exposition/windowed_peaks.ts";
import { monotonicMs } from "../monotonic_clock.ts";
import { kernelListenerStats, type ListenStatsSource } from "../linux/listeners.ts";
import { tcpAddressesOf, tcpListenQueued } from "../linux/listener_counts.ts";
import { type DroppedReason, queueWaitOf } from "./_request_start.ts";
import type { RequestMetricsSettings } from "./options.ts";

/** Methods kept as their own label value; any other is `OTHER` (a client chooses the method). */
const METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "OTHER"] as const;
/** Status classes by hundreds (index 0 for anything outside 1xx-5xx). */
const CLASSES = ["other", "1xx", "2xx", "3xx", "4xx", "5xx"] as const;

function methodIndex(method: string): number {
  switch (method) {
    case "GET":
      return 0;
    case "HEAD":
      return 1;
    case "POST":
      return 2;
    case "PUT":
      return 3;
    case "DELETE":
      return 4;
    case "PATCH":
      return 5;
    case "OPTIONS":
      return 6;
    default:
      return 7;
  }
}

/**
 * The metric `name` already in `registry` (made by another middleware of
 * this thread) when it has the `labelNames` and `buckets` asked for
 * (RangeError otherwise), else `make()`.
 */
function metricIn<M extends Metric<string>>(
  registry: Registry,
  name: string,
  type: abstract new (...a: never[]) => Metric<string>,
  make: () => M,
  labelNames: readonly string[] = [],
  buckets?: readonly number[],
): M {
  const had = registry.getSingleMetric(name);
  if (!(had instanceof type)) return make();
  const d = had.definition, same = (a: readonly unknown[] = [], b: readonly unknown[] = []) => a.join() === b.join();
  if (!same(d.labelNames, labelNames) || (buckets !== undefined && !same(d.buckets, checkBuckets(buckets)))) {
    throw new RangeError(
      `${name} is already recorded in ${registry.path ?? "this registry"} with labels [${d.labelNames}]` +
        `${
          d.buckets ? ` and buckets [${d.buckets}]` : ""
        }: give every middleware sharing a stats file the same options`,
    );
  }
  return had as M;
}

/**
 * `raindrops_queue_wait_seconds` and `raindrops_queue_wait_dropped_total`
 * in `registry` (the ones already there when another middleware or a
 * `QueueWaitAggregate` of this thread made them).
 */
export function queueWaitMetrics(
  registry: Registry,
  buckets: readonly number[],
): { wait: HistogramChild; dropped: Counter<string> } {
  const registers = [registry];
  const wait = metricIn(
    registry,
    "raindrops_queue_wait_seconds",
    Histogram,
    () =>
      new Histogram({
        name: "raindrops_queue_wait_seconds",
        help: "Time requests waited before the application saw them (X-Request-Start, or LastDataRecv), in seconds.",
        buckets,
        registers,
      }),
    [],
    buckets,
  ).labels();
  const dropped = metricIn(registry, "raindrops_queue_wait_dropped_total", Counter, () =>
    new Counter({
      name: "raindrops_queue_wait_dropped_total",
      help:
        "Queue-wait figures not counted in raindrops_queue_wait_seconds (clock skew, absurd or unparsable), by reason.",
      labelNames: ["reason"],
      registers,
    }), ["reason"]);
  return { wait, dropped };
}

/** The histogram's label sets by method and status class, made at first use. */
type Children = (HistogramChild | undefined)[];

/**
 * Records the request metrics of one middleware instance. `enter` and
 * `leave` are called around each request with `monotonicMs()` read
 * once each; a timer (unref'd, one per instance, started at the first
 * request) brings the busy integral and the peaks up to date every
 * `peaks.intervalMs` (default 1 s) while requests run or are idle.
 */
export class RequestMetrics {
  readonly #settings: RequestMetricsSettings;
  readonly #registry: Registry;
  readonly #duration: Histogram<string> | undefined;
  readonly #byClass: Children = [];
  readonly #byRoute = new Map<string, Children>();
  /** Whether the histogram has the `route` label. */
  readonly #routed: boolean;
  readonly #busy: CounterChild | undefined;
  readonly #callingMax: GaugeChild | undefined;
  readonly #queuedMax: Gauge<string> | undefined;
  readonly #queueWait: HistogramChild | undefined;
  readonly #dropped: Counter<string> | undefined;
  readonly #callingPeaks: WindowedPeaks<{ calling: number }> | undefined;
  readonly #queuedPeaks: WindowedPeaks<{ queued: number }> | undefined;
  /** Requests of this instance inside the app now, in this thread. */
  #calling = 0;
  /** Busy milliseconds not yet added to the counter, and when the integral was last brought up to date. */
  #busyPending = 0;
  #busySince = 0;
  /** The largest `calling` since the last tick, and the value the gauge shows. */
  #intervalPeak = 0;
  #shownPeak = 0;
  #timer: ReturnType<typeof setInterval> | null | undefined;
  /** The listeners whose `queued` is sampled (undefined: not known yet). */
  #listeners: readonly string[] | undefined;
  readonly #listenStats: ListenStatsSource | false;

  /** The metrics `settings` turn on, in `registry`; listeners sampled for peaks from `listenStats`. */
  constructor(
    registry: Registry,
    settings: RequestMetricsSettings,
    listeners: readonly string[] | "auto",
    listenStats: ListenStatsSource | false,
  ) {
    this.#settings = settings;
    this.#registry = registry;
    const registers = [registry];
    const { duration, busy, peaks, queueWait } = settings;
    this.#routed = duration !== false && duration.route;
    if (duration) {
      const labelNames = duration.route ? ["method", "status", "route"] as const : ["method", "status"] as const;
      this.#duration = metricIn(
        registry,
        "raindrops_request_duration_seconds",
        Histogram,
        () =>
          new Histogram({
            name: "raindrops_request_duration_seconds",
            help: "Time requests spent inside the application (until it returned a response or threw), in seconds.",
            labelNames,
            buckets: duration.buckets,
            maxLabelSets: duration.maxLabelSets,
            registers,
          }),
        labelNames,
        duration.buckets ?? DEFAULT_BUCKETS,
      );
    }
    if (busy) {
      this.#busy = metricIn(registry, "raindrops_busy_seconds_total", Counter, () =>
        new Counter({
          name: "raindrops_busy_seconds_total",
          help:
            "Integral of raindrops_calling_requests over time, in seconds: its rate over the workers is utilization.",
          registers,
        })).labels();
    }
    if (peaks) {
      this.#callingMax = metricIn(registry, "raindrops_calling_requests_max", Gauge, () =>
        new Gauge({
          name: "raindrops_calling_requests_max",
          help: `Each live worker's largest number of requests inside the application over the last ${
            peaks.windowMs / 1000
          } s, summed.`,
          registers,
        })).labels();
      this.#callingPeaks = new WindowedPeaks(peaks.windowMs);
      if (listenStats !== false) {
        this.#queuedMax = metricIn(registry, "raindrops_listener_queued_connections_max", Gauge, () =>
          new Gauge({
            name: "raindrops_listener_queued_connections_max",
            help: `Largest raindrops_listener_queued_connections sampled over the last ${peaks.windowMs / 1000} s.`,
            labelNames: ["listener"],
            aggregate: "max",
            registers,
          }), ["listener"]);
        this.#queuedPeaks = new WindowedPeaks(peaks.windowMs);
        if (listeners !== "auto") this.#listeners = listeners;
      }
    }
    this.#listenStats = listenStats;
    if (queueWait) {
      const metrics = queueWaitMetrics(registry, queueWait.buckets);
      this.#queueWait = metrics.wait;
      this.#dropped = metrics.dropped;
    }
  }

  /** Whether requests must be timed (duration or busy seconds); else `enter` and `leave` take 0 for times. */
  get timed(): boolean {
    return this.#duration !== undefined || this.#busy !== undefined;
  }

  /** Whether `enter` and `leave` must be called at all. */
  get tracked(): boolean {
    return this.timed || this.#callingMax !== undefined || this.#queueWait !== undefined;
  }

  /** The registry the metrics live in. */
  get registry(): Registry {
    return this.#registry;
  }

  /** True when the own listener is wanted for the peaks and not known yet. */
  get wantsListener(): boolean {
    return this.#queuedPeaks !== undefined && this.#listeners === undefined;
  }

  /** Sets the listeners sampled for `queued`'s peak (for `listeners: "auto"`, found at a request). */
  set listeners(listeners: readonly string[]) {
    this.#listeners = listeners;
  }

  /** A request enters the app at `now` (monotonicMs(), or 0 when not {@link timed}); `request` for the queue-wait header. */
  enter(now: number, request: Request): void {
    if (this.#timer === undefined) this.#start(now);
    this.#busyPending += this.#calling * (now - this.#busySince);
    this.#busySince = now;
    this.#raise();
    if (this.#queueWait !== undefined) this.#observeQueueWait(request);
  }

  /** One more request inside the app: raises the calling peak when it is a new high. */
  #raise(): void {
    const calling = ++this.#calling;
    if (calling > this.#intervalPeak) {
      this.#intervalPeak = calling;
      if (calling > this.#shownPeak && this.#callingMax !== undefined) this.#callingMax.set(this.#shownPeak = calling);
    }
  }

  /** A request enters the app, nothing timed and no queue wait: only the calling peak. */
  enterUntimed(): void {
    if (this.#timer === undefined) this.#start(0);
    this.#raise();
  }

  /** A request entered with {@link enterUntimed} leaves the app. */
  leaveUntimed(): void {
    this.#calling--;
  }

  /** The request that entered at `start` left at `now` with `status` (0 when the app threw); `route` only when the histogram has that label. */
  leave(start: number, now: number, method: string, status: number, route?: string): void {
    this.#busyPending += this.#calling * (now - this.#busySince);
    this.#busySince = now;
    this.#calling--;
    if (this.#busy !== undefined) {
      this.#busy.inc(this.#busyPending / 1000);
      this.#busyPending = 0;
    }
    const duration = this.#duration;
    if (duration === undefined) return;
    const m = methodIndex(method);
    const c = status >= 100 && status < 600 ? (status / 100) | 0 : status === 0 ? 5 : 0;
    let children = this.#byClass;
    if (this.#routed) {
      route ??= ""; // no route told (the router never ran): an empty label, never a label-count error
      children = this.#byRoute.get(route) ?? this.#routeChildren(route);
    }
    const i = m * CLASSES.length + c;
    const child = children[i] ??
      (children[i] = route === undefined
        ? duration.labels(METHODS[m], CLASSES[c])
        : duration.labels(METHODS[m], CLASSES[c], route));
    child.observe((now - start) / 1000);
  }

  /** The label sets of a route seen for the first time (kept while under the label cap). */
  #routeChildren(route: string): Children {
    const children: Children = [];
    if (this.#byRoute.size < this.#duration!.definition.maxLabelSets) this.#byRoute.set(route, children);
    return children;
  }

  #observeQueueWait(request: Request): void {
    const value = request.headers.get(this.#settings.queueWait ? this.#settings.queueWait.header : "");
    if (value === null) return;
    const q = this.#settings.queueWait as Exclude<RequestMetricsSettings["queueWait"], false>;
    const wait: number | DroppedReason = queueWaitOf(value, Date.now() / 1000, q.maxSeconds);
    if (typeof wait === "number") this.#queueWait!.observe(wait);
    else this.#dropped!.labels(wait).inc();
  }

  /** Starts the tick (unref'd: it never keeps the process alive). */
  #start(now: number): void {
    this.#busySince = now;
    const interval = this.#settings.peaks ? this.#settings.peaks.intervalMs : 1000;
    if (!this.#busy && !this.#callingPeaks) return void (this.#timer = null);
    this.#timer = setInterval(() => this.tick(), interval);
    this.#timer.unref();
  }

  /**
   * Brings the busy counter up to now (so requests still running count up
   * to the last tick) and slides the peaks' window: `calling`'s peak of the
   * interval is folded in, `queued` sampled from the kernel.
   */
  tick(nowMs = Date.now(), now = monotonicMs()): void {
    if (this.#busy !== undefined) {
      this.#busyPending += this.#calling * (now - this.#busySince);
      this.#busySince = now;
      this.#busy.inc(this.#busyPending / 1000);
      this.#busyPending = 0;
    }
    const callingPeaks = this.#callingPeaks;
    if (callingPeaks === undefined) return;
    callingPeaks.add(new Map([["", { calling: this.#intervalPeak }]]), nowMs);
    this.#intervalPeak = this.#calling;
    this.#shownPeak = Math.max(callingPeaks.read(nowMs).get("")?.calling ?? 0, this.#calling);
    this.#callingMax!.set(this.#shownPeak);
    this.#sampleQueued(nowMs);
  }

  #sampleQueued(nowMs: number): void {
    const peaks = this.#queuedPeaks, listeners = this.#listeners;
    if (peaks === undefined || listeners === undefined || listeners.length === 0) return;
    let queued: Map<string, { queued: number }>;
    try {
      queued = this.#queuedOf(listeners);
    } catch {
      return; // a kernel without sock_diag: the peak stays as last sampled
    }
    peaks.add(queued, nowMs);
    const read = peaks.read(nowMs);
    for (const l of listeners) this.#queuedMax!.labels(l).set(read.get(l)?.queued ?? 0);
  }

  /**
   * Each listener's `queued` now. From the kernel (the default source), TCP
   * listeners are asked for their queue alone, a dump of listening sockets
   * only; any other source, and unix listeners, through `listenStats`.
   */
  #queuedOf(listeners: readonly string[]): Map<string, { queued: number }> {
    const out = new Map<string, { queued: number }>();
    const source = this.#listenStats as ListenStatsSource;
    const tcp = source === kernelListenerStats ? tcpAddressesOf(listeners) : [];
    for (const [l, q] of tcpListenQueued(tcp)) out.set(l, { queued: q });
    const rest = listeners.filter((l) => !out.has(l));
    const figures = rest.length > 0 ? source(rest) : new Map();
    for (const l of rest) out.set(l, { queued: figures.get(l)?.queued ?? 0 });
    return out;
  }

  /** Stops the tick. */
  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
