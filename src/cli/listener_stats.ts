#!/usr/bin/env bun
/**
 * raindrops-listener-stats: prints `timestamp address active queued` rows for TCP
 * listen addresses and unix socket paths, once or every `-d` seconds.
 *
 * ```sh
 * bunx raindrops-listener-stats [options] [ADDR|PATH ...]         # installed package, Bun
 * deno run -A npm:raindrops/raindrops-listener-stats [options] ...  # installed package, Deno
 * deno run -A src/cli/listener_stats.ts [options] [ADDR|PATH ...]  # a clone
 * ```
 *
 * Exit codes: 0 done (or stdout closed early, e.g. `| head -1`), 1 the
 * kernel query failed, 2 bad input, 130 interrupted by Ctrl-C (SIGINT).
 *
 * @example
 * ```sh
 * deno run -A src/cli/listener_stats.ts -d 1 -t 5 0.0.0.0:8080 /run/app.sock
 * ```
 *
 * @module
 */
import { writeSync } from "node:fs";
import process from "node:process";
import { VERSION } from "../version.ts";
import { isoSeconds } from "../_iso_time.ts";
import { commandLineArgs } from "./_args.ts";
import { Aggregate } from "../aggregate/aggregate.ts";
import { InetDiagSocket } from "../linux/diag_socket.ts";
import { type ListenStats, tcpListenerStats, unixListenerStats } from "../linux/listen_stats.ts";
import { nothingListens, parseListener } from "../linux/listeners.ts";

/** The command's name, as installed by the package. */
const NAME = "raindrops-listener-stats";

/** The usage text printed by `--help`. */
export const USAGE = `Usage: raindrops-listener-stats [options] [ADDR|PATH ...]

Prints "timestamp address active queued" for each TCP listen address
(1.2.3.4:80, [::1]:80) or unix socket path (/run/app.sock, ./app.sock,
@abstract). With none, every TCP listener on the machine (IPv4 and IPv6).

Options:
  -d, --delay SECONDS     repeat every SECONDS (fractions allowed) until Ctrl-C
  -t, --threshold N       print only rows with at least N queued
  -n, --count N           stop after N samples (default 1 without -d)
  -u, --unix              with no addresses, add every unix listener
  -j, --json              one JSON object per row (timestamp, address,
                          listening, active, queued, total, backlog), no header
  -V, --version           print the version
  -h, --help              show this help
  --                      what follows is an address or path, even "-x"

An address no listening socket takes connections for (nothing bound to it,
to its wildcard or to [::]) ends its row with "(nothing listens)".

Signals while repeating: SIGUSR2 prints running aggregates (samples, mean
and max of active and queued per address) to stderr; SIGHUP resets them.
Exit codes: 0 done or output closed, 1 query failed, 2 bad input, 130 SIGINT.`;

/** Parsed command line. */
export interface CliOptions {
  delay?: number;
  threshold: number;
  count?: number;
  unix: boolean;
  json: boolean;
  help: boolean;
  version: boolean;
  tcp: string[];
  paths: string[];
}

/** Bad command-line input: printed with a hint, exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

function number(flag: string, text: string | undefined, integer: boolean, min: number): number {
  if (text === undefined) throw new UsageError(`${flag} needs a value`);
  const n = Number(text);
  if (text.trim() === "" || !Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) {
    const what = integer ? `an integer >= ${min}` : "a positive number of seconds";
    throw new UsageError(`${flag} needs ${what}, got ${JSON.stringify(text)}`);
  }
  return n;
}

/**
 * Parses the arguments after the script name; throws UsageError on bad input.
 *
 * @example
 * ```ts
 * parseArgs(["-d", "0.5", "127.0.0.1:80"]); // { delay: 0.5, tcp: ["127.0.0.1:80"], ... }
 * ```
 */
export function parseArgs(argv: readonly string[]): CliOptions {
  const o: CliOptions = { threshold: 0, unix: false, json: false, help: false, version: false, tcp: [], paths: [] };
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let inline: string | undefined;
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    if (eq > 0) [arg, inline] = [arg.slice(0, eq), arg.slice(eq + 1)];
    const value = () => inline ?? argv[++i];
    switch (arg) {
      case "-d":
      case "--delay": {
        const d = number(arg, value(), false, 0);
        if (d <= 0 || d > 2_000_000) {
          throw new UsageError(`${arg} needs a positive number of seconds, got ${JSON.stringify(argv[i])}`);
        }
        o.delay = d;
        break;
      }
      case "-t":
      case "--threshold":
        o.threshold = number(arg, value(), true, 0);
        break;
      case "-n":
      case "--count":
        o.count = number(arg, value(), true, 1);
        break;
      case "-u":
      case "--unix":
        o.unix = true;
        break;
      case "-j":
      case "--json":
        o.json = true;
        break;
      case "-V":
      case "--version":
        o.version = true;
        break;
      case "-h":
      case "--help":
        o.help = true;
        break;
      case "--":
        for (const rest of argv.slice(i + 1)) addTarget(o, rest);
        i = argv.length;
        break;
      default:
        if (arg.startsWith("-") && arg.length > 1) throw new UsageError(`unknown option ${arg}`);
        addTarget(o, arg);
    }
  }
  return o;
}

function addTarget(o: CliOptions, arg: string): void {
  try {
    (parseListener(arg).kind === "tcp" ? o.tcp : o.paths).push(arg);
  } catch (e) {
    throw new UsageError((e as Error).message); // with parseListener's hint (a "/" for paths, [::]:port for *:port)
  }
}

/** One sample: every asked (or found) address with its stats, in order. */
export function sample(o: CliOptions, sock: InetDiagSocket): [string, ListenStats][] {
  const all = o.tcp.length === 0 && o.paths.length === 0;
  const rows: [string, ListenStats][] = [];
  if (all || o.tcp.length) {
    const tcp = tcpListenerStats(all ? undefined : o.tcp, sock);
    rows.push(...(all ? [...tcp].sort(byAddress) : tcp));
  }
  if (o.paths.length || (all && o.unix)) {
    const unix = unixListenerStats(all ? undefined : o.paths, sock);
    rows.push(...(all ? [...unix].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)) : unix));
  }
  return rows;
}

/** IPv4 before IPv6, then by address text, then by port. */
function byAddress([a]: [string, unknown], [b]: [string, unknown]): number {
  const split = (s: string) =>
    [s.startsWith("[") ? 1 : 0, s.slice(0, s.lastIndexOf(":")), Number(s.slice(s.lastIndexOf(":") + 1))] as const;
  const [fa, ha, pa] = split(a), [fb, hb, pb] = split(b);
  return fa - fb || (ha < hb ? -1 : ha > hb ? 1 : 0) || pa - pb;
}

const HEADER = ["timestamp", "address", "active", "queued"] as const;

/** The mark after a row's figures when no listening socket takes connections for its address. */
export const UNLISTENED_MARK = "  (nothing listens)";

/** The asked names among `rows` that no listening socket takes connections for (a typo'd port). */
export function unlistened(rows: [string, ListenStats][], sock: InetDiagSocket): Set<string> {
  return new Set(rows.filter(([name, s]) => nothingListens(name, s, sock)).map(([name]) => name));
}

/**
 * Formats rows under the header's columns; `width` is the address column's
 * width. A row in `quiet` ends with {@link UNLISTENED_MARK}, after its
 * columns, so the four columns stay what a script reads.
 */
export function formatRows(
  time: string,
  rows: [string, ListenStats][],
  width: number,
  quiet: ReadonlySet<string> = new Set(),
): string {
  return rows.map(([addr, s]) =>
    `${time.padEnd(20)} ${addr.padEnd(width)} ${String(s.active).padStart(10)} ${String(s.queued).padStart(10)}${
      quiet.has(addr) ? UNLISTENED_MARK : ""
    }\n`
  ).join("");
}

/**
 * Rows as JSON lines: `{"timestamp", "address", "listening", "active",
 * "queued", "total", "backlog"}`; `listening` is false for a row in `quiet`.
 */
export function formatJsonRows(
  time: string,
  rows: [string, ListenStats][],
  quiet: ReadonlySet<string> = new Set(),
): string {
  return rows.map(([address, s]) =>
    `${JSON.stringify({ timestamp: time, address, listening: !quiet.has(address), ...s.toJSON() })}\n`
  ).join("");
}

/** The header line for an address column `width` wide. */
export function formatHeader(width: number): string {
  return `${HEADER[0].padEnd(20)} ${HEADER[1].padEnd(width)} ${HEADER[2].padStart(10)} ${HEADER[3].padStart(10)}\n`;
}

/** Thrown (and caught in main) when stdout's reader went away. */
class OutputClosed extends Error {}

function write(fd: number, text: string): void {
  const bytes = new TextEncoder().encode(text);
  try {
    for (let off = 0; off < bytes.length;) off += writeSync(fd, bytes, off);
  } catch (e) {
    const code = (e as { code?: string }).code, name = (e as Error).name;
    if (code === "EPIPE" || name === "BrokenPipe" || /broken pipe|EPIPE/i.test(String(e))) throw new OutputClosed();
    throw e;
  }
}

/**
 * Per-address running aggregates of active and queued, dumped on SIGUSR2
 * (not SIGUSR1: Deno opens its inspector on SIGUSR1).
 */
class Running {
  #by = new Map<string, { active: Aggregate; queued: Aggregate }>();

  add(rows: [string, ListenStats][]): void {
    for (const [addr, s] of rows) {
      let a = this.#by.get(addr);
      if (!a) this.#by.set(addr, a = { active: new Aggregate(), queued: new Aggregate() });
      a.active.add(s.active);
      a.queued.add(s.queued);
    }
  }

  reset(): void {
    this.#by.clear();
  }

  dump(): string {
    const width = Math.max(7, ...[...this.#by.keys()].map((k) => k.length));
    let out = `${"address".padEnd(width)} ${"samples".padStart(8)} ${"active_mean".padStart(12)} ${
      "active_max".padStart(10)
    } ${"queued_mean".padStart(12)} ${"queued_max".padStart(10)}\n`;
    for (const [addr, { active, queued }] of this.#by) {
      out += `${addr.padEnd(width)} ${String(active.count).padStart(8)} ${(active.mean ?? 0).toFixed(2).padStart(12)} ${
        String(active.max ?? 0).padStart(10)
      } ${(queued.mean ?? 0).toFixed(2).padStart(12)} ${String(queued.max ?? 0).padStart(10)}\n`;
    }
    return out;
  }
}

/** Runs the CLI with `argv` (arguments after the script); resolves to the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  let o: CliOptions;
  try {
    o = parseArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    write(2, `${NAME}: ${e.message}\nTry --help.\n`);
    return 2;
  }
  if (o.help || o.version) {
    try {
      write(1, o.help ? `${USAGE}\n` : `${NAME} ${VERSION}\n`);
    } catch (e) {
      if (!(e instanceof OutputClosed)) throw e;
    }
    return 0;
  }
  const count = o.count ?? (o.delay === undefined ? 1 : Infinity);
  let sock: InetDiagSocket;
  try {
    sock = new InetDiagSocket();
  } catch (e) {
    write(2, `${NAME}: ${(e as Error).message}\n`);
    return 1;
  }
  const running = new Running();
  let interrupted = false;
  let wake: (() => void) | undefined;
  const onInt = () => {
    interrupted = true;
    wake?.();
  };
  const onDump = () => write(2, running.dump());
  const onReset = () => running.reset();
  process.on("SIGINT", onInt);
  process.on("SIGTERM", onInt);
  if (o.delay !== undefined) {
    process.on("SIGUSR2", onDump);
    process.on("SIGHUP", onReset);
  }
  try {
    let width = 0;
    for (let n = 0; n < count && !interrupted; n++) {
      if (n > 0) {
        await new Promise<void>((r) => {
          const t = setTimeout(r, o.delay! * 1000);
          wake = () => (clearTimeout(t), r());
        });
        wake = undefined;
        if (interrupted) break;
      }
      const time = isoSeconds(Date.now());
      const all = sample(o, sock);
      running.add(all);
      const rows = all.filter(([, s]) => s.queued >= o.threshold);
      const quiet = unlistened(rows, sock);
      if (o.json) {
        if (rows.length) write(1, formatJsonRows(time, rows, quiet));
        continue;
      }
      if (n === 0) {
        width = Math.max(HEADER[1].length, ...all.map(([a]) => a.length));
        write(1, formatHeader(width));
      }
      if (rows.length) write(1, formatRows(time, rows, width, quiet));
    }
    return interrupted ? 130 : 0;
  } catch (e) {
    if (e instanceof OutputClosed) return 0;
    write(2, `${NAME}: ${(e as Error).message}\n`);
    return 1;
  } finally {
    sock.close();
    process.off("SIGINT", onInt);
    process.off("SIGTERM", onInt);
    process.off("SIGUSR2", onDump);
    process.off("SIGHUP", onReset);
  }
}

if (import.meta.main) {
  process.exit(await main(commandLineArgs()));
}
