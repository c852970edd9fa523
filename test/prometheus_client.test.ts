import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { Hono } from "hono";
import { prometheus } from "@hono/prometheus";
import { Counter, Registry } from "prom-client";
import { raindrops } from "../src/middleware/middleware.ts";
import { WorkerStats } from "../src/worker_stats.ts";
import { collectRaindrops } from "../mod.ts";
import { tempShm } from "./_helpers.ts";
import { serve } from "./fixtures/middleware_serve.ts";

const promtool = spawnSync("promtool", ["--version"]).error ? undefined : "promtool";

function checkMetrics(text: string): void {
  if (!promtool) return; // promtool (Debian prometheus) absent: the series are still asserted
  const run = spawnSync(promtool, ["check", "metrics"], { input: text, encoding: "utf8" });
  assert.equal(run.status, 0, `promtool: ${run.stdout}${run.stderr}`);
}

test("collectRaindrops adds the raindrops series to a prom-client registry beside its own metrics", async () => {
  using tmp = tempShm("promclient");
  const registry = new Registry();
  const own = new Counter({ name: "shop_orders_total", help: "Orders.", registers: [registry] });
  own.inc(3);
  collectRaindrops(registry, { stats: tmp.path, labels: { service: "shop" } });
  const stats = WorkerStats.open(tmp.path);
  stats.incr(WorkerStats.CALLING);
  stats.incr(WorkerStats.FINISHED, 41);
  try {
    const text = await registry.metrics();
    assert.match(text, /^shop_orders_total 3$/m);
    assert.match(text, /^# TYPE raindrops_calling_requests gauge\nraindrops_calling_requests\{service="shop"\} 1$/m);
    assert.match(text, /^# TYPE raindrops_requests_total counter\nraindrops_requests_total\{service="shop"\} 41$/m);
    assert.match(text, /^raindrops_workers\{service="shop"\} 1$/m);
    assert.doesNotMatch(text, /listener/, "no listeners asked for");
    checkMetrics(text);
    // A registry in OpenMetrics mode names the counter family without _total.
    const openMetrics = new Registry<typeof Registry.OPENMETRICS_CONTENT_TYPE>();
    openMetrics.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    collectRaindrops(openMetrics, { stats: tmp.path, labels: { service: "shop" } });
    const om = await openMetrics.metrics();
    assert.match(om, /^# TYPE raindrops_requests counter\nraindrops_requests_total\{service="shop"\} 41$/m);
    assert.ok(om.endsWith("# EOF\n"));
  } finally {
    stats.decr(WorkerStats.CALLING);
    stats.release();
  }
  assert.throws(() => collectRaindrops({} as Registry), TypeError);
  assert.throws(() => collectRaindrops(new Registry(), { stats: tmp.path, labels: { "x-y": "1" } }), RangeError);
  assert.throws(() => collectRaindrops(new Registry(), { stats: tmp.path, listeners: ["nope"] }), RangeError);
});

test("@hono/prometheus and raindrops on one /metrics endpoint of a real server", async () => {
  using tmp = tempShm("honoprom");
  const registry = new Registry();
  const { printMetrics, registerMetrics } = prometheus({ registry });
  const app = new Hono();
  app.use(raindrops({ stats: tmp.path }));
  app.use("*", registerMetrics);
  app.get("/", (c) => c.text("hi"));
  app.get("/metrics", printMetrics);
  const server = await serve(app.fetch);
  try {
    const listener = `127.0.0.1:${server.port}`;
    collectRaindrops(registry, { stats: tmp.path, listeners: [listener], prefix: "app_" });
    for (let i = 0; i < 5; i++) await (await fetch(`${server.url}/`)).text();
    const text = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(text, /^http_requests_total\{method="GET",route="\/",status="200",ok="true"\} 5$/m);
    assert.match(text, /^app_raindrops_requests_total 5$/m, "the five finished; /metrics itself is still inside");
    assert.match(text, /^app_raindrops_calling_requests 1$/m, "the /metrics request is in the app");
    assert.match(text, new RegExp(`^app_raindrops_listener_queued_connections\\{listener="${listener}"\\} 0$`, "m"));
    const backlog = Number(text.match(/^app_raindrops_listener_backlog_connections\{listener="[^"]+"\} (\d+)$/m)?.[1]);
    assert.ok(backlog > 0, `the listener's backlog is exported: ${backlog}`);
    checkMetrics(text);
  } finally {
    await server.close();
    WorkerStats.open(tmp.path).release();
  }
});
