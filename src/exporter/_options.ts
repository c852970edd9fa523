/**
 * The exporter's command line: flags named as Prometheus exporters name
 * theirs (`--web.listen-address`, `--web.telemetry-path`), listeners as
 * arguments as with `raindrops-listener-stats`.
 *
 * @module
 */
import { parseListener } from "../linux/listeners.ts";

/** The port the exporter listens on by default. */
export const DEFAULT_PORT = 9882;

/** The usage text printed by `--help`. */
export const USAGE = `Usage: raindrops-exporter [options] [ADDR|PATH ...]

Serves listen-queue figures of TCP listen addresses (0.0.0.0:8080,
[::]:8080) and unix socket paths (/run/app.sock, @abstract) to Prometheus.
With none, every TCP and unix listener in this network namespace, up to
--max-listeners (first by address).

Options:
  --web.listen-address=HOST:PORT  where to serve (default 127.0.0.1:${DEFAULT_PORT};
                                  :PORT for every interface)
  --web.telemetry-path=PATH       the metrics path (default /metrics)
  --stats=PATH                    also report a raindrops stats file (the
                                  middleware's calling, writing, workers);
                                  repeatable
  --max-listeners=N               with no ADDR|PATH, report at most N
                                  listeners (default 1000)
  --peak.interval=SECONDS         how often listeners are sampled for the
                                  _max peaks (default 1)
  --peak.window=SECONDS           how far back the _max peaks reach
                                  (default 60)
  -V, --version                   print the version
  -h, --help                      show this help
  --                              what follows is an address or path

Exit codes: 0 stopped by SIGINT or SIGTERM, 1 could not start, 2 bad input.`;

/** Parsed command line. */
export interface ExporterOptions {
  /** Host to bind ("" for every interface) and port. */
  host: string;
  port: number;
  telemetryPath: string;
  /** Listener names given, in order; empty: every listener. */
  listeners: string[];
  stats: string[];
  maxListeners: number;
  peakIntervalMs: number;
  peakWindowMs: number;
  help: boolean;
  version: boolean;
}

/** Bad command-line input: printed with a hint, exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

function positive(flag: string, text: string | undefined, integer: boolean): number {
  if (text === undefined) throw new UsageError(`${flag} needs a value`);
  const n = Number(text);
  if (text.trim() === "" || !Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new UsageError(`${flag} needs a positive ${integer ? "integer" : "number"}, got ${JSON.stringify(text)}`);
  }
  return n;
}

/** Splits `host:port`, `[v6]:port` or `:port`; throws UsageError naming the form. */
export function parseListenAddress(text: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    throw new UsageError(
      `--web.listen-address needs HOST:PORT, [IPv6]:PORT or :PORT, got ${JSON.stringify(text)}`,
    );
  }
  return { host: m[1] ?? m[2], port };
}

/** Flags that take a value (`--flag=value` or `--flag value`), and what each sets. */
const VALUE_FLAGS: Record<string, (o: ExporterOptions, value: string, flag: string) => void> = {
  "--web.listen-address": (o, v) => Object.assign(o, parseListenAddress(v)),
  "--web.telemetry-path": (o, v, flag) => {
    if (!v.startsWith("/") || v === "/") {
      throw new UsageError(`${flag} needs a path starting with "/" other than "/", got ${JSON.stringify(v)}`);
    }
    o.telemetryPath = v;
  },
  "--stats": (o, v, flag) => {
    if (v === "") throw new UsageError(`${flag} needs a stats file path`);
    if (!o.stats.includes(v)) o.stats.push(v);
  },
  "--max-listeners": (o, v, flag) => (o.maxListeners = positive(flag, v, true)),
  "--peak.interval": (o, v, flag) => (o.peakIntervalMs = positive(flag, v, false) * 1000),
  "--peak.window": (o, v, flag) => (o.peakWindowMs = positive(flag, v, false) * 1000),
};

/** Flags without a value. */
const SWITCHES: Record<string, "help" | "version"> = {
  "-h": "help",
  "--help": "help",
  "-V": "version",
  "--version": "version",
};

/**
 * Parses the arguments after the script name; throws UsageError on bad input.
 *
 * @example
 * ```ts
 * parseExporterArgs(["--web.listen-address=:9882", "0.0.0.0:8080"]); // { host: "", port: 9882, listeners: ["0.0.0.0:8080"], ... }
 * ```
 */
export function parseExporterArgs(argv: readonly string[]): ExporterOptions {
  const o: ExporterOptions = {
    host: "127.0.0.1",
    port: DEFAULT_PORT,
    telemetryPath: "/metrics",
    listeners: [],
    stats: [],
    maxListeners: 1000,
    peakIntervalMs: 1000,
    peakWindowMs: 60_000,
    help: false,
    version: false,
  };
  let listenersOnly = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (listenersOnly || !arg.startsWith("-") || arg === "-") {
      addListener(o, arg);
      continue;
    }
    if (arg === "--") {
      listenersOnly = true;
      continue;
    }
    if (arg in SWITCHES) {
      o[SWITCHES[arg]] = true;
      continue;
    }
    const eq = arg.indexOf("=");
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const set = VALUE_FLAGS[flag];
    if (!set) throw new UsageError(`unknown option ${flag}`);
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new UsageError(`${flag} needs a value`);
    set(o, value, flag);
  }
  if (o.peakWindowMs < o.peakIntervalMs) {
    throw new UsageError("--peak.window must be at least --peak.interval");
  }
  return o;
}

function addListener(o: ExporterOptions, name: string): void {
  try {
    parseListener(name);
  } catch (e) {
    throw new UsageError((e as Error).message); // with parseListener's hint (a "/" for paths, [::]:port for *:port)
  }
  if (!o.listeners.includes(name)) o.listeners.push(name);
}
