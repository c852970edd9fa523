/**
 * registerRaindropsInstruments on Deno's built-in OpenTelemetry
 * (`OTEL_DENO=true`): a Deno app process exports over OTLP/HTTP with
 * `OTEL_EXPORTER_OTLP_PROTOCOL=http/json` to a receiver in this test,
 * including a Counter and a Histogram a Bun process defines in a shared
 * registry file after the app registered its instruments. No
 * OpenTelemetry Collector installs from the registries here (Debian, PyPI
 * and npm have none), so the receiver decodes the OTLP JSON payload itself.
 * Skips when @opentelemetry/api (the app's import) is not installed.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { fixture, runFixture, RUNTIMES, tempShm } from "./_helpers.ts";
import { queuedListener } from "./fixtures/queued_listener.ts";

const API = new URL("../node_modules/@opentelemetry/api/package.json", import.meta.url).pathname;

/** One OTLP data point, flattened: metric name, unit, value, attributes. */
interface Point {
  name: string;
  unit: string;
  monotonic: boolean | undefined;
  value: number;
  attributes: Record<string, string | number>;
}

/** The data points of one OTLP/JSON ExportMetricsServiceRequest, for scope `scope`. */
function points(body: string, scope: string): Point[] {
  const out: Point[] = [];
  const json = JSON.parse(body);
  for (const rm of json.resourceMetrics ?? []) {
    for (const sm of rm.scopeMetrics ?? []) {
      if (sm.scope?.name !== scope) continue;
      for (const m of sm.metrics ?? []) {
        const data = m.sum ?? m.gauge;
        for (const p of data?.dataPoints ?? []) {
          const attributes: Record<string, string | number> = {};
          for (const a of p.attributes ?? []) {
            const v = a.value;
            attributes[a.key] = v.stringValue ?? Number(v.intValue ?? v.doubleValue);
          }
          out.push({
            name: m.name,
            unit: m.unit,
            monotonic: m.sum?.isMonotonic,
            value: Number(p.asInt ?? p.asDouble),
            attributes,
          });
        }
      }
    }
  }
  return out;
}

test("Deno's built-in OpenTelemetry exports raindrops' instruments over OTLP/HTTP (JSON decoded by the test)", {
  timeout: 60_000,
}, async (t) => {
  if (!existsSync(API)) {
    t.skip("@opentelemetry/api is not installed (npm install --no-save @opentelemetry/api)");
    return;
  }
  await using queue = await queuedListener(2);
  const a = queue.address;
  using file = tempShm("otel-deno");
  using metricsFile = tempShm("otel-deno-metrics");
  const bodies: { type: string; body: string }[] = [];
  const receiver = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      if (req.url === "/v1/metrics") bodies.push({ type: req.headers["content-type"] ?? "", body });
      res.writeHead(200, { "content-type": "application/json" });
      res.end("{}");
    });
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
  const port = (receiver.address() as AddressInfo).port;
  const app = spawn(RUNTIMES.deno, ["run", "-A", fixture("otel_deno_app.ts"), file.path, a, metricsFile.path], {
    env: {
      ...process.env,
      OTEL_DENO: "true",
      OTEL_SERVICE_NAME: "raindrops-test",
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_METRIC_EXPORT_INTERVAL: "200",
    },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stderr = "", stdout = "";
  app.stderr!.on("data", (d) => (stderr += d));
  app.stdout!.on("data", (d) => (stdout += d));
  const exited = new Promise<number | null>((r) => app.once("exit", (code) => r(code)));
  try {
    const ready = Date.now() + 30_000;
    while (!stdout.includes("ready")) {
      if (Date.now() > ready || app.exitCode !== null) throw new Error(`the app never got ready: ${stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    // 300 increments of t_total over v0..v49 and as many observations of t_seconds (0, 0.5, 1 in turn).
    const writer = await runFixture("bun", "metrics_writer.ts", ["run", metricsFile.path, "300"]);
    assert.equal(writer.stdout.trim(), "done 300", writer.stderr);
    let found: Point[] = [];
    const want = (p: Point[]) =>
      p.some((x) => x.name === "raindrops.listener.queued_connections" && x.value === 2) &&
      p.some((x) => x.name === "http.server.active_requests" && x.value === 3) &&
      p.some((x) => x.name === "t_seconds_count" && x.attributes.v === "v0" && x.value === 6);
    const end = Date.now() + 30_000;
    while (!want(found)) {
      if (Date.now() > end || app.exitCode !== null) {
        throw new Error(`no OTLP export with the figures (${bodies.length} requests): ${stderr}`);
      }
      await new Promise((r) => setTimeout(r, 50));
      const last = bodies.at(-1);
      if (last) found = points(last.body, "raindrops");
    }
    assert.match(bodies.at(-1)!.type, /^application\/json/);
    const by = (name: string) => found.find((p) => p.name === name)!;
    assert.deepEqual(
      { unit: by("http.server.active_requests").unit, monotonic: by("http.server.active_requests").monotonic },
      { unit: "{request}", monotonic: false },
    );
    assert.equal(by("raindrops.http.server.requests").value, 7);
    assert.equal(by("raindrops.http.server.requests").monotonic, true);
    assert.equal(by("raindrops.workers").value, 1);
    const queued = by("raindrops.listener.queued_connections");
    assert.equal(queued.unit, "{connection}");
    assert.deepEqual(queued.attributes, {
      "server.address": "127.0.0.1",
      "server.port": queue.port,
      "network.transport": "tcp",
      "network.type": "ipv4",
    });
    assert.ok(by("raindrops.listener.queue.limit").value > 0);
    const v0 = (name: string, le?: string) =>
      found.find((p) => p.name === name && p.attributes.v === "v0" && p.attributes.le === le)!;
    // A counter's `_total` is dropped (OTLP names carry none); no unit suffix, no unit ("" in OTLP JSON).
    assert.deepEqual({ monotonic: v0("t").monotonic, value: v0("t").value, unit: v0("t").unit || "" }, {
      monotonic: true,
      value: 6,
      unit: "",
    });
    assert.equal(found.filter((p) => p.name === "t").length, 50);
    assert.deepEqual([v0("t_seconds_bucket", "0.25").value, v0("t_seconds_bucket", "0.75").value], [2, 4]);
    assert.equal(v0("t_seconds_bucket", "+Inf").value, 6);
    assert.equal(v0("t_seconds_bucket", "+Inf").monotonic, true);
    assert.deepEqual({ unit: v0("t_seconds_sum").unit, value: v0("t_seconds_sum").value }, { unit: "s", value: 3 });
  } finally {
    app.stdin!.end();
    const timer = setTimeout(() => app.exitCode === null && process.kill(app.pid!, "SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
    await new Promise((r) => receiver.close(r));
  }
});
