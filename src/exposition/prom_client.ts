/**
 * Adds the raindrops series to a prom-client `Registry` (as used by
 * `@hono/prometheus`), so one metrics endpoint serves both. prom-client is
 * not imported: anything with prom-client's `registerMetric` works.
 *
 * @module
 */
import { metricFamilies, type MetricFamily, type PrometheusOptions, prometheusStyle } from "./metric_families.ts";
import { checkListeners, kernelListenerStats, type ListenStatsSource } from "../linux/listeners.ts";
import { listenStatsOf } from "./snapshot.ts";
import { defaultStatsPath } from "../stats_path.ts";
import { WorkerStats } from "../worker_stats.ts";

/** The part of a prom-client `Registry` used here. */
export interface MetricRegistry {
  /** Adds a metric (prom-client's `Registry#registerMetric`). */
  registerMetric(metric: never): void;
}

/** Options for {@link collectRaindrops}. */
export interface RaindropsCollectorOptions extends PrometheusOptions {
  /**
   * The stats file (or open {@link WorkerStats}) the middleware counts in;
   * default {@link defaultStatsPath}. A path is opened as the middleware
   * opens it, claiming this thread's slot group (the same one when the
   * middleware runs here too), so collect in a process that serves the app.
   */
  stats?: string | WorkerStats;
  /** Listeners to report, `host:port` or unix paths (default none: no request tells the own listener here). */
  listeners?: readonly string[];
  /** Reads listen-queue figures; default: the kernel (sock_diag). */
  listenStats?: ListenStatsSource;
}

/** What prom-client's `Registry` reads from a metric: its `get()` answer. */
interface MetricValues {
  name: string;
  help: string;
  type: string;
  aggregator: "sum";
  values: { value: number; labels: Record<string, string> }[];
}

/**
 * Registers the raindrops metric families (see `metricFamilies`) with a
 * prom-client registry. Every scrape reads the shared stats file and the
 * kernel once, whatever the number of families. Names clash with nothing
 * prom-client or `@hono/prometheus` register; `prefix` and `labels` work as
 * for the middleware's `prometheus` option.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { Registry } from "prom-client";
 * import { prometheus } from "@hono/prometheus";
 * import { collectRaindrops } from "@raindrops/raindrops";
 * import { raindrops } from "@raindrops/raindrops/hono";
 * const app = new Hono();
 * const registry = new Registry();
 * const { printMetrics, registerMetrics } = prometheus({ registry });
 * app.use(raindrops({ stats: "/dev/shm/raindrops-shop" }), registerMetrics);
 * collectRaindrops(registry, { stats: "/dev/shm/raindrops-shop", listeners: ["0.0.0.0:8080"] });
 * app.get("/metrics", printMetrics); // http_requests_total ... and raindrops_requests_total ...
 * ```
 */
export function collectRaindrops(registry: MetricRegistry, options: RaindropsCollectorOptions = {}): void {
  if (registry === null || typeof registry !== "object" || typeof registry.registerMetric !== "function") {
    throw new TypeError("registry must be a prom-client Registry (an object with registerMetric)");
  }
  if (options === null || typeof options !== "object") throw new TypeError("options must be an object");
  const style = prometheusStyle({ prefix: options.prefix, labels: options.labels });
  const listeners = checkListeners(options.listeners ?? []) as readonly string[];
  const source = options.listenStats ?? kernelListenerStats;
  if (typeof source !== "function") throw new TypeError("listenStats must be a function");
  const s = options.stats;
  const stats = s instanceof WorkerStats ? s : WorkerStats.open(s ?? defaultStatsPath());

  // One read per scrape: prom-client asks every metric in the same turn.
  let current: Map<string, MetricFamily> | undefined;
  const families = (): Map<string, MetricFamily> => {
    if (!current) {
      const totals = stats.totals();
      const snapshot = {
        ...totals,
        requests: stats.finished(),
        listeners: listenStatsOf(listeners, source),
      };
      current = new Map(metricFamilies(snapshot, style).map((f) => [f.name, f]));
      queueMicrotask(() => (current = undefined));
    }
    return current;
  };
  const template = {
    calling: 0,
    writing: 0,
    workers: 0,
    requests: 0,
    listeners: new Map(listeners.map((address) => [address, { active: 0, queued: 0, backlog: 0 }])),
  };
  for (const family of metricFamilies(template, style)) {
    const metric = {
      name: family.name,
      help: family.help,
      type: family.type,
      aggregator: "sum" as const,
      get(): Promise<MetricValues> {
        const f = families().get(family.name);
        const values = (f?.samples ?? []).map((x) => ({ value: x.value, labels: { ...x.labels } }));
        // `name` as the registry left it: in OpenMetrics mode it strips a counter's `_total`.
        return Promise.resolve({ name: metric.name, help: family.help, type: family.type, aggregator: "sum", values });
      },
      reset(): void {},
    };
    registry.registerMetric(metric as never);
  }
}
