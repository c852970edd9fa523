/**
 * raindrops for Hono: the stats middleware (`raindrops()`, or
 * `withRaindrops()` around a whole fetch handler), `LastDataRecv`, the
 * `Watcher` app, and a request's own connection (`requestTcpInfo`,
 * `requestLocalAddress`). Needs `hono` (4 or later) in your project; the
 * counters and Linux statistics are in the package root, which does not.
 *
 * @example Stats of a Hono app at GET /_raindrops
 * ```ts
 * import { Hono } from "hono";
 * import { raindrops } from "raindrops/hono";
 *
 * // deno serve, or bun: GET / says hi, GET /_raindrops gives the stats
 * export default new Hono().use(raindrops()).get("/", (c) => c.text("hi"));
 * ```
 *
 * @module
 */
export { raindrops } from "./src/middleware/middleware.ts";
export { type FetchHandler, withRaindrops } from "./src/middleware/fetch.ts";
export type { RaindropsMiddlewareOptions } from "./src/middleware/options.ts";
export type { PeaksOptions, QueueWaitOptions, RequestDurationOptions } from "./src/middleware/options.ts";
export { QueueWaitAggregate, type QueueWaitAggregateOptions } from "./src/middleware/queue_wait_aggregate.ts";
export type { AllowOption } from "./src/middleware/access.ts";
export type { CallingWritingCounters } from "./src/middleware/counters.ts";
export type { StatsFormat } from "./src/middleware/format.ts";
export { LastDataRecv } from "./src/last_data_recv/last_data_recv.ts";
export type { LastDataRecvOptions } from "./src/last_data_recv/options.ts";
export { Watcher } from "./src/watcher/watcher.ts";
export type { WatcherOptions } from "./src/watcher/options.ts";
export {
  type Connection,
  connectionOf,
  requestListener,
  requestLocalAddress,
  requestTcpInfo,
} from "./src/server/connection.ts";
export type { RequestView } from "./src/server/request_view.ts";
