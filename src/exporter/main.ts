#!/usr/bin/env node
/**
 * raindrops-exporter: serves the listen-queue figures of any server's TCP
 * and unix listeners (nginx, HAProxy, unicorn, a Go service: no code in the
 * server) and of raindrops stats files to Prometheus.
 *
 * ```sh
 * npx raindrops-exporter [options] [ADDR|PATH ...]                  # installed package, Node.js 26+
 * bunx --bun raindrops-exporter [options] [ADDR|PATH ...]           # installed package, Bun
 * deno run -A npm:raindrops/raindrops-exporter [options] ...        # installed package, Deno
 * deno run -A src/exporter/main.ts [options] [ADDR|PATH ...]        # a clone (also bun, node)
 * ```
 *
 * Exit codes: 0 stopped by SIGINT or SIGTERM, 1 could not start (address in
 * use, no sock_diag), 2 bad input.
 *
 * @example
 * ```sh
 * deno run -A src/exporter/main.ts --web.listen-address=127.0.0.1:9882 0.0.0.0:8080 /run/app.sock
 * curl -s 127.0.0.1:9882/metrics | grep queued
 * ```
 *
 * @module
 */
import process from "node:process";
import { InetDiagSocket } from "../linux/diag_socket.ts";
import { kernelListenerStats } from "../linux/listeners.ts";
import { VERSION } from "../version.ts";
import { Collector } from "./_collector.ts";
import { parseExporterArgs, USAGE, UsageError } from "./_options.ts";
import { serveExporter } from "./_server.ts";

const NAME = "raindrops-exporter";

/** Runs the exporter with `argv` (arguments after the script) until SIGINT or SIGTERM; resolves to the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  let o;
  try {
    o = parseExporterArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`${NAME}: ${e.message}\nTry --help.\n`);
    return 2;
  }
  if (o.help || o.version) {
    process.stdout.write(o.help ? `${USAGE}\n` : `${NAME} ${VERSION}\n`);
    return 0;
  }
  let sock: InetDiagSocket;
  try {
    sock = new InetDiagSocket();
  } catch (e) {
    process.stderr.write(`${NAME}: ${(e as Error).message}\n`);
    return 1;
  }
  const collector = new Collector({
    listeners: o.listeners,
    stats: o.stats,
    maxListeners: o.maxListeners,
    peakWindowMs: o.peakWindowMs,
    listenStats: (names) => kernelListenerStats(names, sock),
    onStatsChange: (path, error) =>
      process.stderr.write(`${NAME}: stats file ${path}: ${error ? error.message : "readable again"}\n`),
  });
  try {
    collector.sample(); // a kernel that refuses sock_diag stops us here, not at the first scrape
  } catch (e) {
    process.stderr.write(`${NAME}: ${(e as Error).message}\n`);
    sock.close();
    return 1;
  }
  let running;
  try {
    running = await serveExporter(collector, { ...o });
  } catch (e) {
    process.stderr.write(`${NAME}: cannot listen on ${o.host || "*"}:${o.port}: ${(e as Error).message}\n`);
    sock.close();
    return 1;
  }
  process.stderr.write(`${NAME} ${VERSION}: serving ${running.url}${o.telemetryPath}\n`);
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await running.close();
  sock.close();
  return 0;
}

// Run directly; the package's bin is a launcher that calls main() itself.
if (import.meta.main) {
  process.exit(await main(process.argv.slice(2)));
}
