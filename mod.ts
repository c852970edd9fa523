/**
 * raindrops for Deno and Bun: real-time stats for multi-process HTTP
 * servers. Lock-free counters in shared memory, aggregates, and Linux
 * listen-queue and TCP_INFO statistics over netlink.
 *
 * This entry point never imports Hono; the middleware, the Watcher and the
 * request helpers are in `./hono`. Importing it loads no native code:
 * libraindrops.so is opened on first use.
 *
 * @example Counters shared by path
 * ```ts
 * import { Raindrops } from "raindrops";
 * using counters = new Raindrops(4, { path: "/dev/shm/demo.raindrops" });
 * counters.incr(0);
 * ```
 *
 * @module
 */
export { Raindrops, type RaindropsOptions } from "./src/raindrops.ts";
export { Struct, type StructClass, type StructInstance } from "./src/struct.ts";
export { privateDir } from "./src/private_dir.ts";
export {
  AddressError,
  AggregateMismatchError,
  ClosedError,
  Errno,
  errnoName,
  EvaporatedError,
  ExhaustedError,
  ForeignFileError,
  MetricMismatchError,
  NativeError,
  NativeLibraryError,
  NativeUnavailableError,
  NoConnectionError,
  RaindropsError,
} from "./src/errors.ts";
export { Aggregate, type AggregateOptions } from "./src/aggregate/aggregate.ts";
export { SharedAggregate, type SharedAggregateOptions } from "./src/aggregate/shared_aggregate.ts";
export { type AggregateSummary, AggregateView } from "./src/aggregate/view.ts";
export { type Bucket, BucketLayout, type BucketOptions, type LinearBuckets } from "./src/aggregate/histogram.ts";
export { aggregateHeaders, type AggregateHeadersOptions } from "./src/aggregate/headers.ts";
export { ListenStats, tcpListenerOf, tcpListenerStats, unixListenerStats } from "./src/linux/listen_stats.ts";
export { InetDiagSocket } from "./src/linux/diag_socket.ts";
export { type FromRemoteOptions, TCP_STATES, TcpInfo } from "./src/linux/tcp_info.ts";
export { TCP_INFO_FIELDS, type TcpInfoField } from "./src/linux/tcp_info_fields.ts";
export { formatAddress, type InetAddress, parseAddress } from "./src/linux/address.ts";
export { WorkerStats, type WorkerStatsOptions, type WorkerTotals } from "./src/worker_stats.ts";
export { defaultStatsPath } from "./src/stats_path.ts";
export { collectRaindrops, type MetricRegistry, type RaindropsCollectorOptions } from "./src/exposition/prom_client.ts";
export type { PrometheusOptions } from "./src/exposition/metric_families.ts";
export type { StatsSnapshot } from "./src/exposition/snapshot.ts";
export type { ListenStatsSource } from "./src/linux/listeners.ts";
export { type ListenDrops, listenDrops } from "./src/linux/netstat.ts";
export { tcpListenQueued, tcpSynRecvConnections } from "./src/linux/listener_counts.ts";
export { Counter, CounterChild } from "./src/metrics/counter.ts";
export { Gauge, type GaugeAggregation, GaugeChild, type GaugeConfiguration } from "./src/metrics/gauge.ts";
export { DEFAULT_BUCKETS, Histogram, HistogramChild, type HistogramConfiguration } from "./src/metrics/histogram.ts";
export {
  DEFAULT_MAX_LABEL_SETS,
  type DefinitionExtras,
  type LabelValues,
  Metric,
  type MetricConfiguration,
  SeriesCells,
} from "./src/metrics/metric.ts";
export type { MetricDefinition, MetricType } from "./src/metrics/definition.ts";
export type { FamilyRow, PromClientValue, RegistryFamily } from "./src/exposition/registry_text.ts";
export { exponentialBuckets, linearBuckets } from "./src/metrics/buckets.ts";
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
} from "./src/metrics/registry.ts";
export {
  type RaindropsInstruments,
  type RaindropsInstrumentsOptions,
  registerRaindropsInstruments,
} from "./src/otel/instruments.ts";
export type {
  OtelAttributes,
  OtelBatchCallback,
  OtelBatchResult,
  OtelInstrumentOptions,
  OtelMeter,
  OtelObservable,
} from "./src/otel/meter.ts";
export type { HistogramRow } from "./src/aggregate/histogram.ts";
