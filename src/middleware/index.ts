/**
 * The raindrops Hono middleware: counts the requests every worker is
 * running (`calling`) and writing (`writing`) in a shared, crash-safe stats
 * file, and answers a stats path with the totals and the listen queues as
 * the gem's text, JSON or Prometheus text.
 *
 * @module
 */
export { raindrops } from "./middleware.ts";
export { type FetchHandler, withRaindrops } from "./fetch.ts";
export { type RaindropsMiddlewareOptions } from "./options.ts";
export { type CallingWritingCounters } from "./counters.ts";
export { defaultStatsPath } from "../stats_path.ts";
export type { RequestView } from "../server/request_view.ts";
export { type AllowOption, isLoopback } from "./access.ts";
export { chooseFormat, renderJson, renderText, type StatsFormat } from "./format.ts";
export { metricFamilies, type PrometheusOptions, prometheusStyle } from "../exposition/metric_families.ts";
export { renderOpenMetrics, renderPrometheus } from "../exposition/prometheus_text.ts";
export type { StatsSnapshot } from "../exposition/snapshot.ts";
export type { ListenerFigures, ListenerStatsSource } from "../linux/listeners.ts";
export {
  DEFAULT_WORKERS,
  MAX_WORKERS,
  WorkerStats,
  type WorkerStatsOptions,
  type WorkerTotals,
} from "../worker_stats.ts";
