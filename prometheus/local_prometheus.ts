/**
 * A throwaway Prometheus on loopback (the Debian `prometheus` binary) for
 * the demo and the tests: a temporary config and data directory, a short
 * scrape interval, the raindrops rules loaded, and the HTTP API to ask it.
 *
 * @module
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";

/** Options for {@link startPrometheus}. */
export interface LocalPrometheusOptions {
  /** `host:port` of each target to scrape. */
  targets: readonly string[];
  /** Path scraped on every target (default `/_raindrops`). */
  metricsPath?: string;
  /** Scrape and rule evaluation interval (default `1s`). */
  interval?: string;
  /** Port of Prometheus' own web UI and API (default: a free one). */
  port?: number;
  /** Prefix of the temporary directory (default `/tmp/raindrops-prometheus-`). */
  dirPrefix?: string;
}

/** A running Prometheus. */
export interface LocalPrometheus {
  /** Its web UI and API, `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** Runs an instant query; rejects when Prometheus answers with an error. */
  query(expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
  /** Stops it and removes its directory. */
  stop(): Promise<void>;
}

/** The `prometheus` binary on PATH, or undefined when it is not installed. */
export function prometheusBinary(): string | undefined {
  const probe = spawnSync("prometheus", ["--version"], { stdio: "ignore" });
  return probe.error ? undefined : "prometheus";
}

/** A port free on 127.0.0.1 right now (taken by whoever binds it first). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

const RULES = new URL("./raindrops.rules.yml", import.meta.url).pathname;

/**
 * Starts Prometheus scraping `targets` and waits until it is ready (at
 * most 20 s). The caller must {@link LocalPrometheus.stop} it.
 *
 * @example
 * ```ts
 * const prom = await startPrometheus({ targets: ["127.0.0.1:8080"] });
 * console.log(await prom.query("raindrops_workers"));
 * await prom.stop();
 * ```
 */
export async function startPrometheus(options: LocalPrometheusOptions): Promise<LocalPrometheus> {
  const binary = prometheusBinary();
  if (!binary) throw new Error("prometheus is not installed (Debian package prometheus)");
  const interval = options.interval ?? "1s";
  const port = options.port ?? await freePort();
  const dir = mkdtempSync(options.dirPrefix ?? "/tmp/raindrops-prometheus-");
  const config = [
    "global:",
    `  scrape_interval: ${interval}`,
    `  scrape_timeout: ${interval}`,
    `  evaluation_interval: ${interval}`,
    `rule_files: [${JSON.stringify(RULES)}]`,
    "scrape_configs:",
    "  - job_name: raindrops",
    `    metrics_path: ${JSON.stringify(options.metricsPath ?? "/_raindrops")}`,
    `    static_configs: [{ targets: ${JSON.stringify(options.targets)} }]`,
  ].join("\n");
  writeFileSync(`${dir}/prometheus.yml`, config + "\n");
  const child: ChildProcess = spawn(binary, [
    `--config.file=${dir}/prometheus.yml`,
    `--storage.tsdb.path=${dir}/data`,
    `--web.listen-address=127.0.0.1:${port}`,
    "--log.level=warn",
  ], { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  child.stderr!.on("data", (d) => (log = (log + d).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = `http://127.0.0.1:${port}`;

  async function stop(): Promise<void> {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  }

  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) break;
    try {
      const res = await fetch(`${url}/-/ready`);
      await res.body?.cancel();
      if (res.ok) {
        return {
          url,
          stop,
          async query(expr) {
            const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`);
            const body = await res.json();
            if (body.status !== "success") throw new Error(`${expr}: ${body.errorType}: ${body.error}`);
            return body.data.result;
          },
        };
      }
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error(`prometheus did not become ready:\n${log}`);
}
