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
 * import { raindrops } from "./hono.ts";
 *
 * // deno serve, or bun: GET / says hi, GET /_raindrops gives the stats
 * export default new Hono().use(raindrops()).get("/", (c) => c.text("hi"));
 * ```
 *
 * @module
 */
export {
  type AllowOption,
  type CallingWritingCounters,
  defaultStatsPath,
  raindrops,
  type RaindropsMiddlewareOptions,
  type StatsFormat,
} from "./src/middleware/index.ts";
export { type FetchHandler, withRaindrops } from "./src/middleware/fetch.ts";
export { LastDataRecv, type LastDataRecvOptions } from "./src/last_data_recv/last_data_recv.ts";
export { type ListenerFigures, type ListenerStatsSource, Watcher, type WatcherOptions } from "./src/watcher/watcher.ts";
export {
  type Connection,
  connectionOf,
  requestListener,
  requestLocalAddress,
  requestTcpInfo,
} from "./src/server/connection.ts";
export type { RequestView } from "./src/server/request_view.ts";
