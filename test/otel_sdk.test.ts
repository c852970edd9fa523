/**
 * registerRaindropsInstruments on the OpenTelemetry JS SDK (whichever
 * runtime runs the test: Deno, Bun or Node.js): the SDK's Prometheus
 * exporter serves a real stats file's counts, a held listener's queue and
 * the metrics a child process defines in a shared registry file after the
 * instruments are registered, and a real Prometheus scrapes them. The SDK packages are not
 * dependencies of raindrops; the test skips when they are not installed.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { runFixture, type RuntimeName, tempShm } from "./_helpers.ts";
import { queuedListener } from "./fixtures/queued_listener.ts";
import { seriesOf } from "./fixtures/exporter_process.ts";
import { freePort, prometheusBinary, startPrometheus } from "../prometheus/local_prometheus.ts";
import { registerRaindropsInstruments } from "../src/otel/instruments.ts";
import type { OtelMeter } from "../src/otel/meter.ts";
import { WorkerStats } from "../src/worker_stats.ts";
import { Registry } from "../src/metrics/registry.ts";

/** The writer of the registry file: the other runtime than the test's, to cross runtimes. */
const WRITER: RuntimeName = "Deno" in globalThis ? "bun" : "deno";

// deno-lint-ignore no-explicit-any
type Any = any;

/** The SDK modules, or undefined when they are not installed. */
async function sdk(): Promise<{ MeterProvider: Any; PrometheusExporter: Any } | undefined> {
  try {
    const { MeterProvider } = await import("@opentelemetry/sdk-metrics" as string);
    const { PrometheusExporter } = await import("@opentelemetry/exporter-prometheus" as string);
    return { MeterProvider, PrometheusExporter };
  } catch {
    return undefined;
  }
}

test("the OTel SDK's Prometheus exporter serves raindrops' instruments, and a real Prometheus scrapes them", {
  timeout: 90_000,
}, async (t) => {
  const otel = await sdk();
  if (!otel) {
    t.skip("@opentelemetry/sdk-metrics and @opentelemetry/exporter-prometheus are not installed");
    return;
  }
  await using queue = await queuedListener(2);
  const a = queue.address;
  using file = tempShm("otel-sdk");
  using metricsFile = tempShm("otel-sdk-metrics");
  using registry = new Registry({ path: metricsFile.path });
  const stats = WorkerStats.open(file.path);
  stats.incr(WorkerStats.CALLING, 2);
  stats.incr(WorkerStats.FINISHED, 5);
  const port = await freePort();
  const exporter = new otel.PrometheusExporter({ host: "127.0.0.1", port, preventServerStart: true });
  await exporter.startServer();
  const provider = new otel.MeterProvider({ readers: [exporter] });
  const meter: OtelMeter = provider.getMeter("raindrops");
  const instruments = registerRaindropsInstruments(meter, {
    stats,
    listeners: [a],
    registries: [registry],
    attributes: { "service.instance.id": "test" },
  });
  try {
    const scrape = async () => await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.doesNotMatch(await scrape(), /^t_total/m, "no registry metric before the writer defines one");
    // 300 increments of t_total over v0..v49 and as many observations of t_seconds (0, 0.5, 1 in turn).
    const writer = await runFixture(WRITER, "metrics_writer.ts", ["run", metricsFile.path, "300"]);
    assert.equal(writer.stdout.trim(), "done 300", writer.stderr);
    // The collection that first reads them makes their instruments; the next one observes them.
    let body = await scrape();
    const end = Date.now() + 10_000;
    while (!/^t_total\{/m.test(body)) {
      if (Date.now() > end) throw new Error(`the registry's metrics never appeared:\n${body}`);
      await new Promise((r) => setTimeout(r, 50));
      body = await scrape();
    }
    const s = seriesOf(body);
    const listener =
      `server_address="127.0.0.1",server_port="${queue.port}",network_transport="tcp",network_type="ipv4"`;
    /** The value of `name` whose labels include every `key="value"` of `has`. */
    const find = (name: string, has: string) =>
      [...s].find(([k]) => k.startsWith(`${name}{`) && has.split(",").every((pair) => k.includes(pair)))?.[1];
    assert.equal(find("http_server_active_requests", 'service_instance_id="test"'), 2, body);
    assert.equal(find("raindrops_http_server_writing_responses", ""), 0, body);
    assert.equal(find("raindrops_workers", ""), 1, body);
    assert.equal(find("raindrops_http_server_requests_total", ""), 5, body);
    assert.equal(find("raindrops_listener_queued_connections", listener), 2, body);
    assert.equal(find("raindrops_listener_active_connections", listener), 0, body);
    assert.ok(find("raindrops_listener_queue_limit", listener)! > 0, body);
    assert.match(body, /# TYPE http_server_active_requests gauge/);
    assert.match(body, /# TYPE raindrops_http_server_requests_total counter/);
    assert.equal(find("t_total", 'v="v0"'), 6, body);
    assert.match(body, /# TYPE t_total counter/);
    assert.equal(find("t_seconds_bucket_total", 'v="v0",le="0.25"'), 2, body);
    assert.equal(find("t_seconds_bucket_total", 'v="v0",le="0.75"'), 4, body);
    assert.equal(find("t_seconds_bucket_total", 'v="v0",le="+Inf"'), 6, body);
    assert.equal(find("t_seconds_count_total", 'v="v0"'), 6, body);
    assert.equal(find("t_seconds_sum", 'v="v0"'), 3, body);
    assert.equal(find("raindrops_registry_series", 'raindrops_metric_name="t_total"'), 50, body);

    if (!prometheusBinary()) {
      t.diagnostic("prometheus not installed: the scrape by a real Prometheus was skipped");
      return;
    }
    const prom = await startPrometheus({ targets: [`127.0.0.1:${port}`], metricsPath: "/metrics", interval: "1s" });
    try {
      let seen: unknown;
      const ok = async () => {
        const r = await prom.query(`raindrops_listener_queued_connections{server_port="${queue.port}"}`);
        const c = await prom.query(`http_server_active_requests{service_instance_id="test"}`);
        const t = await prom.query(`sum(t_total)`);
        const h = await prom.query(`sum(t_seconds_bucket_total{le="0.75"})`);
        seen = [r, c, t, h];
        return r.length === 1 && r[0].value[1] === "2" && c.length === 1 && c[0].value[1] === "2" &&
          t[0]?.value[1] === "300" && h[0]?.value[1] === "200";
      };
      const end = Date.now() + 30_000;
      while (!(await ok())) {
        if (Date.now() > end) throw new Error(`Prometheus never saw the figures: ${JSON.stringify(seen)}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      const up = await prom.query("up");
      assert.equal(up[0].value[1], "1");
    } finally {
      await prom.stop();
    }
  } finally {
    instruments.close();
    await provider.shutdown();
    stats.release();
  }
});

test("registerRaindropsInstruments refuses what is not a Meter, and close() stops observing", () => {
  assert.throws(() => registerRaindropsInstruments({} as OtelMeter), /must be an OpenTelemetry Meter/);
  assert.throws(() => registerRaindropsInstruments(null as unknown as OtelMeter), TypeError);
  const calls: string[] = [];
  const meter: OtelMeter = {
    createObservableCounter: () => ({}),
    createObservableUpDownCounter: () => ({}),
    createObservableGauge: () => ({}),
    addBatchObservableCallback: () => calls.push("add"),
    removeBatchObservableCallback: () => calls.push("remove"),
  };
  assert.throws(() => registerRaindropsInstruments(meter, { stats: false, listeners: ["*:80"] }), /\[::\]:80/);
  assert.throws(
    () => registerRaindropsInstruments(meter, { stats: false, registries: [{}] as Registry[] }),
    /registries must be an array of raindrops Registry objects/,
  );
  const r = registerRaindropsInstruments(meter, { stats: false, listeners: ["127.0.0.1:1"], registries: [] });
  r.close();
  r.close();
  assert.deepEqual(calls, ["add", "remove"]);
  calls.length = 0;
  // With a registry: its own callback (added once, after a removal that finds nothing), removed by close().
  using file = tempShm("otel-fake-meter");
  using registry = new Registry({ path: file.path });
  const both = registerRaindropsInstruments(meter, {
    stats: false,
    listeners: ["127.0.0.1:1"],
    registries: [registry],
  });
  both.close();
  assert.deepEqual(calls, ["add", "remove", "add", "remove", "remove"]);
});
