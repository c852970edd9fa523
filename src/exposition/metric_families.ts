/**
 * A stats snapshot as Prometheus metric families: names, help, types and
 * series, with the user's prefix and constant labels. Every Prometheus
 * exposition (text, OpenMetrics, prom-client) is built from these.
 *
 * @module
 */
import type { StatsSnapshot } from "./snapshot.ts";

/** Options for the Prometheus output (the middleware's `prometheus` option). */
export interface PrometheusOptions {
  /** Put before every metric name, e.g. `"shop_"` gives `shop_raindrops_requests_total` (default none). */
  prefix?: string;
  /**
   * Labels added to every series, e.g. `{ service: "shop" }`. Names follow
   * Prometheus' rules (`[a-zA-Z_][a-zA-Z0-9_]*`, not starting `__`) and may
   * not be `listener`; values are any strings (escaped on output).
   */
  labels?: Readonly<Record<string, string>>;
}

/** Checked {@link PrometheusOptions}. */
export interface PrometheusStyle {
  /** Put before every metric name ("" for none). */
  readonly prefix: string;
  /** Constant labels on every series. */
  readonly labels: Readonly<Record<string, string>>;
}

const PLAIN_STYLE: PrometheusStyle = Object.freeze({ prefix: "", labels: Object.freeze({}) });
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const NAME_PREFIX = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/**
 * Checks {@link PrometheusOptions}: TypeError for a wrong type, RangeError
 * for a name Prometheus would reject.
 *
 * @example
 * ```ts
 * prometheusStyle({ prefix: "shop_", labels: { env: "prod" } }); // { prefix: "shop_", labels: { env: "prod" } }
 * prometheusStyle({ labels: { "bad-name": "x" } });              // throws RangeError
 * ```
 */
export function prometheusStyle(options: PrometheusOptions | undefined): PrometheusStyle {
  if (options === undefined) return PLAIN_STYLE;
  if (options === null || typeof options !== "object") throw new TypeError("prometheus options must be an object");
  const prefix = options.prefix ?? "";
  if (typeof prefix !== "string") throw new TypeError(`prefix must be a string, got ${typeof prefix}`);
  if (prefix !== "" && !NAME_PREFIX.test(prefix)) {
    throw new RangeError(
      `prefix ${JSON.stringify(prefix)} is not a valid start of a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)`,
    );
  }
  const given = options.labels ?? {};
  if (given === null || typeof given !== "object" || Array.isArray(given)) {
    throw new TypeError("labels must be an object of label names to string values");
  }
  const labels: Record<string, string> = {};
  for (const [name, value] of Object.entries(given)) {
    if (!LABEL_NAME.test(name) || name.startsWith("__")) {
      throw new RangeError(`label name ${JSON.stringify(name)} is invalid ([a-zA-Z_][a-zA-Z0-9_]*, not starting "__")`);
    }
    if (name === "listener") throw new RangeError(`label name "listener" is used by the listener series`);
    if (typeof value !== "string") throw new TypeError(`label ${name} must be a string, got ${typeof value}`);
    labels[name] = value;
  }
  return Object.freeze({ prefix, labels: Object.freeze(labels) });
}

/** One series of a metric family. */
export interface MetricSample {
  /** The series' labels (constant labels first). */
  readonly labels: Readonly<Record<string, string>>;
  /** Its value now. */
  readonly value: number;
}

/** A metric family: name (a counter's ends in `_total`), help, type and its series. */
export interface MetricFamily {
  /** Full metric name, prefix included; a counter's ends in `_total`. */
  readonly name: string;
  /** The HELP text. */
  readonly help: string;
  /** The TYPE. */
  readonly type: "gauge" | "counter";
  /** One entry per series. */
  readonly samples: readonly MetricSample[];
}

const BACKLOG_HELP = "Limit of the accept queue of each listening socket on the address (the listen() backlog; " +
  "SO_REUSEPORT sockets each have their own queue, and a socket drops connections past its own limit).";

/**
 * The accept-queue limit of each listening socket: the kernel's figure is
 * summed over the SO_REUSEPORT sockets on the address, but each socket
 * overflows at its own limit, so the sum is divided by their number
 * (exact when they listened with the same backlog, as the workers of one
 * server do; their mean otherwise).
 */
function perSocketBacklog(l: { backlog?: number; listeners?: number }): number | undefined {
  if (l.backlog === undefined || !l.listeners || l.listeners < 2) return l.backlog;
  return Math.round(l.backlog / l.listeners);
}

/**
 * The snapshot as Prometheus metric families, named by Prometheus'
 * conventions (counts of things end in the thing counted, counters in
 * `_total`): `raindrops_calling_requests`, `raindrops_writing_requests`,
 * `raindrops_workers`, `raindrops_requests_total`, and per listener
 * `raindrops_listener_active_connections`,
 * `raindrops_listener_queued_connections`,
 * `raindrops_listener_backlog_connections` (per listening socket: see
 * {@link perSocketBacklog}) and `raindrops_listener_up` (1
 * when a listening socket takes the address's connections, 0 when nothing
 * listens there: a typo'd port reads 0 connections like an idle listener),
 * and when read, the namespace's `raindrops_listen_overflows_total` and
 * `raindrops_listen_drops_total` and per listener
 * `raindrops_listener_syn_recv_connections`. Families without a figure are
 * left out.
 *
 * @example
 * ```ts
 * metricFamilies({ calling: 1, writing: 0, listeners: new Map() }).map((f) => f.name);
 * // ["raindrops_calling_requests", "raindrops_writing_requests"]
 * ```
 */
export function metricFamilies(s: StatsSnapshot, style: PrometheusStyle = PLAIN_STYLE): MetricFamily[] {
  const p = `${style.prefix}raindrops_`, constant = style.labels;
  const one = (value: number): MetricSample[] => [{ labels: constant, value }];
  const families: MetricFamily[] = [
    {
      name: `${p}calling_requests`,
      help: "Requests inside the application now, over all live workers.",
      type: "gauge",
      samples: one(s.calling),
    },
    {
      name: `${p}writing_requests`,
      help: "Responses whose body is being written now, over all live workers.",
      type: "gauge",
      samples: one(s.writing),
    },
  ];
  if (s.workers !== undefined) {
    families.push({
      name: `${p}workers`,
      help: "Live workers sharing the stats file.",
      type: "gauge",
      samples: one(s.workers),
    });
  }
  if (s.requests !== undefined) {
    families.push({
      name: `${p}requests_total`,
      help: "Requests the application finished (returned a response or threw), over all workers past and present.",
      type: "counter",
      samples: one(s.requests),
    });
  }
  type Figures = StatsSnapshot["listeners"] extends Map<string, infer F> ? F : never;
  const perListener = (pick: (l: Figures, address: string) => number | undefined): MetricSample[] => {
    const samples: MetricSample[] = [];
    for (const [address, l] of s.listeners) {
      const value = pick(l, address);
      if (value !== undefined) samples.push({ labels: { ...constant, listener: address }, value });
    }
    return samples;
  };
  const listenerFamilies: [string, string, (l: Figures, address: string) => number | undefined][] = [
    ["active_connections", "Accepted connections open on the listener.", (l) => l.active],
    ["queued_connections", "Connections waiting in the listener's accept queue.", (l) => l.queued],
    ["backlog_connections", BACKLOG_HELP, perSocketBacklog],
  ];
  const unlistened = s.unlistened;
  if (unlistened) {
    const up = "Whether a listening socket takes connections for the listener (0: nothing listens there).";
    listenerFamilies.push(["up", up, (_, address) => unlistened.has(address) ? 0 : 1]);
  }
  for (const [name, help, pick] of listenerFamilies) {
    const samples = perListener(pick);
    if (samples.length > 0) families.push({ name: `${p}listener_${name}`, help, type: "gauge", samples });
  }
  if (s.synRecv !== undefined && s.synRecv.size > 0) {
    families.push({
      name: `${p}listener_syn_recv_connections`,
      help: "Half-open connections (SYN_RECV: SYN answered, handshake not completed) on the listener.",
      type: "gauge",
      samples: [...s.synRecv].map(([address, value]) => ({ labels: { ...constant, listener: address }, value })),
    });
  }
  if (s.listenDrops !== undefined) {
    families.push(
      {
        name: `${p}listen_overflows_total`,
        help: "Times a listener's accept queue was full (TcpExt ListenOverflows), over the network namespace.",
        type: "counter",
        samples: one(s.listenDrops.listenOverflows),
      },
      {
        name: `${p}listen_drops_total`,
        help: "Connections dropped by listeners, overflows included (TcpExt ListenDrops), over the network namespace.",
        type: "counter",
        samples: one(s.listenDrops.listenDrops),
      },
    );
  }
  return families;
}
