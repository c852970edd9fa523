/**
 * Renders a stats snapshot as the gem's text, as JSON, or as Prometheus
 * text exposition format (0.0.4), and picks the format for a request.
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
}

/** Everything the stats endpoint reports. */
export interface StatsSnapshot {
  /** Requests inside the app right now, over every live worker. */
  calling: number;
  /** Responses whose body is still being written, over every live worker. */
  writing: number;
  /** Live workers counted (omitted from the gem's text format). */
  workers?: number;
  /** Listener lines, in order. */
  listeners: readonly ListenerSnapshot[];
}

/** The output formats. */
export type StatsFormat = "text" | "json" | "prometheus";

/** The formats, as accepted by `?format=`. */
export const FORMATS: readonly StatsFormat[] = Object.freeze(["text", "json", "prometheus"]);

/** Content-Type of each format. */
export const CONTENT_TYPES: Readonly<Record<StatsFormat, string>> = Object.freeze({
  text: "text/plain; charset=utf-8",
  json: "application/json; charset=utf-8",
  prometheus: "text/plain; version=0.0.4; charset=utf-8",
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

/** Escapes a Prometheus label value. */
function label(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function gauge(name: string, help: string, samples: string[]): string {
  return `# HELP ${name} ${help}\n# TYPE ${name} gauge\n${samples.join("")}`;
}

/**
 * Prometheus text format 0.0.4: gauges `raindrops_calling`,
 * `raindrops_writing`, `raindrops_workers`, and per listener
 * `raindrops_listener_active{listener="..."}` and
 * `raindrops_listener_queued{listener="..."}` (omitted with no listener).
 *
 * @example
 * ```ts
 * renderPrometheus({ calling: 3, writing: 1, workers: 2, listeners: [] });
 * // "# HELP raindrops_calling ...\n# TYPE raindrops_calling gauge\nraindrops_calling 3\n..."
 * ```
 */
export function renderPrometheus(s: StatsSnapshot): string {
  const parts = [
    gauge("raindrops_calling", "Requests inside the application now, over all live workers.", [
      `raindrops_calling ${s.calling}\n`,
    ]),
    gauge("raindrops_writing", "Responses whose body is being written now, over all live workers.", [
      `raindrops_writing ${s.writing}\n`,
    ]),
  ];
  if (s.workers !== undefined) {
    parts.push(
      gauge("raindrops_workers", "Live workers sharing the stats file.", [`raindrops_workers ${s.workers}\n`]),
    );
  }
  if (s.listeners.length > 0) {
    const l = s.listeners.map((x) => `{listener="${label(x.address)}"}`);
    parts.push(
      gauge(
        "raindrops_listener_active",
        "Accepted connections open on the listener.",
        s.listeners.map((x, i) => `raindrops_listener_active${l[i]} ${x.active}\n`),
      ),
      gauge(
        "raindrops_listener_queued",
        "Connections waiting in the listener's accept queue.",
        s.listeners.map((x, i) => `raindrops_listener_queued${l[i]} ${x.queued}\n`),
      ),
    );
  }
  return parts.join("");
}

/** Renders a snapshot in a format. */
export function render(format: StatsFormat, s: StatsSnapshot): string {
  return format === "json" ? renderJson(s) : format === "prometheus" ? renderPrometheus(s) : renderText(s);
}

/**
 * The format for a request: `?format=text|json|prometheus` wins; otherwise
 * an `Accept` naming `application/openmetrics-text` or `version=0.0.4` (what
 * Prometheus sends) gives Prometheus, one naming `application/json` gives
 * JSON, and anything else `fallback` (the gem's text). Undefined for an unknown
 * `?format=`.
 *
 * @example
 * ```ts
 * chooseFormat(undefined, "application/json"); // "json"
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
  const a = accept.toLowerCase();
  if (a.includes("application/openmetrics-text") || a.includes("version=0.0.4")) return "prometheus";
  if (a.includes("application/json")) return "json";
  return fallback;
}
