/**
 * Your own metrics, exact across every worker: counters, gauges and
 * histograms with labels, shaped like prom-client's, kept in a shared file.
 *
 * @module
 */
export { Counter, CounterChild } from "./counter.ts";
export { Gauge, type GaugeAggregation, GaugeChild, type GaugeConfiguration } from "./gauge.ts";
export { DEFAULT_BUCKETS, Histogram, HistogramChild, type HistogramConfiguration } from "./histogram.ts";
export {
  DEFAULT_MAX_LABEL_SETS,
  type DefinitionExtras,
  type LabelValues,
  Metric,
  type MetricConfiguration,
  SeriesCells,
} from "./metric.ts";
export type { MetricDefinition, MetricType } from "./definition.ts";
export type { FamilyRow, PromClientValue, RegistryFamily } from "../exposition/registry_text.ts";
export { exponentialBuckets, linearBuckets } from "./buckets.ts";
export {
  defaultMetricsPath,
  type MetricValues,
  OPENMETRICS_CONTENT_TYPE,
  placeDefaultRegistry,
  PROMETHEUS_CONTENT_TYPE,
  register,
  type RegisteredMetric,
  Registry,
  type RegistryContentType,
  type RegistryOptions,
} from "./registry.ts";
