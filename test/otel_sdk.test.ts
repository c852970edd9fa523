/**
 * registerRaindropsInstruments on the OpenTelemetry JS SDK (whichever
 * runtime runs the test: Deno, Bun or Node.js): the SDK's Prometheus
 * exporter serves a real stats file's counts and a held listener's queue,
 * and a real Prometheus scrapes them. The SDK packages are not
 * dependencies of raindrops; the test skips when they are not installed.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { tempShm } from "./_helpers.ts";
import { queuedListener } from "./fixtures/queued_listener.ts";
import { seriesOf } from "./fixtures/exporter_process.ts";
import { freePort, prometheusBinary, startPrometheus } from "../prometheus/local_prometheus.ts";
import { type OtelMeter, registerRaindropsInstruments } from "../src/otel/instruments.ts";
import { WorkerStats } from "../src/worker_stats.ts";

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
    attributes: { "service.instance.id": "test" },
  });
  try {
    const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
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
        seen = [r, c];
        return r.length === 1 && r[0].value[1] === "2" && c.length === 1 && c[0].value[1] === "2";
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
    addBatchObservableCallback: () => calls.push("add"),
    removeBatchObservableCallback: () => calls.push("remove"),
  };
  assert.throws(() => registerRaindropsInstruments(meter, { stats: false, listeners: ["*:80"] }), /\[::\]:80/);
  const r = registerRaindropsInstruments(meter, { stats: false, listeners: ["127.0.0.1:1"] });
  r.close();
  r.close();
  assert.deepEqual(calls, ["add", "remove"]);
});
