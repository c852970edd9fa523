/**
 * raindrops for Deno and Bun: real-time stats for multi-process HTTP
 * servers. Lock-free counters in shared memory, Linux listen-queue and
 * TCP_INFO statistics over netlink, a Hono middleware and a Watcher app.
 *
 * Importing this module loads no native code; libraindrops.so is opened on
 * first use.
 *
 * @example
 * ```ts
 * import { Raindrops } from "./mod.ts";
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
  ClosedError,
  Errno,
  errnoName,
  EvaporatedError,
  ExhaustedError,
  ForeignFileError,
  NativeError,
  NativeLibraryError,
  NoConnectionError,
  RaindropsError,
} from "./src/errors.ts";
export { Aggregate, type AggregateOptions } from "./src/aggregate/aggregate.ts";
export {
  AggregateMismatchError,
  SharedAggregate,
  type SharedAggregateOptions,
} from "./src/aggregate/shared_aggregate.ts";
export { type AggregateSummary, AggregateView } from "./src/aggregate/view.ts";
export { type Bucket, BucketLayout, type BucketOptions, type LinearBuckets } from "./src/aggregate/histogram.ts";
export { type ListenerFigures, type ListenerStatsSource, Watcher, type WatcherOptions } from "./src/watcher/watcher.ts";
export { aggregateHeaders, type AggregateHeadersOptions, httpDate } from "./src/watcher/headers.ts";
export {
  type ConnectionAddresses,
  type ConnectionOf,
  LastDataRecv,
  type LastDataRecvOptions,
} from "./src/last_data_recv/last_data_recv.ts";
export { ListenStats, tcpListenerStats, unixListenerStats } from "./src/linux/listen_stats.ts";
export { InetDiagSocket } from "./src/linux/diag_socket.ts";
export { type FromRemoteOptions, TCP_STATES, TcpInfo } from "./src/linux/tcp_info.ts";
export { connectionOf, type RequestConnection, requestLocalAddress, requestTcpInfo } from "./src/hono/connection.ts";
export type { TcpInfoField } from "./src/linux/tcp_info_fields.ts";
export { formatAddress, type InetAddress, parseAddress } from "./src/linux/address.ts";
export {
  type AllowOption,
  type CallingWritingCounters,
  chooseFormat,
  DEFAULT_WORKERS,
  defaultStatsPath,
  isLoopback,
  type ListenQueue,
  type ListenStatsSource,
  raindrops,
  type RaindropsMiddlewareOptions,
  remoteAddressOf,
  renderJson,
  renderPrometheus,
  renderText,
  type StatsFormat,
  type StatsSnapshot,
  WorkerStats,
  type WorkerStatsOptions,
  type WorkerTotals,
} from "./src/middleware/index.ts";
export { type FetchHandler, withRaindrops } from "./src/middleware/fetch.ts";
