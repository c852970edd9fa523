/**
 * The raindrops Hono middleware: counts the requests every worker is
 * running (`calling`) and writing (`writing`) in a shared, crash-safe stats
 * file, and answers a stats path with the totals and the listen queues as
 * the gem's text, JSON or Prometheus text.
 *
 * @module
 */
import process from "node:process";
import type { Context, MiddlewareHandler } from "hono";
import { type AllowOption, compileAllow, remoteAddressOf } from "./access.ts";
import {
  chooseFormat,
  CONTENT_TYPES,
  FORMATS,
  type PrometheusOptions,
  prometheusStyle,
  render,
  type StatsFormat,
  type StatsSnapshot,
} from "./format.ts";
import { checkListeners, listenerSnapshots, type ListenStatsSource, ownListener } from "./listeners.ts";
import { tcpListenerStats, unixListenerStats } from "../linux/listen_stats.ts";
import { WorkerStats } from "./worker_slots.ts";

/**
 * Counters the middleware can use instead of a stats file: anything with
 * `incr`/`decr`/`get` of `"calling"` and `"writing"`, such as an instance of
 * `Struct(["calling", "writing"])`. Such counters are shared but not crash
 * safe (as in the gem): a worker that dies mid-request leaves them raised.
 */
export interface CallingWritingCounters {
  incr(member: "calling" | "writing", delta?: number): unknown;
  decr(member: "calling" | "writing", delta?: number): unknown;
  get(member: "calling" | "writing"): number;
}

/** Options for {@link raindrops}. */
export interface RaindropsMiddlewareOptions {
  /**
   * Where the counts live: a path of a shared stats file, an open
   * {@link WorkerStats}, or plain {@link CallingWritingCounters}. Default:
   * the file named by {@link defaultStatsPath} (env `RAINDROPS_STATS`, else
   * `/dev/shm/raindrops-<name>`), so workers started separately from the same
   * script share it.
   */
  stats?: string | WorkerStats | CallingWritingCounters;
  /** The `<name>` of the default stats path (see {@link defaultStatsPath}). */
  name?: string;
  /** Worker slot groups when the middleware creates the stats file (default 128). */
  workers?: number;
  /** The stats endpoint (default `/_raindrops`). */
  path?: string;
  /**
   * Listeners to report: `host:port` (`[addr]:port` for IPv6) and unix
   * socket paths, or `"auto"` (default): the listener of the server that
   * answers the stats request, when its `env` tells it.
   */
  listeners?: readonly string[] | "auto";
  /**
   * Reads listen-queue figures; default: the kernel, through
   * `tcpListenerStats` and `unixListenerStats` (sock_diag). `false` prints
   * no listener lines.
   */
  listenStats?: ListenStatsSource | false;
  /** Format when neither `?format=` nor `Accept` picks one (default `"text"`). */
  format?: StatsFormat;
  /** Metric-name prefix and constant labels of the Prometheus formats. */
  prometheus?: PrometheusOptions;
  /** Who may read the endpoint (default `"loopback"`); see {@link AllowOption}. */
  allow?: AllowOption<Context>;
  /**
   * The client address for `allow`, for servers whose `env` does not carry
   * it or behind a proxy (e.g. `(c) => getConnInfo(c).remote.address` with
   * `getConnInfo` from `hono/deno` or `hono/bun`). Default: read from `env`
   * by shape (see `remoteAddressOf`).
   */
  remoteAddress?: (c: Context) => string | undefined;
  /**
   * How the end of a body is detected. `"auto"` (default), chosen per
   * request by the shape of the server's `env`:
   * - `env.completed` is a promise (Deno.serve, `deno serve`): `writing`
   *   falls when it settles, once the response is fully sent or the
   *   connection is gone;
   * - `env.pendingRequests` is a number (Bun.serve's Server): the worker's
   *   `writing` is derived from the server's own count of unfinished
   *   requests (see {@link raindrops}), so bodies are passed through untouched;
   * - otherwise as `"wrap"`: the body is re-streamed through a
   *   ReadableStream whose end, error and cancel each release `writing` once.
   */
  bodyTracking?: "auto" | "wrap";
}

/** The counting operations the middleware needs. */
interface Counters {
  incr(which: 0 | 1 | 2, delta?: number): void;
  decr(which: 0 | 1, delta?: number): void;
  totals(): { calling: number; writing: number; workers?: number };
  /** Finished requests, ever (worker stats files only). */
  finished?(): number;
}

const CALLING = 0, WRITING = 1, FINISHED = 2;

/** 32-bit FNV-1a of a string, as 8 hex digits. */
function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, "0");
}

/**
 * The stats file used when `stats` is not given: `$RAINDROPS_STATS` if set;
 * else `/dev/shm/raindrops-<name>` with `name` from the option, defaulting
 * to `<uid>-<script>-<hash>` of the main script (`process.argv[1]`), so every
 * worker started from the same script by the same user shares one file.
 *
 * @example
 * ```ts
 * defaultStatsPath("shop"); // "/dev/shm/raindrops-shop" (unless RAINDROPS_STATS is set)
 * defaultStatsPath();       // e.g. "/dev/shm/raindrops-1000-server-3f2a9c01"
 * ```
 */
export function defaultStatsPath(name?: string): string {
  let fromEnv: string | undefined;
  try {
    fromEnv = process.env.RAINDROPS_STATS;
  } catch {
    fromEnv = undefined; // Deno without --allow-env: as if unset
  }
  if (fromEnv) return fromEnv;
  if (name !== undefined) {
    if (typeof name !== "string") throw new TypeError(`name must be a string, got ${typeof name}`);
    if (!/^[\w.-]{1,200}$/.test(name)) throw new RangeError(`name must be 1 to 200 of [A-Za-z0-9_.-], got "${name}"`);
    return `/dev/shm/raindrops-${name}`;
  }
  const script = process.argv[1] ?? "main";
  const base = script.split("/").pop()!.replace(/\.[^.]*$/, "").replace(/[^\w.-]/g, "_").slice(0, 60) || "main";
  return `/dev/shm/raindrops-${process.getuid?.() ?? 0}-${base}-${fnv1a(script)}`;
}

function countersFrom(options: RaindropsMiddlewareOptions): Counters {
  const s = options.stats;
  if (s instanceof WorkerStats) return s;
  if (s === undefined || typeof s === "string") {
    return WorkerStats.open(s ?? defaultStatsPath(options.name), { workers: options.workers });
  }
  if (typeof s === "object" && s !== null && typeof s.incr === "function" && typeof s.get === "function") {
    const names = ["calling", "writing"] as const;
    return {
      incr: (w, delta = 1) => {
        if (w === FINISHED) return; // plain counters have no finished count
        if (delta === 1) s.incr(names[w]);
        else s.incr(names[w], delta);
      },
      decr: (w, delta = 1) => {
        if (delta === 1) s.decr(names[w]);
        else s.decr(names[w], delta);
      },
      totals: () => ({ calling: s.get("calling"), writing: s.get("writing") }),
    };
  }
  throw new TypeError("stats must be a path, a WorkerStats or an object with incr/decr/get of calling and writing");
}

/** A server that counts its unfinished requests (Bun's Server). */
interface PendingCounter {
  readonly pendingRequests: number;
}

/** How often a derived, nonzero `writing` is re-published while no request comes. */
const DERIVED_REFRESH_MS = 10;

/**
 * `writing` derived from servers' counts of unfinished requests, per set of
 * counters (several middleware instances over the same counters share it).
 */
class DerivedWriting {
  /** Requests between entering a middleware over these counters and leaving the app (stats requests too). */
  inApp = 0;
  /** The `writing` this worker has published to the counters. */
  published = 0;
  #servers: PendingCounter[] = [];
  #last: unknown;
  #timer: ReturnType<typeof setTimeout> | undefined;
  constructor(readonly counters: Counters) {}

  /**
   * Notes the `env` of a request entering a middleware over these counters:
   * when it is a server that counts its unfinished requests, its count joins
   * the sum. Called for every request; the identity check keeps it cheap.
   */
  see(env: unknown): void {
    if (env === this.#last) return;
    this.#last = env;
    const server = env as PendingCounter;
    if (env && typeof server.pendingRequests === "number") {
      this.server = server;
      if (!this.#servers.includes(server)) this.#servers.push(server);
    } else this.server = undefined;
  }

  /** The `env` last seen, when it is a server that counts its unfinished requests. */
  server: PendingCounter | undefined;

  /** Publishes `writing` = unfinished requests of the seen servers minus those still in the app. */
  refresh = (): void => {
    this.#timer = undefined;
    let pending = 0;
    const servers = this.#servers;
    for (let i = 0; i < servers.length; i++) pending += servers[i].pendingRequests;
    const writing = pending > this.inApp ? pending - this.inApp : 0;
    const delta = writing - this.published;
    if (delta !== 0) {
      this.published = writing;
      if (delta > 0) this.counters.incr(WRITING, delta);
      else this.counters.decr(WRITING, -delta);
    }
    if (writing > 0) this.#schedule();
    else if (servers.length > 1) this.#forgetIdle();
  };

  #tick = (): void => {
    try {
      this.refresh();
    } catch {
      // the counters were released (the worker is shutting down): stop
    }
  };

  /** Makes sure a refresh comes within {@link DERIVED_REFRESH_MS}. */
  poll(): void {
    if (this.#timer === undefined) this.#schedule();
  }

  #schedule(): void {
    if (this.#timer !== undefined) return;
    const t = setTimeout(this.#tick, DERIVED_REFRESH_MS);
    // deno-lint-ignore no-explicit-any
    (t as any)?.unref?.();
    this.#timer = t;
  }

  /** Drops servers with nothing pending (a stopped server stays at 0); the next request re-adds its own. */
  #forgetIdle(): void {
    this.#servers = this.#servers.filter((s) => s.pendingRequests > 0);
    this.#last = undefined;
  }
}

const derivedOf = new WeakMap<Counters, DerivedWriting>();

/** Listen queues from the kernel, keyed as asked. */
export const kernelListenStats: ListenStatsSource = (tcp, unix) =>
  new Map([...(tcp.length ? tcpListenerStats(tcp) : []), ...(unix.length ? unixListenerStats(unix) : [])]);

/** Re-streams `body`, calling `release` once when it ends, fails or is cancelled. */
function wrapBody(body: ReadableStream<Uint8Array>, release: () => void): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      return reader.read().then(
        (r) => {
          if (r.done) {
            release();
            controller.close();
          } else controller.enqueue(r.value);
        },
        (e) => {
          release();
          controller.error(e);
        },
      );
    },
    cancel(reason) {
      release();
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}

/** The counting and the stats endpoint, shared by the middleware and {@link withRaindrops}. */
export interface RaindropsCore {
  /** The stats path. */
  readonly path: string;
  /** Answers the stats path. */
  stats(c: Context): Promise<Response>;
  /** A request enters the app. */
  enter(c: Context): void;
  /** The app returned `c.res`: counts it as writing (may replace `c.res` to watch its body). */
  leave(c: Context): void;
  /** The app threw `e`: rethrows it. */
  fail(e: unknown): never;
}

/** @internal Builds the counting core from the options (checked here). */
export function raindropsCore(options: RaindropsMiddlewareOptions = {}): RaindropsCore {
  if (options === null || typeof options !== "object") throw new TypeError("options must be an object");
  const path = options.path ?? "/_raindrops";
  if (typeof path !== "string") throw new TypeError(`path must be a string, got ${typeof path}`);
  if (!path.startsWith("/")) throw new RangeError(`path must start with "/", got "${path}"`);
  const defaultFormat = options.format ?? "text";
  if (!FORMATS.includes(defaultFormat)) throw new RangeError(`format must be one of ${FORMATS.join(", ")}`);
  const listeners = checkListeners(options.listeners);
  const listenStats = options.listenStats === undefined ? kernelListenStats : options.listenStats;
  if (listenStats !== false && typeof listenStats !== "function") {
    throw new TypeError("listenStats must be a function or false");
  }
  const remoteAddress = options.remoteAddress ?? remoteAddressOf;
  if (typeof remoteAddress !== "function") throw new TypeError("remoteAddress must be a function");
  const tracking = options.bodyTracking ?? "auto";
  if (tracking !== "auto" && tracking !== "wrap") throw new RangeError(`bodyTracking must be "auto" or "wrap"`);
  const allowed = compileAllow<Context>(options.allow);
  const style = prometheusStyle(options.prometheus);
  const counters = countersFrom(options);
  const useCompleted = tracking === "auto";

  async function statsResponse(c: Context): Promise<Response> {
    if (!(await allowed(remoteAddress(c), c))) {
      return new Response("Forbidden\n", { status: 403, headers: { "content-type": CONTENT_TYPES.text } });
    }
    const chosen = chooseFormat(c.req.query("format"), c.req.header("accept"), defaultFormat);
    if (chosen === undefined) {
      const msg = `unknown format; use ?format=${FORMATS.join("|")}\n`;
      return new Response(msg, { status: 400, headers: { "content-type": CONTENT_TYPES.text } });
    }
    if (useCompleted) local.see(c.env);
    local.refresh(); // this worker's derived writing, exact now (this request counts as in the app)
    const totals = counters.totals();
    let addresses: readonly string[] = [];
    if (listenStats) {
      if (listeners === "auto") {
        const own = ownListener(c);
        addresses = own ? [own] : [];
      } else addresses = listeners;
    }
    const snapshot: StatsSnapshot = {
      calling: totals.calling,
      writing: totals.writing,
      workers: totals.workers,
      requests: counters.finished?.(),
      listeners: listenStats ? listenerSnapshots(addresses, listenStats) : [],
    };
    const body = new TextEncoder().encode(render(chosen, snapshot, style));
    return new Response(body, {
      headers: {
        "content-type": CONTENT_TYPES[chosen],
        "content-length": String(body.byteLength),
        "cache-control": "no-store",
      },
    });
  }

  let derived = derivedOf.get(counters);
  if (!derived) derivedOf.set(counters, derived = new DerivedWriting(counters));
  const local = derived;

  /** Raises `writing` for a response leaving the app and arranges its release. */
  function track(c: Context): void {
    // Checked before counting, so a bad handler result never leaves `writing` raised.
    if (!(c.res instanceof Response)) throw new TypeError(`the handler returned ${typeof c.res}, not a Response`);
    const env = c.env;
    if (useCompleted && env) {
      if (env !== local.server) local.see(env); // another server's request may have come in since
      if (env === local.server) {
        // Bun: rise now; falls come from re-deriving (see DerivedWriting).
        counters.incr(WRITING);
        local.published++;
        local.poll();
        return;
      }
      const completed = env.completed;
      if (completed && typeof completed.then === "function") {
        counters.incr(WRITING);
        completed.then(releaseOne, releaseOne);
        return;
      }
    }
    let open = true;
    const release = () => {
      if (open) {
        open = false;
        counters.decr(WRITING);
      }
    };
    counters.incr(WRITING);
    const res = c.res;
    const body = res.body;
    // HEAD: Hono drops the body without reading or cancelling it.
    if (body === null || body.locked || c.req.raw.method === "HEAD") return release();
    c.res = undefined; // so Hono's setter does not copy headers onto a second Response
    c.res = new Response(wrapBody(body, release), res);
  }
  /** Releases one `writing` (a completion promise settles exactly once). */
  function releaseOne(): void {
    counters.decr(WRITING);
  }

  function leave(c: Context): void {
    counters.decr(CALLING);
    counters.incr(FINISHED);
    local.inApp--;
    track(c);
  }
  function fail(e: unknown): never {
    counters.decr(CALLING);
    counters.incr(FINISHED);
    local.inApp--;
    throw e;
  }

  return {
    path,
    stats(c: Context): Promise<Response> {
      local.inApp++;
      return statsResponse(c).finally(() => local.inApp--);
    },
    enter(c: Context): void {
      counters.incr(CALLING);
      local.inApp++;
      if (useCompleted) local.see(c.env);
    },
    leave,
    fail,
  };
}

/**
 * Hono middleware reporting, from any worker, how many requests all
 * workers are running (`calling`) and writing (`writing`), plus listen
 * queues, at `/_raindrops`; see {@link RaindropsMiddlewareOptions}.
 *
 * `calling` rises before the rest of the app runs and falls when it returns
 * or throws; `writing` rises when the response leaves the app and falls
 * once, when its body has been sent, has failed, or was abandoned by the
 * client (how that is seen per server: `bodyTracking`). The counts live in
 * a shared file with a slot per worker thread, summed over live workers, so
 * a killed worker's requests stop counting.
 *
 * The endpoint answers in the gem's text by default, in JSON for
 * `?format=json` or `Accept: application/json`, and in Prometheus text for
 * `?format=prometheus` or a Prometheus `Accept`; only loopback clients may
 * read it unless `allow` says otherwise (others get 403).
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { raindrops } from "./src/middleware/index.ts";
 * const app = new Hono();
 * app.use(raindrops());
 * app.get("/", (c) => c.text("hi"));
 * export default app; // deno serve --parallel, or Bun workers with reusePort
 * ```
 */
export function raindrops(options: RaindropsMiddlewareOptions = {}): MiddlewareHandler {
  const core: RaindropsCore = raindropsCore(options);
  return function raindrops(c, next) {
    if (c.req.path === core.path) return core.stats(c);
    core.enter(c);
    let pending: Promise<void>;
    try {
      pending = next();
    } catch (e) {
      core.fail(e);
    }
    return pending.then(() => core.leave(c), core.fail);
  };
}

export { type AllowOption, isLoopback, remoteAddressOf } from "./access.ts";
export {
  chooseFormat,
  metricFamilies,
  type PrometheusOptions,
  prometheusStyle,
  renderJson,
  renderOpenMetrics,
  renderPrometheus,
  renderText,
  type StatsFormat,
  type StatsSnapshot,
} from "./format.ts";
export { type ListenQueue, type ListenStatsSource } from "./listeners.ts";
export {
  DEFAULT_WORKERS,
  MAX_WORKERS,
  WorkerStats,
  type WorkerStatsOptions,
  type WorkerTotals,
} from "./worker_slots.ts";
