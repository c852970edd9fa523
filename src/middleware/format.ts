/**
 * Renders a stats snapshot as the gem's text, as JSON, or for Prometheus
 * (text exposition format 0.0.4, or OpenMetrics 1.0 when the scraper asks
 * for it), and picks the format for a request.
 *
 * @module
 */

/** One listener's queue figures. */
export interface ListenerSnapshot {
  /** `host:port` (IPv6 as `[addr]:port`) or a unix socket path. */
  address: string;
  /** Accepted connections that are open. */
  active: number;
  /** Connections waiting in the accept queue. */
  queued: number;
  /** The accept queue's limit (the `listen()` backlog), when known. */
  backlog?: number;
}

/** Everything the stats endpoint reports. */
export interface StatsSnapshot {
  /** Requests inside the app right now, over every live worker. */
  calling: number;
  /** Responses whose body is still being written, over every live worker. */
  writing: number;
  /** Live workers counted (omitted from the gem's text format). */
  workers?: number;
  /** Requests finished by every worker, past and present (Prometheus only). */
  requests?: number;
  /** Listener lines, in order. */
  listeners: readonly ListenerSnapshot[];
}

/** The output formats. */
export type StatsFormat = "text" | "json" | "prometheus" | "openmetrics";

/** The formats, as accepted by `?format=`. */
export const FORMATS: readonly StatsFormat[] = Object.freeze(["text", "json", "prometheus", "openmetrics"]);

/** Content-Type of each format. */
export const CONTENT_TYPES: Readonly<Record<StatsFormat, string>> = Object.freeze({
  text: "text/plain; charset=utf-8",
  json: "application/json; charset=utf-8",
  prometheus: "text/plain; version=0.0.4; charset=utf-8",
  openmetrics: "application/openmetrics-text; version=1.0.0; charset=utf-8",
});

/**
 * The gem's format: `calling`, `writing`, then an `active` and a `queued`
 * line per listener.
 *
 * @example
 * ```ts
 * renderText({ calling: 1, writing: 0, listeners: [{ address: "0.0.0.0:8080", active: 2, queued: 0 }] });
 * // "calling: 1\nwriting: 0\n0.0.0.0:8080 active: 2\n0.0.0.0:8080 queued: 0\n"
 * ```
 */
export function renderText(s: StatsSnapshot): string {
  let out = `calling: ${s.calling}\nwriting: ${s.writing}\n`;
  for (const l of s.listeners) out += `${l.address} active: ${l.active}\n${l.address} queued: ${l.queued}\n`;
  return out;
}

/**
 * JSON: `{ calling, writing, workers, listeners: { [address]: { active, queued } } }`.
 *
 * @example
 * ```ts
 * JSON.parse(renderJson({ calling: 0, writing: 0, workers: 2, listeners: [] }));
 * // { calling: 0, writing: 0, workers: 2, listeners: {} }
 * ```
 */
export function renderJson(s: StatsSnapshot): string {
  const listeners: Record<string, { active: number; queued: number }> = {};
  for (const l of s.listeners) listeners[l.address] = { active: l.active, queued: l.queued };
  return JSON.stringify({ calling: s.calling, writing: s.writing, workers: s.workers ?? null, listeners }) + "\n";
}

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

/**
 * The snapshot as Prometheus metric families, named by Prometheus'
 * conventions (counts of things end in the thing counted, counters in
 * `_total`): `raindrops_calling_requests`, `raindrops_writing_requests`,
 * `raindrops_workers`, `raindrops_requests_total`, and per listener
 * `raindrops_listener_active_connections`,
 * `raindrops_listener_queued_connections` and
 * `raindrops_listener_backlog_connections`. Families without a figure are
 * left out.
 *
 * @example
 * ```ts
 * metricFamilies({ calling: 1, writing: 0, listeners: [] }).map((f) => f.name);
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
  const perListener = (pick: (l: ListenerSnapshot) => number | undefined): MetricSample[] =>
    s.listeners.flatMap((l) => {
      const value = pick(l);
      return value === undefined ? [] : [{ labels: { ...constant, listener: l.address }, value }];
    });
  const listenerFamilies: [string, string, (l: ListenerSnapshot) => number | undefined][] = [
    ["active_connections", "Accepted connections open on the listener.", (l) => l.active],
    ["queued_connections", "Connections waiting in the listener's accept queue.", (l) => l.queued],
    ["backlog_connections", "Limit of the listener's accept queue (the listen() backlog).", (l) => l.backlog],
  ];
  for (const [name, help, pick] of listenerFamilies) {
    const samples = perListener(pick);
    if (samples.length > 0) families.push({ name: `${p}listener_${name}`, help, type: "gauge", samples });
  }
  return families;
}

/** Escapes a label value (backslash, double quote, newline). */
function labelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function sampleLine(name: string, sample: MetricSample): string {
  const pairs = Object.entries(sample.labels).map(([k, v]) => `${k}="${labelValue(v)}"`);
  return `${name}${pairs.length ? `{${pairs.join(",")}}` : ""} ${sample.value}\n`;
}

/** Renders families; OpenMetrics names a counter family without `_total` and ends with `# EOF`. */
function renderFamilies(families: readonly MetricFamily[], openMetrics: boolean): string {
  let out = "";
  for (const f of families) {
    const family = openMetrics && f.type === "counter" ? f.name.replace(/_total$/, "") : f.name;
    out += `# HELP ${family} ${f.help}\n# TYPE ${family} ${f.type}\n`;
    for (const sample of f.samples) out += sampleLine(f.name, sample);
  }
  return openMetrics ? `${out}# EOF\n` : out;
}

/**
 * Prometheus text format 0.0.4 of {@link metricFamilies}, with HELP and
 * TYPE lines.
 *
 * @example
 * ```ts
 * renderPrometheus({ calling: 3, writing: 1, workers: 2, requests: 10, listeners: [] });
 * // "# HELP raindrops_calling_requests ...\n# TYPE raindrops_calling_requests gauge\nraindrops_calling_requests 3\n..."
 * ```
 */
export function renderPrometheus(s: StatsSnapshot, style?: PrometheusStyle): string {
  return renderFamilies(metricFamilies(s, style), false);
}

/**
 * OpenMetrics 1.0 text of {@link metricFamilies}: as {@link renderPrometheus},
 * but a counter's family is named without `_total` and the text ends with `# EOF`.
 *
 * @example
 * ```ts
 * renderOpenMetrics({ calling: 0, writing: 0, requests: 5, listeners: [] }).endsWith("# EOF\n"); // true
 * ```
 */
export function renderOpenMetrics(s: StatsSnapshot, style?: PrometheusStyle): string {
  return renderFamilies(metricFamilies(s, style), true);
}

/** Renders a snapshot in a format (`style` applies to the Prometheus formats). */
export function render(format: StatsFormat, s: StatsSnapshot, style?: PrometheusStyle): string {
  switch (format) {
    case "json":
      return renderJson(s);
    case "prometheus":
      return renderPrometheus(s, style);
    case "openmetrics":
      return renderOpenMetrics(s, style);
    default:
      return renderText(s);
  }
}

/** The format an `Accept` media range asks for, if it is one of ours. */
function formatOfMediaType(type: string, version: string | undefined): StatsFormat | undefined {
  if (type === "application/openmetrics-text") return "openmetrics";
  if (type === "text/plain" && version !== undefined) return "prometheus"; // Prometheus' text format, versioned
  if (type === "application/json") return "json";
  return undefined;
}

/**
 * The format for a request: `?format=text|json|prometheus|openmetrics`
 * wins; otherwise the `Accept` media range with the highest `q` among
 * `application/openmetrics-text` (OpenMetrics), a versioned `text/plain`
 * such as `text/plain;version=0.0.4` (Prometheus text) and
 * `application/json`; anything else gives `fallback` (the gem's text).
 * Undefined for an unknown `?format=`.
 *
 * @example
 * ```ts
 * chooseFormat(undefined, "application/json"); // "json"
 * chooseFormat(undefined, "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"); // "openmetrics"
 * chooseFormat("prometheus", "*\/*");           // "prometheus"
 * chooseFormat(undefined, undefined);           // "text"
 * ```
 */
export function chooseFormat(
  query: string | undefined,
  accept: string | undefined,
  fallback: StatsFormat = "text",
): StatsFormat | undefined {
  if (query !== undefined && query !== "") {
    return (FORMATS as readonly string[]).includes(query) ? query as StatsFormat : undefined;
  }
  if (!accept) return fallback;
  let best: StatsFormat | undefined, bestQ = 0;
  for (const range of accept.toLowerCase().split(",")) {
    const [type, ...params] = range.split(";").map((x) => x.trim());
    let q = 1, version: string | undefined;
    for (const param of params) {
      const eq = param.indexOf("=");
      const key = param.slice(0, eq).trim(), value = param.slice(eq + 1).trim();
      if (key === "q") q = Number(value);
      else if (key === "version") version = value;
    }
    const format = formatOfMediaType(type, version);
    if (format !== undefined && q > bestQ) [best, bestQ] = [format, q];
  }
  return best ?? fallback;
}
