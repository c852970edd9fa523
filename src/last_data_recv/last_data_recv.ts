/**
 * LastDataRecv: a Hono middleware (or a wrapper around a whole fetch
 * handler) recording, once per connection at its first request, how long
 * ago (ms) the connection last received data, from the kernel's TCP_INFO
 * `last_data_recv`, into an aggregate; and an endpoint serving that
 * aggregate.
 *
 * @module
 */
import type { Context, Handler, MiddlewareHandler } from "hono";
import { Aggregate } from "../aggregate/aggregate.ts";
import type { AggregateView } from "../aggregate/view.ts";
import { NoConnectionError } from "../errors.ts";
import { InetDiagSocket, sharedChannel } from "../linux/diag_socket.ts";
import { fieldEnd, TCP_INFO_FIELDS } from "../linux/tcp_info_fields.ts";
import { joinHostPort } from "../linux/address.ts";
import { envConnection, serverPortOf } from "../server/_server_env.ts";
import type { FetchHandler } from "../middleware/fetch.ts";
import { aggregateHeaders } from "../aggregate/headers.ts";
import { type ConnectionKey, ConnectionSockets } from "./connection_sockets.ts";
import { ListenerArrivals } from "./listener_arrivals.ts";

const LAST_DATA_RECV = TCP_INFO_FIELDS.find((f) => f[0] === "last_data_recv")!;
/** Requests between two looks at the clock for a rescan of the process's listeners. */
const RESCAN_REQUESTS = 1024;
/** Least time between two rescans of the process's listeners (each lists every socket of the process). */
const RESCAN_MS = 1000;
/** Rescans are spaced at least this many times their own duration apart. */
const RESCAN_SPACING = 100;

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
   * How to find the request's connection (see {@link ConnectionOf}); for
   * the middleware only. By default the request's own connection as the
   * server tells it in `env` (`Deno.serve(app.fetch)`,
   * `Bun.serve({ fetch: app.fetch })`), found by its client address (and,
   * on Bun, the server's port).
   */
  connection?: ConnectionOf;
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
 * X-Count and, when count > 1, X-Min, X-Max, X-Mean, X-Std-Dev,
 * X-Outliers-Low and X-Outliers-High.
 *
 * Cost: the server hides the connection's descriptor, so a connection's
 * first request asks the kernel over sock_diag (see
 * {@link ConnectionSockets}), which also names its socket; connections are
 * forgotten once their socket has closed (checked in sweeps, at most one
 * per interval). Telling a request's connection costs (Bun's
 * `server.requestIP()`, Deno's `info.remoteAddr`), so it is done only while
 * a new connection may be waiting for its first request, which the kernel
 * tells through a watch of this process's listening sockets (see
 * {@link ListenerArrivals}): on Bun the server's own, on Deno (whose
 * request tells no server port) every TCP listener of the process, looked
 * for again at most once a second so that a server started later is
 * covered (a connection it accepted before that may be recorded at a
 * later request). Other requests cost one native call and no syscall.
 * Every request is identified when there is no such watch: the
 * `connection` option, a unix-socket server, a listener not held by this
 * process, more than 8 listeners, a kernel without io_uring.
 * `bench/last_data_recv.bench.ts` measures both forms against an empty
 * handler. `sample: N` records 1 connection in N.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { LastDataRecv } from "@raindrops/raindrops/hono";
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
  readonly #connection: ConnectionOf | undefined;
  readonly #sockets: ConnectionSockets;
  readonly #info: DataView;
  #tick = 0;
  #env: unknown;
  #localPort: number | undefined;
  /** The arrivals at the listeners of the server in `#env`, when it is one of this process's TCP servers that tells the port. */
  #arrivals: ListenerArrivals | undefined;
  /** Arrival watches by server, made once per server. */
  readonly #watches = new WeakMap<object, ListenerArrivals | null>();
  /**
   * For servers that tell no port (Deno's): a watch of every TCP listener of
   * the process, made at the first request identified (null when none can
   * be made), and checked for new listeners from time to time.
   */
  #anyListener: ListenerArrivals | null | undefined;
  #requestsSinceRescan = 0;
  #nextRescan = 0;
  readonly #opened: ListenerArrivals[] = [];
  readonly #seen = (inode: number) => this.#sockets.knowsInode(inode);
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
    const custom = options.connection;
    const lastDataRecv: MiddlewareHandler = (c, next) => {
      if (custom) this.#customRequest(c, custom);
      else this.#request(c.env, c.req.raw);
      return next(); // no await: one promise fewer per request
    };
    const lastDataRecvReport: Handler = (c) =>
      c.text(agg.chart(), 200, { ...aggregateHeaders(agg), "Cache-Control": "no-cache" });
    this.middleware = lastDataRecv;
    this.handler = lastDataRecvReport;
  }

  /** Sampled connections whose `last_data_recv` could not be read. */
  get missed(): number {
    return this.#missed;
  }

  /** Why the last lookup failed, if one did. */
  get lastError(): Error | undefined {
    return this.#lastError;
  }

  /** Connections remembered now: those open, and those closed since the last sweep. */
  get connections(): number {
    return this.#sockets.size;
  }

  /**
   * Wraps a fetch handler (`app.fetch`) so that each request is seen
   * before it runs, as the middleware would see it, without Hono's
   * middleware dispatch. Serve `handler` on a route of the app, as with
   * the middleware. TypeError when `fetch` is not a function or the
   * `connection` option was given (it reads a Hono `Context`).
   *
   * @example
   * ```ts
   * import { Hono } from "hono";
   * import { LastDataRecv } from "@raindrops/raindrops/hono";
   * const ldr = new LastDataRecv();
   * const app = new Hono().get("/", (c) => c.text("hi")).get("/_ldr", ldr.handler);
   * Deno.serve(ldr.wrap(app.fetch)); // or Bun.serve({ fetch: ldr.wrap(app.fetch) })
   * ```
   */
  wrap(fetch: FetchHandler): FetchHandler {
    if (typeof fetch !== "function") throw new TypeError("fetch must be a function");
    if (this.#connection) throw new TypeError("the connection option works with the middleware only");
    // deno-lint-ignore no-explicit-any
    return (request: Request, env?: any) => {
      this.#request(env, request);
      return fetch(request, env);
    };
  }

  /** A request of a connection told by `env`: recorded when it is a sampled connection's first. */
  #request(env: unknown, request: Request): void {
    if (this.#closed) return;
    try {
      if (env !== this.#env) this.#serverOf(env);
      const arrivals = this.#arrivals;
      if (arrivals !== undefined && !arrivals.mayBeNew()) return; // a connection seen before
      const client = envConnection(env, request);
      if (client === undefined) {
        throw new NoConnectionError(
          "the server tells no client address (serve with Deno.serve(app.fetch) or Bun.serve({ fetch: app.fetch }))",
        );
      }
      const localPort = this.#localPort;
      const remote = `${client.remoteAddress}:${client.remotePort}`;
      const key = localPort ? `${remote}>${localPort}` : remote;
      if (!this.#sockets.known(key)) {
        this.#first({ key, remote: joinHostPort(client.remoteAddress, client.remotePort), localPort });
      }
      if (arrivals) arrivals.settle(this.#seen);
      else if (localPort === undefined && this.#anyListener === undefined) this.#watchAnyListener();
    } catch (e) {
      this.#fail(e);
    }
  }

  /**
   * Takes in a new `env`. Bun's is the server, the same each time: it tells
   * the port, and arrivals at its listeners are watched. Deno's is new for
   * each request and tells no port: arrivals at any listener of the
   * process are watched.
   */
  #serverOf(env: unknown): void {
    this.#env = env;
    this.#localPort = serverPortOf(env);
    if (this.#localPort === undefined) {
      if (++this.#requestsSinceRescan >= RESCAN_REQUESTS) this.#rescan();
      this.#arrivals = this.#anyListener ?? undefined;
      return;
    }
    const server = env as object;
    let watch = this.#watches.get(server);
    if (watch === undefined) {
      watch = ListenerArrivals.watch(this.#localPort) ?? null;
      this.#watches.set(server, watch);
      if (watch) this.#opened.push(watch);
    }
    this.#arrivals = watch ?? undefined;
  }

  /** Starts watching every listener of the process (after a request was identified: the server tells client addresses). */
  #watchAnyListener(): void {
    const watch = ListenerArrivals.watchAll() ?? null;
    if (watch) this.#opened.push(watch);
    this.#anyListener = watch;
    this.#nextRescan = performance.now() + RESCAN_MS;
  }

  /**
   * A listener opened since the watch began (another server of the
   * process) is not covered by it: when the listeners changed, the watch is
   * made again, and every request is identified until nothing waits.
   */
  #rescan(): void {
    this.#requestsSinceRescan = 0;
    const watch = this.#anyListener;
    const start = performance.now();
    if (!watch || start < this.#nextRescan) return;
    if (watch.stale()) {
      watch.close();
      this.#opened.splice(this.#opened.indexOf(watch), 1);
      this.#watchAnyListener();
    }
    const end = performance.now();
    this.#nextRescan = end + Math.max(RESCAN_MS, RESCAN_SPACING * (end - start));
  }

  /** A request whose connection the `connection` option tells. */
  #customRequest(c: Context, connection: ConnectionOf): void {
    if (this.#closed) return;
    try {
      const conn = connection(c);
      if (conn === undefined) {
        this.#missed++;
        return;
      }
      const key = `${conn.local}|${conn.remote}`;
      if (!this.#sockets.known(key)) this.#first({ key, remote: conn.remote, local: conn.local });
    } catch (e) {
      this.#fail(e);
    }
  }

  /** A connection's first request: looked up (and so remembered), recorded when sampled. */
  #first(conn: ConnectionKey): void {
    const n = this.#sockets.first(conn);
    if (++this.#tick < this.sample) return;
    this.#tick = 0;
    if (n < fieldEnd(LAST_DATA_RECV)) this.#missed++;
    else this.aggregate.add(this.#info.getUint32(LAST_DATA_RECV[1], true));
  }

  #fail(e: unknown): void {
    this.#missed++;
    this.#lastError = e instanceof Error ? e : new Error(String(e));
  }

  /** Stops recording and frees the watches of the servers' listeners. */
  close(): void {
    this.#closed = true;
    for (const w of this.#opened) w.close();
    this.#opened.length = 0;
  }

  /** Same as {@link close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}
