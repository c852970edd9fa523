/**
 * LastDataRecv: a Hono middleware (or a wrapper around a whole fetch
 * handler) recording, once per connection at its first request, how long
 * ago (ms) the connection last received data, from the kernel's TCP_INFO
 * `last_data_recv`, into an aggregate; and an endpoint serving that
 * aggregate.
 *
 * @module
 */
import type { Handler, MiddlewareHandler } from "hono";
import type { AggregateView } from "../aggregate/view.ts";
import { aggregateHeaders } from "../aggregate/headers.ts";
import { NoConnectionError } from "../errors.ts";
import { sharedChannel } from "../linux/diag_socket.ts";
import { tcpInfoField } from "../linux/tcp_info_fields.ts";
import type { FetchHandler } from "../middleware/fetch.ts";
import type { Connection } from "../server/connection.ts";
import { type RequestView, requestView } from "../server/request_view.ts";
import { envConnection, requestSocketOf, serverPortOf } from "../server/_server_env.ts";
import { AcceptedSockets } from "./_accepted_sockets.ts";
import { ArrivalWatches } from "./_arrival_watches.ts";
import { ConnectionSockets } from "./_connection_sockets.ts";
import type { ListenerArrivals } from "./_listener_arrivals.ts";
import { Samples } from "./_samples.ts";
import { type LastDataRecvOptions, lastDataRecvSettings } from "./options.ts";

export type { LastDataRecvOptions };

/**
 * Records `last_data_recv` once per connection, at its first request (ms
 * since the connection last received data, read from the kernel's
 * TCP_INFO as the request starts): the time the request's bytes waited
 * before the app saw them, in the listen queue and the server's own
 * queue. Later requests on a keep-alive connection are not recorded (they
 * would add near-zero samples); they cost one Map lookup on the
 * connection's address pair. Lookups that fail (unknown connection,
 * connection already gone, a kernel without sock_diag) are counted in
 * {@link missed}, never thrown into the request.
 *
 * `middleware` records under `app.use()`; {@link wrap} records around a
 * whole fetch handler, which spares the app Hono's middleware dispatch.
 * `handler` answers with the aggregate's text chart and the headers
 * X-Count, X-Min, X-Max, X-Mean, X-Std-Dev, X-Outliers-Low and
 * X-Outliers-High (`NaN` where a figure is undefined), as the Watcher does.
 *
 * Cost: the server hides the connection's descriptor, so a connection's
 * first request asks the kernel over sock_diag (see `ConnectionSockets`),
 * which also names its socket; only a socket of this process is taken.
 * Connections are forgotten once their socket has closed (checked in
 * sweeps through this process's own descriptors, at most one per interval,
 * each a few milliseconds at most, none asking the kernel for a dump). Telling a request's connection costs (Bun's
 * `server.requestIP()`, Deno's `info.remoteAddr`), so it is done only while
 * a new connection may be waiting for its first request, which the kernel
 * tells through a watch of this process's listening sockets (see
 * `ListenerArrivals`): on Bun the server's own, closed when its listener
 * goes; on Deno (whose request tells no server port) every TCP listener of
 * the process, looked for again at most once a second so that a server
 * started later is covered (connections it accepted before that are
 * counted in {@link missed}, as their first request may have passed
 * unseen; one opened and closed before that goes uncounted). Other requests cost one native call and no syscall.
 * Every request is identified when there is no such watch: the
 * `connection` option, a unix-socket server, a listener not held by this
 * process, more than 8 listeners, a kernel without io_uring. Close it with
 * {@link close} (or `using`) when its servers stop; one dropped unclosed
 * frees its watches when collected.
 * `bench/last_data_recv.bench.ts` measures both forms against an empty
 * handler. `sample: N` records 1 connection in N.
 *
 * On Node (`@hono/node-server`) a connection is recorded at accept, as the
 * gem does: from the `connection` event of its server, read from the
 * socket's own descriptor (how long it waited in the listen queue). The
 * server is attached by {@link attach}, or at the first request it
 * serves (that request's connection is recorded then, as it starts);
 * connections are known by their socket object, so nothing is looked up,
 * watched or swept.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { LastDataRecv } from "raindrops/hono";
 * const app = new Hono();
 * const ldr = new LastDataRecv(); // each connection's first request, found from env
 * app.use(ldr.middleware);         // or: Deno.serve(ldr.wrap(app.fetch))
 * app.get("/_raindrops/last_data_recv", ldr.handler);
 * // later: ldr.close();
 * ```
 */
export class LastDataRecv implements Disposable {
  /** The samples, in ms. */
  readonly aggregate: AggregateView;
  /** 1 connection in `sample` is recorded. */
  readonly sample: number;
  /** The recording middleware, for `app.use()`. */
  readonly middleware: MiddlewareHandler;
  /** The endpoint serving the aggregate, for `app.get(path, handler)`. */
  readonly handler: Handler;
  readonly #connection: ((c: RequestView) => Connection | undefined) | undefined;
  readonly #sockets: ConnectionSockets;
  readonly #watches = new ArrivalWatches();
  readonly #samples: Samples;
  readonly #accepted: AcceptedSockets;
  #env: unknown;
  /** The arrivals at the listeners of the server in `#env`, when watched. */
  #arrivals: ListenerArrivals | undefined;
  /** Whether every listener of the process is watched (for a server that tells no port, once it told a client). */
  #anyListener = false;
  #closed = false;

  /** TypeError for wrong option types, RangeError for a `sample` that is not a positive integer. */
  // deno-lint-ignore no-explicit-any
  constructor(options: LastDataRecvOptions<any> = {}) {
    const settings = lastDataRecvSettings(options);
    const agg = this.aggregate = settings.aggregate;
    this.sample = settings.sample;
    this.#accepted = new AcceptedSockets(this.#samples = new Samples(agg, this.sample));
    const custom = this.#connection = settings.connection;
    const socket = settings.socket;
    this.#sockets = new ConnectionSockets(socket ? () => socket : sharedChannel);
    const lastDataRecv: MiddlewareHandler = (c, next) => {
      if (custom) this.#customRequest(c);
      else this.#request(c.env, c.req.raw);
      return next(); // no await: one promise fewer per request
    };
    const lastDataRecvReport: Handler = (c) =>
      c.text(agg.chart(), 200, { ...aggregateHeaders(agg), "Cache-Control": "no-cache" });
    this.middleware = lastDataRecv;
    this.handler = lastDataRecvReport;
  }

  /**
   * Sampled connections whose `last_data_recv` could not be read, and
   * connections a later server of the process accepted before it was
   * watched (see the class doc).
   */
  get missed(): number {
    return this.#samples.missed + this.#watches.lateCount;
  }

  /** Why the last lookup failed, if one did. */
  get lastError(): Error | undefined {
    return this.#samples.lastError;
  }

  /** Connections remembered now: those open, and those closed since a sweep last checked them (none of Node's, known by their socket). */
  get connections(): number {
    return this.#sockets.size;
  }

  /** Arrival watches open now (one per server watched; see `ListenerArrivals`). */
  get watches(): number {
    return this.#watches.size;
  }

  /** Node servers whose connections are recorded at accept now (see {@link attach}). */
  get servers(): number {
    return this.#accepted.servers;
  }

  /**
   * Records each connection a Node server accepts from now on, at accept
   * (its `connection` event), before its first request: `server` is what
   * `@hono/node-server`'s `serve()` or `createAdaptorServer()` returns, or
   * any `node:net`/`http`/`https` server. Without it the server is
   * attached at the first request it serves. Detached when the server
   * closes, or by {@link close}. TypeError for anything else (`Bun.serve`
   * and `Deno.serve` tell no accepts: there a connection is recorded at
   * its first request).
   *
   * @example
   * ```ts
   * import { serve } from "@hono/node-server";
   * import { Hono } from "hono";
   * import { LastDataRecv } from "raindrops/hono";
   * const ldr = new LastDataRecv();
   * const app = new Hono().get("/_raindrops/last_data_recv", ldr.handler);
   * ldr.attach(serve({ fetch: app.fetch, port: 8080 }));
   * ```
   */
  attach(server: object): this {
    if (this.#closed) throw new TypeError("this LastDataRecv is closed");
    if (typeof server !== "object" || server === null || !this.#accepted.attach(server)) {
      throw new TypeError("server must be a Node server (what @hono/node-server's serve() returns)");
    }
    return this;
  }

  /**
   * Wraps a fetch handler (`app.fetch`) so that each request is seen
   * before it runs, as the middleware would see it, without Hono's
   * middleware dispatch; the `connection` option is then given a
   * `RequestView`. Serve `handler` on a route of the app, as with the
   * middleware. TypeError when `fetch` is not a function.
   *
   * @example
   * ```ts
   * import { Hono } from "hono";
   * import { LastDataRecv } from "raindrops/hono";
   * const ldr = new LastDataRecv();
   * const app = new Hono().get("/", (c) => c.text("hi")).get("/_ldr", ldr.handler);
   * Deno.serve(ldr.wrap(app.fetch)); // or Bun.serve({ fetch: ldr.wrap(app.fetch) })
   * ```
   */
  wrap(fetch: FetchHandler): FetchHandler {
    if (typeof fetch !== "function") throw new TypeError("fetch must be a function");
    // deno-lint-ignore no-explicit-any
    return (request: Request, env?: any) => {
      if (this.#connection) this.#customRequest(requestView(request, env));
      else this.#request(env, request);
      return fetch(request, env);
    };
  }

  /** A request of a connection told by `env`: recorded when it is a sampled connection's first. */
  #request(env: unknown, request: Request): void {
    if (this.#closed) return;
    try {
      const socket = requestSocketOf(env);
      if (socket !== undefined) return this.#accepted.request(socket); // Node: known by the socket itself
      if (env !== this.#env) this.#arrivals = this.#watchOf(env);
      const arrivals = this.#arrivals;
      if (arrivals !== undefined && !arrivals.mayBeNew()) return; // a connection seen before
      const conn = envConnection(env, request);
      if (conn === undefined) {
        throw new NoConnectionError(
          "the server tells no client address (serve with Deno.serve(app.fetch) or Bun.serve({ fetch: app.fetch }))",
        );
      }
      if (!this.#sockets.known(conn)) this.#first(conn);
      if (arrivals) arrivals.settle(this.#sockets.inodes);
      else if (conn.localPort === undefined && !this.#anyListener) {
        this.#anyListener = true; // the server tells clients: watch every listener from the next request on
        this.#env = undefined;
      }
    } catch (e) {
      this.#samples.fail(e);
    }
  }

  /**
   * The watch for requests with this `env`. Bun's is the server, the same
   * each time: it tells the port, and arrivals at its listeners are
   * watched. Deno's is new for each request and tells no port: arrivals at
   * any listener of the process are watched.
   */
  #watchOf(env: unknown): ListenerArrivals | undefined {
    this.#env = env;
    const port = serverPortOf(env);
    if (port !== undefined) return this.#watches.ofServer(env as object, port);
    return this.#anyListener ? this.#watches.anyListener(this.#sockets.inodes) : undefined;
  }

  /** A request whose connection the `connection` option tells. */
  #customRequest(c: RequestView): void {
    if (this.#closed) return;
    try {
      const conn = this.#connection!(c);
      if (conn === undefined) this.#samples.missed++;
      else if (!this.#sockets.known(conn)) this.#first(conn);
    } catch (e) {
      this.#samples.fail(e);
    }
  }

  /** A connection's first request: looked up (and so remembered), recorded when sampled. */
  #first(conn: Connection): void {
    const found = this.#sockets.first(conn);
    if (this.#watches.late.delete(found.inode)) return; // counted: its first request may have passed unseen
    if (this.#samples.sampled()) this.#samples.add(tcpInfoField(found.info, "last_data_recv"));
  }

  /** Stops recording, frees the watches of the servers' listeners and detaches the Node servers. */
  close(): void {
    this.#closed = true;
    this.#watches.close();
    this.#accepted.close();
  }

  /** Same as {@link close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}
