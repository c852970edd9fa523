/**
 * LastDataRecv: a Hono middleware recording, per request, how long ago
 * (ms) the request's connection last received data, from the kernel's
 * TCP_INFO `last_data_recv`, into an aggregate; and an endpoint serving
 * that aggregate (SPEC section 6).
 *
 * @module
 */
import type { Context, Handler, MiddlewareHandler } from "hono";
import { Aggregate } from "../aggregate/aggregate.ts";
import type { AggregateView } from "../aggregate/view.ts";
import { InetDiagSocket } from "../linux/diag_socket.ts";
import { TcpInfo } from "../linux/tcp_info.ts";
import { requestTcpInfo } from "../hono/connection.ts";
import { aggregateHeaders } from "../watcher/headers.ts";

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
   * through sock_diag by `requestTcpInfo`.
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
  /** A netlink socket to reuse; by default the middleware opens its own, closed by `close()`. */
  socket?: InetDiagSocket;
}

/**
 * Records each request's `last_data_recv` (ms since its connection last
 * received data, read from TCP_INFO through sock_diag when the middleware
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
 * Cost: one sock_diag request and reply on a reused netlink socket per
 * recorded request (the server hides the descriptor, so getsockopt is not
 * an option). Measured by `bench/last_data_recv.bench.ts` (loopback,
 * keep-alive, one request at a time, a 2-byte "ok" handler; 2 vCPUs,
 * Linux 6.18): the lookup alone takes 5-7 µs (Bun 1.4.5, Deno 2.9.6), the
 * same with 1,000 other connections open; a whole request goes from 18-21
 * µs to 28-34 µs, i.e. +9 to +13 µs per recorded request, +50 to 60% on an
 * empty handler but a few percent of any request doing real work. With
 * `sample: 16` the added cost falls to 0.3-3 µs a request (within noise).
 * Record every request (the default, as the gem does) unless an app
 * serves tens of thousands of near-empty requests a second per process.
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
  readonly #ownSocket: boolean;
  #socket: InetDiagSocket | undefined;
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
    this.#socket = options.socket;
    this.#ownSocket = options.socket === undefined;
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

  #record(c: Context): void {
    if (this.#closed) return;
    try {
      this.#socket ??= new InetDiagSocket();
      let info: TcpInfo;
      if (this.#connection === undefined) info = requestTcpInfo(c, this.#socket);
      else {
        const conn = this.#connection(c);
        if (conn === undefined) {
          this.#missed++;
          return;
        }
        info = TcpInfo.fromAddress(conn.local, conn.remote, this.#socket);
      }
      const ms = info.get("last_data_recv");
      if (ms === undefined) this.#missed++;
      else this.aggregate.add(ms);
    } catch (e) {
      this.#missed++;
      this.#lastError = e instanceof Error ? e : new Error(String(e));
    }
  }

  /** Stops recording and closes the netlink socket it opened (not one given in the options). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#ownSocket) this.#socket?.close();
    this.#socket = undefined;
  }

  /** Same as {@link close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}
