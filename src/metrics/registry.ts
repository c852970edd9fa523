/**
 * A registry of metrics kept in one shared file: every worker thread of
 * every process (Deno, Bun) that opens the same path writes its own region
 * of it, and any of them renders the totals.
 *
 * @module
 */
import { defaultStatsPath } from "../stats_path.ts";
import { DEFAULT_WORKER_SLOTS, MAX_WORKER_SLOTS } from "./_file.ts";
import { regionsOf, rowsOf, totalsOf } from "./_read.ts";
import type { MetricDefinition } from "./definition.ts";
import type { MetricEntry } from "./_series_log.ts";
import { Store } from "./_store.ts";
import { existsSync } from "node:fs";
import {
  counterFamily,
  escapeLabel,
  numberText,
  type PromClientValue,
  promClientValues,
  type RegistryFamily,
  renderRegistry,
} from "../exposition/registry_text.ts";

/** Content type of Prometheus text format 0.0.4. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
/** Content type of OpenMetrics 1.0. */
export const OPENMETRICS_CONTENT_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8";
/** The two content types a registry renders. */
export type RegistryContentType = typeof PROMETHEUS_CONTENT_TYPE | typeof OPENMETRICS_CONTENT_TYPE;

/** Options for {@link Registry}. */
export interface RegistryOptions {
  /**
   * The shared metrics file, e.g. `/dev/shm/raindrops-1000/shop.metrics`,
   * created mode 0600 when missing and opened at first use. Without a path
   * the registry lives in this thread's memory, shared with no one.
   */
  path?: string;
  /**
   * Worker regions when the file is created: the most worker threads that
   * write at once (default 128, at most 4096; 1 without a path). An
   * existing file keeps the number it was made with.
   */
  workerSlots?: number;
  /** What {@link Registry.metrics} renders (default Prometheus text). */
  contentType?: RegistryContentType;
}

/** What a metric's `get()` answers, as prom-client's `Registry` reads it. */
export interface MetricValues {
  /** The metric name. */
  name: string;
  /** The HELP text. */
  help: string;
  /** `counter`, `gauge`, `histogram` (or prom-client's `summary`). */
  type: string;
  /** How prom-client's cluster aggregation would combine it across processes. */
  aggregator: string;
  /** Each series' value and labels. */
  values: PromClientValue[];
}

/** A metric a registry can render: one of ours, or prom-client's (anything with prom-client's `get()`). */
export interface RegisteredMetric {
  /** The metric name (prom-client's `Registry` may rewrite it for OpenMetrics). */
  name: string;
  /** The HELP text. */
  readonly help: string;
  /** `counter`, `gauge`, `histogram` (or prom-client's `summary`). */
  readonly type: string;
  /** Its series as read now. */
  get(): Promise<MetricValues>;
}

/** The aggregator prom-client's cluster aggregation reads: our figures are already totals over workers. */
const AGGREGATOR = "first";

/** Internal: the store of a registry (opened on first use), for its metrics. */
export let storeOf: (registry: Registry) => Store;
/** Internal: a metric whose figures live in a registry's file. */
export let adopt: (registry: Registry, definition: MetricDefinition) => void;
/** Internal: sets where a registry's file is (a function: found at first use), unless it is open at another path. */
let placeAt: (registry: Registry, path: string | (() => string)) => boolean;
/** Internal: every metric of a registry's file as read now (see {@link readFamilies}). */
let familiesOf: (registry: Registry) => RegistryFamily[];
/** Internal: one metric's values read from its registry's file. */
export let valuesOf: (registry: Registry, definition: MetricDefinition) => PromClientValue[];

/**
 * Metrics shared by every worker through one file, rendered in Prometheus
 * text or OpenMetrics. Shaped like prom-client's `Registry`: metrics name
 * it in `registers`, `metrics()` renders them, `contentType` is the
 * matching header, and prom-client can merge it (`Registry.merge`) or
 * collect our metrics (`registers: [promRegistry]`).
 *
 * Everything in the file is rendered, including metrics defined only by
 * other processes; metrics of other registries (ours or prom-client's)
 * registered here are rendered through their `get()`.
 *
 * @example
 * ```ts
 * import { Counter, Registry } from "raindrops";
 * const registry = new Registry({ path: "/dev/shm/raindrops-1000/shop.metrics" });
 * const orders = new Counter({ name: "shop_orders_total", help: "Orders taken.", labelNames: ["kind"], registers: [registry] });
 * orders.labels("gift").inc();
 * await registry.metrics(); // '# HELP shop_orders_total Orders taken.\n# TYPE shop_orders_total counter\nshop_orders_total{kind="gift"} 1\n'
 * ```
 */
export class Registry {
  /** Content type of Prometheus text format 0.0.4. */
  static readonly PROMETHEUS_CONTENT_TYPE: typeof PROMETHEUS_CONTENT_TYPE = PROMETHEUS_CONTENT_TYPE;
  /** Content type of OpenMetrics 1.0. */
  static readonly OPENMETRICS_CONTENT_TYPE: typeof OPENMETRICS_CONTENT_TYPE = OPENMETRICS_CONTENT_TYPE;

  #path: string | undefined | (() => string);
  readonly #workerSlots: number;
  #contentType: RegistryContentType = PROMETHEUS_CONTENT_TYPE;
  #store: Store | null = null;
  readonly #metrics = new Map<string, RegisteredMetric>();
  /** Definitions of the metrics whose figures live in this registry's file. */
  readonly #own = new Map<string, MetricDefinition>();
  #defaultLabels = "";
  #defaultLabelNames = new Set<string>();

  static {
    storeOf = (r) => r.#open();
    adopt = (r, d) => void r.#own.set(d.name, d);
    familiesOf = (r) => {
      if (typeof r.#path === "function") r.#path = r.#path();
      return r.#idle ? [] : r.#families();
    };
    placeAt = (r, path) => {
      if (r.#store !== null) return r.#path === (typeof path === "function" ? path() : path);
      r.#path = path;
      return true;
    };
    valuesOf = (r, d) => {
      const store = r.#open();
      const m = store.log.metric(d), regions = regionsOf(store.file, d.type === "gauge");
      const totals = d.type === "gauge" ? new Float64Array(0) : totalsOf(store.file, regions.used);
      return promClientValues(m.definition, rowsOf(store.file, regions, totals, m));
    };
  }

  /**
   * A registry over the file at `options.path` (opened at first use), or
   * private to this thread without one. A content type string is accepted
   * in place of options, as prom-client's constructor takes.
   */
  constructor(options: RegistryOptions | RegistryContentType = {}) {
    if (typeof options === "string") options = { contentType: options };
    if (options === null || typeof options !== "object") throw new TypeError("options must be an object");
    if (options.path !== undefined && typeof options.path !== "string") {
      throw new TypeError(`path must be a string, got ${typeof options.path}`);
    }
    this.#path = options.path;
    const slots = options.workerSlots ?? (options.path === undefined ? 1 : DEFAULT_WORKER_SLOTS);
    if (typeof slots !== "number") throw new TypeError(`workerSlots must be a number, got ${typeof slots}`);
    if (!Number.isInteger(slots) || slots < 1 || slots > MAX_WORKER_SLOTS) {
      throw new RangeError(`workerSlots must be an integer from 1 to ${MAX_WORKER_SLOTS}, got ${slots}`);
    }
    this.#workerSlots = slots;
    if (options.contentType !== undefined) this.setContentType(options.contentType);
  }

  #open(): Store {
    if (this.#store === null) {
      if (typeof this.#path === "function") this.#path = this.#path();
      this.#store = new Store(this.#path, this.#workerSlots);
    }
    return this.#store;
  }

  /** The shared file (undefined for a registry private to its thread). */
  get path(): string | undefined {
    if (typeof this.#path === "function") this.#path = this.#path();
    return this.#path;
  }

  /** The content type of what {@link metrics} renders. */
  get contentType(): RegistryContentType {
    return this.#contentType;
  }

  /** Chooses Prometheus text or OpenMetrics for {@link metrics}. */
  setContentType(contentType: RegistryContentType): void {
    if (contentType !== PROMETHEUS_CONTENT_TYPE && contentType !== OPENMETRICS_CONTENT_TYPE) {
      throw new TypeError(`content type must be Registry.PROMETHEUS_CONTENT_TYPE or OPENMETRICS_CONTENT_TYPE`);
    }
    this.#contentType = contentType;
  }

  /** Adds a metric (ours or prom-client's); Error when another metric of the same name is registered. */
  registerMetric(metric: RegisteredMetric): void {
    if (metric === null || typeof metric !== "object" || typeof metric.get !== "function") {
      throw new TypeError("metric must be a metric (an object with name, help, type and get())");
    }
    const had = this.#metrics.get(metric.name);
    if (had !== undefined && had !== metric) throw new Error(`a metric named ${metric.name} is already registered`);
    this.#metrics.set(metric.name, metric);
  }

  /** The registered metric named `name`. */
  getSingleMetric(name: string): RegisteredMetric | undefined {
    return this.#metrics.get(name);
  }

  /** Forgets a registered metric here (its figures stay in the file). */
  removeSingleMetric(name: string): void {
    this.#metrics.delete(name);
    this.#own.delete(name);
  }

  /** Forgets every registered metric and the default labels (the figures stay in the file). */
  clear(): void {
    this.#metrics.clear();
    this.#own.clear();
    this.setDefaultLabels({});
  }

  /** Labels put on every series this registry renders (a series' own label of the same name wins). */
  setDefaultLabels(labels: Readonly<Record<string, string | number>>): void {
    if (labels === null || typeof labels !== "object") throw new TypeError("labels must be an object");
    const entries = Object.entries(labels);
    for (const [name] of entries) {
      if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name) || name.startsWith("__")) {
        throw new RangeError(
          `label name ${JSON.stringify(name)} is invalid ([a-zA-Z_][a-zA-Z0-9_]*, not starting "__")`,
        );
      }
    }
    this.#defaultLabelNames = new Set(entries.map(([n]) => n));
    this.#defaultLabels = entries.map(([n, v]) => `${n}="${escapeLabel(String(v))}"`).join(",");
  }

  /**
   * Every registered metric, and a read-only metric for each metric of the
   * file that is not registered here: what prom-client's `Registry.merge`
   * takes.
   */
  getMetricsAsArray(): RegisteredMetric[] {
    const out = [...this.#metrics.values()];
    for (const m of this.#entries()) {
      if (this.#metrics.has(m.definition.name)) continue;
      const d = m.definition;
      // `name` as prom-client's registry may leave it (it drops a counter's `_total` for OpenMetrics).
      const view: RegisteredMetric = {
        name: d.name,
        help: d.help,
        type: d.type,
        get: () =>
          Promise.resolve({
            name: view.name,
            help: d.help,
            type: d.type,
            aggregator: AGGREGATOR,
            values: valuesOf(this, d),
          }),
      };
      out.push(view);
    }
    return out;
  }

  /** Each metric's `get()` answer. */
  getMetricsAsJSON(): Promise<MetricValues[]> {
    return Promise.all(this.getMetricsAsArray().map((m) => m.get()));
  }

  /** The file's metrics, this registry's own definitions added first (so they show before their first use). */
  #entries(): MetricEntry[] {
    const store = this.#open();
    for (const d of this.#own.values()) {
      try {
        store.log.metric(d);
      } catch { /* a mismatched or unplaceable definition fails where it is used, not in every scrape */ }
    }
    store.log.catchUp(false);
    store.file.mapCells();
    return [...store.log.metrics];
  }

  /** The file's metrics (or only the one named `only`) as read now. */
  #families(only?: string): RegistryFamily[] {
    const entries = this.#entries().filter((m) => only === undefined || m.definition.name === only);
    const file = this.#open().file;
    const regions = regionsOf(file, entries.some((m) => m.definition.type === "gauge"));
    const totals = totalsOf(file, regions.used);
    return entries.map((m) => ({ definition: m.definition, rows: rowsOf(file, regions, totals, m) }));
  }

  /** The file's metrics rendered (no `# EOF`). */
  #renderFile(openMetrics: boolean, only?: string): string {
    return renderRegistry(this.#families(only), openMetrics, this.#defaultLabels);
  }

  /** True when reading would only create an empty file: nothing defined here, no file yet. */
  get #idle(): boolean {
    return this.#store === null && this.#own.size === 0 && typeof this.#path === "string" && !existsSync(this.#path);
  }

  /** A metric of another registry or of prom-client, through its `get()`. */
  async #renderForeign(metric: RegisteredMetric, openMetrics: boolean): Promise<string> {
    const v = await metric.get();
    const family = openMetrics && v.type === "counter" ? counterFamily(v.name) : v.name;
    let out = `# HELP ${family} ${v.help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}\n# TYPE ${family} ${v.type}\n`;
    for (const value of v.values ?? []) {
      let name = value.metricName ?? v.name;
      if (openMetrics && v.type === "counter" && value.metricName === undefined) name = `${family}_total`;
      const labels = Object.entries(value.labels ?? {}).filter(([n]) => !this.#defaultLabelNames.has(n))
        .map(([n, x]) => `${n}="${escapeLabel(String(x))}"`);
      const all = [this.#defaultLabels, ...labels].filter(Boolean).join(",");
      out += `${name}${all ? `{${all}}` : ""} ${numberText(value.value)}\n`;
    }
    return out;
  }

  /** Every metric rendered as {@link contentType} says (OpenMetrics ends with `# EOF`). */
  async metrics(): Promise<string> {
    const openMetrics = this.#contentType === OPENMETRICS_CONTENT_TYPE;
    let out = this.#renderFile(openMetrics);
    for (const m of this.#metrics.values()) {
      if (!this.#own.has(m.name)) out += await this.#renderForeign(m, openMetrics);
    }
    return openMetrics ? `${out}# EOF\n` : out;
  }

  /** One metric rendered (without `# EOF`). */
  async getSingleMetricAsString(name: string): Promise<string> {
    const openMetrics = this.#contentType === OPENMETRICS_CONTENT_TYPE;
    const registered = this.#metrics.get(name);
    if (registered !== undefined && !this.#own.has(name)) return await this.#renderForeign(registered, openMetrics);
    return this.#renderFile(openMetrics, name);
  }

  /**
   * Frees this thread's region of the file (its figures stay for the next
   * worker) and unmaps it; a later use opens it again. For a graceful
   * shutdown; a worker that dies without it loses nothing either.
   */
  close(): void {
    this.#store?.close();
    this.#store = null;
  }

  /** {@link close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * Every metric of `registry`'s file as read now, for an exposition that
 * renders them beside raindrops' own series (the stats endpoint's
 * `StatsSnapshot.metrics`). Reading claims no region; a registry with no
 * file yet and nothing defined gives none (the file is not created).
 *
 * @example
 * ```ts
 * import { readFamilies, register } from "./registry.ts";
 * readFamilies(register).map((f) => f.definition.name); // e.g. ["jobs_total"]
 * ```
 */
export function readFamilies(registry: Registry = register): RegistryFamily[] {
  return familiesOf(registry);
}

/** The file of the default registry: beside the middleware's stats file, with `.metrics` added. */
export function defaultMetricsPath(): string {
  return `${defaultStatsPath()}.metrics`;
}

/**
 * The default registry, where metrics go when their `registers` names
 * none of ours: the file beside the middleware's default stats file
 * ({@link defaultMetricsPath}), opened at first use, so every worker
 * started from the same script shares it and the middleware's stats
 * endpoint shows it.
 *
 * @example
 * ```ts
 * import { Counter, register } from "raindrops";
 * new Counter({ name: "jobs_total", help: "Jobs run." }).inc();
 * await register.metrics(); // "# HELP jobs_total Jobs run.\n# TYPE jobs_total counter\njobs_total 1\n" (plus every worker's)
 * ```
 */
export const register: Registry = new Registry({ workerSlots: DEFAULT_WORKER_SLOTS });
placeAt(register, defaultMetricsPath); // found at first use: the environment and main script are known by then

/**
 * Moves the default registry's file beside the stats file at `statsPath`
 * (`<statsPath>.metrics`) unless it is open already; true when it moved or
 * was there already. For the middleware given its own stats file, so its
 * endpoint and the user's metrics meet in the same place.
 *
 * @example
 * ```ts
 * import { placeDefaultRegistry, register } from "raindrops";
 * placeDefaultRegistry("/dev/shm/raindrops-1000/shop"); // true
 * register.path; // "/dev/shm/raindrops-1000/shop.metrics"
 * ```
 */
export function placeDefaultRegistry(statsPath: string): boolean {
  if (typeof statsPath !== "string") throw new TypeError(`statsPath must be a string, got ${typeof statsPath}`);
  return placeAt(register, `${statsPath}.metrics`);
}
