/**
 * raindrops' figures as OpenTelemetry observable instruments, on any
 * `Meter` of the OpenTelemetry JS API: Deno's built-in one
 * (`OTEL_DENO=true`) or the OTel JS SDK's on Bun and Node.js. The Meter is
 * typed by shape, so raindrops depends on no OpenTelemetry package.
 *
 * @module
 */
import { checkListeners, kernelListenerStats, type ListenStatsSource, parseListener } from "../linux/listeners.ts";
import { defaultStatsPath } from "../stats_path.ts";
import { WorkerStats } from "../worker_stats.ts";

/** Attributes of one observation. */
export type OtelAttributes = Record<string, string | number>;

/** An observable instrument, as the Meter hands it out (opaque here). */
export type OtelObservable = object;

/** The result a batch callback reports into (`BatchObservableResult`). */
export interface OtelBatchResult {
  /** Reports `value` for `observable` with `attributes` in this collection. */
  observe(observable: OtelObservable, value: number, attributes?: OtelAttributes): void;
}

/** A batch observable callback. */
export type OtelBatchCallback = (result: OtelBatchResult) => void;

/** What an instrument is created with (`MetricOptions`). */
export interface OtelInstrumentOptions {
  /** What the instrument measures. */
  description?: string;
  /** UCUM unit, e.g. `{request}`. */
  unit?: string;
}

/**
 * The part of an OpenTelemetry API `Meter` used here: observable counters
 * and up-down counters and batch callbacks. `metrics.getMeter(...)` of
 * `@opentelemetry/api` (1.3 or later) is one.
 */
export interface OtelMeter {
  /** An asynchronous counter (monotonic sum). */
  createObservableCounter(name: string, options?: OtelInstrumentOptions): OtelObservable;
  /** An asynchronous up-down counter (non-monotonic sum). */
  createObservableUpDownCounter(name: string, options?: OtelInstrumentOptions): OtelObservable;
  /** Calls `callback` once per collection to observe every one of `observables`. */
  addBatchObservableCallback(callback: OtelBatchCallback, observables: OtelObservable[]): void;
  /** Undoes {@link OtelMeter.addBatchObservableCallback}. */
  removeBatchObservableCallback(callback: OtelBatchCallback, observables: OtelObservable[]): void;
}

/** Options for {@link registerRaindropsInstruments}. */
export interface RaindropsInstrumentsOptions {
  /**
   * The stats file (or open {@link WorkerStats}) the middleware counts in;
   * default `defaultStatsPath()`; `false` for listeners only. A path is
   * opened as the middleware opens it, claiming this thread's slot group
   * (the same one when the middleware runs here too), so register in a
   * process that serves the app.
   */
  stats?: string | WorkerStats | false;
  /** Listeners to report, `host:port` or unix paths (default none). */
  listeners?: readonly string[];
  /** Reads listen-queue figures; default: the kernel (sock_diag). */
  listenStats?: ListenStatsSource;
  /** Attributes added to every observation, e.g. `{ "service.instance.id": "web-1" }`. */
  attributes?: Readonly<OtelAttributes>;
}

/** Registered instruments; `close()` (or `using`) stops observing them. */
export interface RaindropsInstruments extends Disposable {
  /** Stops observing (the instruments stay registered but report nothing); later calls do nothing. */
  close(): void;
}

/**
 * The semantic-convention attributes of a listener (as for Kestrel's
 * connection metrics): `server.address`, `server.port` and `network.type`
 * for TCP, the path as `server.address` for unix sockets, and
 * `network.transport`.
 */
function listenerAttributes(name: string): OtelAttributes {
  const l = parseListener(name);
  if (l.kind !== "tcp") return { "server.address": name, "network.transport": "unix" };
  const colon = name.lastIndexOf(":");
  return {
    "server.address": name.slice(0, colon).replace(/^\[(.*)\]$/, "$1"),
    "server.port": l.address.port,
    "network.transport": "tcp",
    "network.type": l.address.family === 4 ? "ipv4" : "ipv6",
  };
}

/**
 * Registers raindrops' figures as observable instruments on an
 * OpenTelemetry `Meter`; one batch callback reads the stats file and the
 * kernel once per collection.
 *
 * | instrument | kind | unit | from |
 * | --- | --- | --- | --- |
 * | `http.server.active_requests` (semantic convention) | UpDownCounter | `{request}` | `calling` |
 * | `raindrops.http.server.writing_responses` | UpDownCounter | `{response}` | `writing` |
 * | `raindrops.http.server.requests` | Counter | `{request}` | finished requests |
 * | `raindrops.workers` | UpDownCounter | `{worker}` | live workers |
 * | `raindrops.listener.active_connections` | UpDownCounter | `{connection}` | per listener |
 * | `raindrops.listener.queued_connections` | UpDownCounter | `{connection}` | per listener |
 * | `raindrops.listener.queue.limit` | UpDownCounter | `{connection}` | the listen() backlog |
 *
 * Listener observations carry `server.address`, `server.port`,
 * `network.transport` and `network.type`, as the Kestrel connection
 * conventions do. `http.server.active_requests` carries no
 * `http.request.method` or `url.scheme`: the shared counters do not split
 * by them.
 *
 * @example Deno's built-in OpenTelemetry (run with `OTEL_DENO=true`)
 * ```ts
 * import { metrics } from "npm:@opentelemetry/api@1";
 * import { registerRaindropsInstruments } from "raindrops";
 * registerRaindropsInstruments(metrics.getMeter("raindrops"), { listeners: ["0.0.0.0:8080"] });
 * ```
 *
 * @example The OpenTelemetry JS SDK (Bun, Node.js)
 * ```ts
 * import { MeterProvider } from "@opentelemetry/sdk-metrics";
 * import { PrometheusExporter } from "@opentelemetry/exporter-prometheus";
 * import { registerRaindropsInstruments } from "raindrops";
 * const provider = new MeterProvider({ readers: [new PrometheusExporter({ port: 9464 })] });
 * registerRaindropsInstruments(provider.getMeter("raindrops"), { stats: "/dev/shm/raindrops-shop" });
 * ```
 */
export function registerRaindropsInstruments(
  meter: OtelMeter,
  options: RaindropsInstrumentsOptions = {},
): RaindropsInstruments {
  if (meter === null || typeof meter !== "object" || typeof meter.addBatchObservableCallback !== "function") {
    throw new TypeError("meter must be an OpenTelemetry Meter (an object with addBatchObservableCallback)");
  }
  if (options === null || typeof options !== "object") throw new TypeError("options must be an object");
  const listeners = checkListeners(options.listeners ?? []);
  const source = options.listenStats ?? kernelListenerStats;
  if (typeof source !== "function") throw new TypeError("listenStats must be a function");
  const constant = { ...options.attributes };
  const perListener = listeners.map((l) => ({ name: l, attributes: { ...constant, ...listenerAttributes(l) } }));
  const s = options.stats;
  const stats = s === false ? undefined : s instanceof WorkerStats ? s : WorkerStats.open(s ?? defaultStatsPath());

  const upDown = (name: string, description: string, unit: string) =>
    meter.createObservableUpDownCounter(name, { description, unit });
  const observables: OtelObservable[] = [];
  const app = stats && {
    calling: upDown(
      "http.server.active_requests",
      "Requests inside the application now, over all live workers.",
      "{request}",
    ),
    writing: upDown(
      "raindrops.http.server.writing_responses",
      "Responses whose body is being written now, over all live workers.",
      "{response}",
    ),
    workers: upDown("raindrops.workers", "Live workers sharing the stats file.", "{worker}"),
    requests: meter.createObservableCounter("raindrops.http.server.requests", {
      description: "Requests the application finished, over all workers past and present.",
      unit: "{request}",
    }),
  };
  if (app) observables.push(app.calling, app.writing, app.workers, app.requests);
  const queue = perListener.length > 0 && {
    active: upDown(
      "raindrops.listener.active_connections",
      "Accepted connections open on the listener.",
      "{connection}",
    ),
    queued: upDown(
      "raindrops.listener.queued_connections",
      "Connections waiting in the listener's accept queue.",
      "{connection}",
    ),
    limit: upDown(
      "raindrops.listener.queue.limit",
      "Limit of the listener's accept queue (the listen() backlog).",
      "{connection}",
    ),
  };
  if (queue) observables.push(queue.active, queue.queued, queue.limit);
  // The shared registry's metrics (issue 19) get their instruments here, observed in the same callback.

  const observe: OtelBatchCallback = (result) => {
    if (app && stats) {
      const totals = stats.totals();
      result.observe(app.calling, totals.calling, constant);
      result.observe(app.writing, totals.writing, constant);
      result.observe(app.workers, totals.workers, constant);
      result.observe(app.requests, stats.finished(), constant);
    }
    if (queue) {
      const figures = source(listeners);
      for (const { name, attributes } of perListener) {
        const f = figures.get(name);
        result.observe(queue.active, f?.active ?? 0, attributes);
        result.observe(queue.queued, f?.queued ?? 0, attributes);
        if (f?.backlog !== undefined) result.observe(queue.limit, f.backlog, attributes);
      }
    }
  };
  meter.addBatchObservableCallback(observe, observables);
  let open = true;
  const close = () => {
    if (!open) return;
    open = false;
    meter.removeBatchObservableCallback(observe, observables);
  };
  return { close, [Symbol.dispose]: close };
}
