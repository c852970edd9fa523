/**
 * registerRaindropsInstruments on Deno's built-in OpenTelemetry
 * (`OTEL_DENO=true`): a Deno app process exports over OTLP/HTTP with
 * `OTEL_EXPORTER_OTLP_PROTOCOL=http/json` to a receiver in this test. No
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
import { fixture, RUNTIMES, tempShm } from "./_helpers.ts";
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
  const app = spawn(RUNTIMES.deno, ["run", "-A", fixture("otel_deno_app.ts"), file.path, a], {
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
  let stderr = "";
  app.stderr!.on("data", (d) => (stderr += d));
  const exited = new Promise<number | null>((r) => app.once("exit", (code) => r(code)));
  try {
    let found: Point[] = [];
    const want = (p: Point[]) =>
      p.some((x) => x.name === "raindrops.listener.queued_connections" && x.value === 2) &&
      p.some((x) => x.name === "http.server.active_requests" && x.value === 3);
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
  } finally {
    app.stdin!.end();
    const timer = setTimeout(() => app.exitCode === null && process.kill(app.pid!, "SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
    await new Promise((r) => receiver.close(r));
  }
});
