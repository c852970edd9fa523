/**
 * LastDataRecv: a Hono middleware recording, per request, how long ago
 * (ms) the request's connection last received data, from the kernel's
 * TCP_INFO `last_data_recv`, into an aggregate; and an endpoint serving
 * that aggregate.
 *
 * @module
 */
import type { Context, Handler, MiddlewareHandler } from "hono";
import { Aggregate } from "../aggregate/aggregate.ts";
import type { AggregateView } from "../aggregate/view.ts";
import { NoConnectionError } from "../errors.ts";
import { InetDiagSocket, sharedChannel } from "../linux/diag_socket.ts";
import { fieldEnd, TCP_INFO_FIELDS } from "../linux/tcp_info_fields.ts";
import { connectionOf } from "../hono/connection.ts";
import { aggregateHeaders } from "../watcher/headers.ts";
import { type ConnectionKey, ConnectionSockets } from "./connection_sockets.ts";

const LAST_DATA_RECV = TCP_INFO_FIELDS.find((f) => f[0] === "last_data_recv")!;

/** The two ends of a request's TCP connection as the server sees them, each `host:port` (`[v6]:port`). */
export interface ConnectionAddresses {
  /** The server's end, e.g. `127.0.0.1:8080`. */
  local: string;
  /** The client's end, e.g. `127.0.0.1:50312`. */
  remote: string;
}

/**
 * Finds a request's connection; undefined when it cannot be known (the
 * request is then not recorded). The server adapter supplies it, so the
 * middleware itself runs the same on Deno and Bun.
 *
 * @example
 * ```ts
 * // Deno.serve((req, info) => app.fetch(req, { info })) on 127.0.0.1:8080:
 * const connection: ConnectionOf = (c) => {
 *   const { hostname, port } = c.env.info.remoteAddr;
 *   return { local: "127.0.0.1:8080", remote: `${hostname}:${port}` };
 * };
 * ```
 */
export type ConnectionOf = (c: Context) => ConnectionAddresses | undefined;

/** Options for {@link LastDataRecv}. */
export interface LastDataRecvOptions {
  /**
   * How to find the request's connection (see {@link ConnectionOf}). By
   * default the request's own connection as the server tells it in `c.env`
   * (`Deno.serve(app.fetch)`, `Bun.serve({ fetch: app.fetch })`), found
   * by its client address (and, on Bun, the server's port).
   */
  connection?: ConnectionOf;
  /**
   * Where samples go: an {@link Aggregate} (the default, 32 power-of-two
   * buckets) or a `SharedAggregate` that several processes feed.
   */
  aggregate?: AggregateView;
  /**
   * Record 1 request in `sample` (every `sample`-th one); default 1, every
   * request. Raise it when the per-request cost (see {@link LastDataRecv})
   * matters at your request rate.
   */
  sample?: number;
  /** A netlink socket for first lookups; by default the process's shared one. */
  socket?: InetDiagSocket;
}

/**
 * Records each request's `last_data_recv` (ms since its connection last
 * received data, read from the kernel's TCP_INFO when the middleware
 * runs) into an aggregate, and serves it. Read as a request starts, it is
 * the time the request's bytes waited before the app saw them: in the
 * listen queue and the server's own queue. Lookups that fail (unknown
 * connection, connection already gone, a kernel without sock_diag) are
 * counted in {@link missed}, never thrown into the request.
 *
 * `middleware` records; `handler` answers with the aggregate's text chart
 * and the headers X-Count and, when count > 1, X-Min, X-Max, X-Mean,
 * X-Std-Dev, X-Outliers-Low and X-Outliers-High.
 *
 * Cost: the server hides the connection's descriptor, so the first
 * request on a connection asks the kernel over sock_diag (which names the
 * socket's inode), the second finds this process's descriptor for that
 * inode, and every later request on a keep-alive connection is one
 * getsockopt(TCP_INFO) plus a check that the descriptor still holds that
 * socket (see {@link ConnectionSockets}); `bench/last_data_recv.bench.ts`
 * measures it against an empty handler. `sample: N` records 1 request in N.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { LastDataRecv } from "@raindrops/raindrops/hono";
 * const app = new Hono();
 * const ldr = new LastDataRecv(); // each request's own connection, from c.env
 * // or: new LastDataRecv({ connection: (c) => ({ local: "127.0.0.1:8080", remote: remoteOf(c) }) })
 * app.use(ldr.middleware);
 * app.get("/_raindrops/last_data_recv", ldr.handler);
 * // later: ldr.close();
 * ```
 */
export class LastDataRecv implements Disposable {
  /** The samples, in ms. */
  readonly aggregate: AggregateView;
  /** 1 request in `sample` is recorded. */
  readonly sample: number;
  /** The recording middleware, for `app.use()`. */
  readonly middleware: MiddlewareHandler;
  /** The endpoint serving the aggregate, for `app.get(path, handler)`. */
  readonly handler: Handler;
  readonly #connection: ConnectionOf | undefined;
  readonly #sockets: ConnectionSockets;
  readonly #info: DataView;
  #tick = 0;
  #missed = 0;
  #lastError: Error | undefined;
  #closed = false;

  /** TypeError for wrong option types, RangeError for a `sample` that is not a positive integer. */
  constructor(options: LastDataRecvOptions = {}) {
    if (options === null || typeof options !== "object") throw new TypeError("options must be an object");
    if (options.connection !== undefined && typeof options.connection !== "function") {
      throw new TypeError("options.connection must be a function");
    }
    const sample = options.sample ?? 1;
    if (typeof sample !== "number") throw new TypeError(`sample must be a number, got ${typeof sample}`);
    if (!Number.isSafeInteger(sample) || sample < 1) {
      throw new RangeError(`sample must be a positive integer, got ${sample}`);
    }
    if (options.socket !== undefined && !(options.socket instanceof InetDiagSocket)) {
      throw new TypeError("socket must be an InetDiagSocket");
    }
    const agg = options.aggregate ?? new Aggregate();
    if (typeof agg !== "object" || agg === null || typeof agg.add !== "function" || typeof agg.chart !== "function") {
      throw new TypeError("aggregate must be an Aggregate or SharedAggregate");
    }
    this.aggregate = agg;
    this.sample = sample;
    this.#connection = options.connection;
    const socket = options.socket;
    this.#sockets = new ConnectionSockets(socket ? () => socket : sharedChannel);
    this.#info = new DataView(this.#sockets.info.buffer);
    const lastDataRecv: MiddlewareHandler = async (c, next) => {
      if (++this.#tick >= sample) {
        this.#tick = 0;
        this.#record(c);
      }
      await next();
    };
    const lastDataRecvReport: Handler = (c) =>
      c.text(agg.chart(), 200, { ...aggregateHeaders(agg), "Cache-Control": "no-cache" });
    this.middleware = lastDataRecv;
    this.handler = lastDataRecvReport;
  }

  /** Sampled requests whose `last_data_recv` could not be read. */
  get missed(): number {
    return this.#missed;
  }

  /** Why the last lookup failed, if one did. */
  get lastError(): Error | undefined {
    return this.#lastError;
  }

  /** The request's connection as the cache names it; undefined when the server tells none. */
  #connectionKey(c: Context): ConnectionKey | undefined {
    if (this.#connection !== undefined) {
      const conn = this.#connection(c);
      return conn && { key: `${conn.local}|${conn.remote}`, remote: conn.remote, local: conn.local };
    }
    const conn = connectionOf(c);
    if (conn === undefined) {
      throw new NoConnectionError(
        "c.env tells no client address (serve with Deno.serve(app.fetch) or Bun.serve({ fetch: app.fetch }))",
      );
    }
    const { remote, localPort } = conn;
    return { key: localPort ? `${remote}>${localPort}` : remote, remote, localPort };
  }

  #record(c: Context): void {
    if (this.#closed) return;
    try {
      const conn = this.#connectionKey(c);
      if (conn === undefined) {
        this.#missed++;
        return;
      }
      const n = this.#sockets.read(conn);
      if (n < fieldEnd(LAST_DATA_RECV)) this.#missed++;
      else this.aggregate.add(this.#info.getUint32(LAST_DATA_RECV[1], true));
    } catch (e) {
      this.#missed++;
      this.#lastError = e instanceof Error ? e : new Error(String(e));
    }
  }

  /** Stops recording. */
  close(): void {
    this.#closed = true;
  }

  /** Same as {@link close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}
