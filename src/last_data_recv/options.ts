/**
 * LastDataRecv's options, checked once when it is made.
 *
 * @module
 */
import { Aggregate } from "../aggregate/aggregate.ts";
import type { AggregateView } from "../aggregate/view.ts";
import { InetDiagSocket } from "../linux/diag_socket.ts";
import type { Connection } from "../server/connection.ts";
import type { RequestView } from "../server/request_view.ts";

/**
 * Options for `LastDataRecv`. `C` is what the `connection` callback is
 * given: a Hono `Context` under `app.use(ldr.middleware)`, a
 * {@link RequestView} under `ldr.wrap(fetch)`.
 */
export interface LastDataRecvOptions<C extends RequestView = RequestView> {
  /**
   * The request's connection; undefined when it cannot be known (the
   * request is then counted in `missed`). By default the request's own
   * connection as the server tells it in `env` (`Deno.serve(app.fetch)`,
   * `Bun.serve({ fetch: app.fetch })`), found by its client's end (and, on
   * Bun, the server's port). With this option every request is identified
   * (no arrival watch tells which connections are new).
   */
  connection?: (c: C) => Connection | undefined;
  /**
   * Where samples go: an {@link Aggregate} (the default, 32 power-of-two
   * buckets) or a `SharedAggregate` that several processes feed.
   */
  aggregate?: AggregateView;
  /**
   * Record 1 connection in `sample` (every `sample`-th new one); default 1,
   * every connection.
   */
  sample?: number;
  /** A netlink socket for first lookups; by default the process's shared one. */
  socket?: InetDiagSocket;
}

/** The options checked, with defaults filled in. */
export interface LastDataRecvSettings<C extends RequestView> {
  readonly connection: ((c: C) => Connection | undefined) | undefined;
  readonly aggregate: AggregateView;
  readonly sample: number;
  readonly socket: InetDiagSocket | undefined;
}

/** Checks `options`: TypeError for a wrong type, RangeError for a `sample` that is not a positive integer. */
export function lastDataRecvSettings<C extends RequestView>(options: LastDataRecvOptions<C>): LastDataRecvSettings<C> {
  if (options === null || typeof options !== "object") throw new TypeError("options must be an object");
  const { connection, socket } = options;
  if (connection !== undefined && typeof connection !== "function") {
    throw new TypeError("options.connection must be a function");
  }
  const sample = options.sample ?? 1;
  if (typeof sample !== "number") throw new TypeError(`sample must be a number, got ${typeof sample}`);
  if (!Number.isSafeInteger(sample) || sample < 1) {
    throw new RangeError(`sample must be a positive integer, got ${sample}`);
  }
  if (socket !== undefined && !(socket instanceof InetDiagSocket)) {
    throw new TypeError("socket must be an InetDiagSocket");
  }
  const aggregate = options.aggregate ?? new Aggregate();
  if (
    typeof aggregate !== "object" || aggregate === null || typeof aggregate.add !== "function" ||
    typeof aggregate.chart !== "function"
  ) {
    throw new TypeError("aggregate must be an Aggregate or SharedAggregate");
  }
  return { connection, aggregate, sample, socket };
}
