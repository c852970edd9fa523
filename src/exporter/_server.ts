/**
 * The exporter's HTTP side on `node:http` (the same code on Deno, Bun and
 * Node.js): the landing page at `/`, the metrics, `/-/healthy`, and the
 * periodic listener sample that feeds the `_max` peaks.
 *
 * @module
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Buffer } from "node:buffer";
import process from "node:process";
import { renderFamilies } from "../exposition/_prometheus_text.ts";
import { VERSION } from "../version.ts";
import type { Collector } from "./_collector.ts";

const TEXT = "text/plain; version=0.0.4; charset=utf-8";
const OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/** What the server needs beyond the collector. */
export interface ExporterServerOptions {
  host: string;
  port: number;
  telemetryPath: string;
  /** Milliseconds between listener samples for the peaks. */
  peakIntervalMs: number;
  /** Listener names given, for the landing page (empty: every listener). */
  listeners: readonly string[];
  /** Where errors of scrapes and samples go (default stderr). */
  log?: (line: string) => void;
}

/** A running exporter. */
export interface RunningExporter {
  /** `http://host:port` it serves on. */
  readonly url: string;
  /** Stops serving and sampling. */
  close(): Promise<void>;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

function landingPage(o: ExporterServerOptions): string {
  const watched = o.listeners.length ? o.listeners.map(escapeHtml).join(", ") : "every listener";
  const path = escapeHtml(o.telemetryPath);
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>raindrops exporter</title></head>
<body>
<h1>raindrops exporter</h1>
<p>Version ${VERSION}. Listen-queue figures of ${watched}.</p>
<ul><li><a href="${path}">Metrics</a></li><li><a href="/-/healthy">Health</a></li></ul>
</body></html>
`;
}

/** OpenMetrics when the scraper asks for it (Prometheus does by default), else text 0.0.4. */
function wantsOpenMetrics(req: IncomingMessage): boolean {
  return /application\/openmetrics-text/i.test(req.headers.accept ?? "");
}

function send(res: ServerResponse, status: number, type: string, body: string, head: boolean): void {
  res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(body) });
  res.end(head ? undefined : body);
}

/**
 * Serves the exporter and samples listeners every `peakIntervalMs`.
 * Resolves once listening; rejects when the address cannot be bound.
 */
export async function serveExporter(collector: Collector, o: ExporterServerOptions): Promise<RunningExporter> {
  const log = o.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const landing = landingPage(o);
  let lastSampleError: string | undefined;
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    const head = req.method === "HEAD";
    if (req.method !== "GET" && !head) {
      res.setHeader("allow", "GET, HEAD");
      return send(res, 405, "text/plain; charset=utf-8", "Method Not Allowed\n", head);
    }
    if (path === o.telemetryPath) {
      const openMetrics = wantsOpenMetrics(req);
      let body: string;
      try {
        body = renderFamilies(collector.collect(), openMetrics);
      } catch (e) {
        const message = `raindrops-exporter: scrape failed: ${(e as Error).message}`;
        log(message);
        return send(res, 500, "text/plain; charset=utf-8", `${message}\n`, head);
      }
      return send(res, 200, openMetrics ? OPENMETRICS : TEXT, body, head);
    }
    if (path === "/") return send(res, 200, "text/html; charset=utf-8", landing, head);
    if (path === "/-/healthy") return send(res, 200, "text/plain; charset=utf-8", "OK\n", head);
    send(res, 404, "text/plain; charset=utf-8", "Not Found\n", head);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port, o.host === "" ? undefined : o.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const timer = setInterval(() => {
    try {
      collector.sample();
      lastSampleError = undefined;
    } catch (e) {
      // Scrapes fail with the same error; say it once, not every interval.
      const message = (e as Error).message;
      if (message !== lastSampleError) log(`raindrops-exporter: listener sample failed: ${message}`);
      lastSampleError = message;
    }
  }, o.peakIntervalMs);
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(":") ? `[${address}]` : address;
  return {
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(timer);
        server.close(() => resolve());
        server.closeAllConnections?.();
      }),
  };
}
